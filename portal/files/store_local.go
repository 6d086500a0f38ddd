package files

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Local is a Store in a folder of the local file system, for a single
// instance (several instances would each see only their own folder unless
// it is shared storage). Objects live in sub-folders named by the first two
// characters of the key, so that no folder grows past a few thousand
// entries.
//
// Put writes to a temporary file beside the final name, syncs it, renames
// it into place and syncs the folder: after a crash the key holds the whole
// object or nothing, and the temporary file is left for Sweep.
type Local struct {
	root string
}

var _ Store = (*Local)(nil)

// partMarker is in the names of temporary files: "<key>.part-<random>".
const partMarker = ".part-"

// NewLocal returns the store in folder root, creating it (mode 0700) when
// it does not exist.
func NewLocal(root string) (*Local, error) {
	if root == "" {
		return nil, errors.New("files: local store: no folder given")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("files: local store %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("files: local store %s: %w", root, err)
	}
	return &Local{root: abs}, nil
}

// Root returns the store's folder.
func (l *Local) Root() string { return l.root }

// path returns the object's file name, or an error for a key that is not
// safe as one.
func (l *Local) path(key string) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("files: local store: invalid key %q", key)
	}
	return filepath.Join(l.root, key[:min(2, len(key))], key), nil
}

// Put writes r to a temporary file in the key's folder and renames it to
// the key once all of it is on disk.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64) (err error) {
	final, err := l.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("files: local store: put %s: %w", key, err)
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return fmt.Errorf("files: local store: put %s: %w", key, err)
	}
	tmp := final + partMarker + hex.EncodeToString(suffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("files: local store: put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close() // already failing; the close error adds nothing
			if rmErr := os.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
				err = errors.Join(err, rmErr)
			}
		}
	}()
	src := readerWithContext{ctx: ctx, r: r}
	if size >= 0 {
		var n int64
		n, err = io.CopyN(f, src, size)
		if err != nil {
			return fmt.Errorf("files: local store: put %s: after %d of %d bytes: %w", key, n, size, err)
		}
	} else if _, err = io.Copy(f, src); err != nil {
		return fmt.Errorf("files: local store: put %s: %w", key, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("files: local store: put %s: sync: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("files: local store: put %s: close: %w", key, err)
	}
	if err = os.Rename(tmp, final); err != nil {
		return fmt.Errorf("files: local store: put %s: rename: %w", key, err)
	}
	// The rename is durable only once the folder's entry is on disk.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("files: local store: put %s: %w", key, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync folder: %w", err)
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // the sync error is the one that matters
		return fmt.Errorf("sync folder: %w", err)
	}
	return d.Close()
}

// Open opens the object's file.
func (l *Local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("files: local store: open %s: %w", key, ErrNoObject)
	}
	if err != nil {
		return nil, fmt.Errorf("files: local store: open %s: %w", key, err)
	}
	return f, nil
}

// Delete removes the object's file; a missing file is not an error.
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("files: local store: delete %s: %w", key, err)
	}
	return nil
}

// Walk reports every file under the folder, temporary ones included.
func (l *Local) Walk(ctx context.Context, fn func(Object) error) error {
	err := filepath.WalkDir(l.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		key := d.Name()
		if !validKey(key) || filepath.Base(filepath.Dir(p)) != key[:min(2, len(key))] {
			return nil // not ours
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return err
		}
		return fn(Object{Key: key, Size: info.Size(), ModTime: info.ModTime()})
	})
	if err != nil {
		return fmt.Errorf("files: local store: walk: %w", err)
	}
	return nil
}

// isPart reports whether key names a temporary file of an unfinished Put.
func isPart(key string) bool { return strings.Contains(key, partMarker) }

// readerWithContext stops a copy once ctx is done, so that a store write
// ends with the request that feeds it.
type readerWithContext struct {
	ctx context.Context
	r   io.Reader
}

func (r readerWithContext) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
