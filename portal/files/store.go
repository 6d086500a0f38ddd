package files

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNoObject is returned by a Store for a key it does not hold.
var ErrNoObject = errors.New("files: no such object")

// Store keeps the bytes of files under opaque keys. The Service chooses the
// keys (random, lower-case hex) and keeps everything else (name, owner,
// type) in the database; a Store knows nothing but bytes.
//
// A Store is safe for concurrent use. Put never leaves a partial object
// under key: when it returns an error, key holds nothing (or what it held
// before). An object that Put wrote but whose row was never inserted (the
// process died in between) is found by Walk and removed by Service.Sweep.
type Store interface {
	// Put writes everything r yields under key. size is the length when
	// the caller knows it, or -1; with a known size Put reads exactly size
	// bytes. An error from r aborts the write and is returned (wrapped).
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns the object's bytes; ErrNoObject when there is none. The
	// caller closes the reader.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the object. Deleting a key that holds nothing is not
	// an error.
	Delete(ctx context.Context, key string) error
	// Walk calls fn for every object, in no particular order, including
	// leftovers of writes that never finished where the store can have
	// them (the local folder's temporary files). An error from fn stops
	// the walk and is returned.
	Walk(ctx context.Context, fn func(Object) error) error
}

// Object is what Walk reports of a stored object.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// validKey reports whether key is safe as a file name and an object name:
// 1 to 128 of [a-z0-9._-], not starting with a dot or a dash. The
// Service's keys are hex; the local store's temporary names add ".part-".
func validKey(key string) bool {
	if key == "" || len(key) > 128 || key[0] == '.' || key[0] == '-' {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
