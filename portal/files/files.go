// Package files keeps the files people send with what they submit (a
// housing-exchange application's attachments, later secure messages):
// streamed uploads that are checked while they arrive, storage in a local
// folder or an S3-compatible bucket, downloads, and clean-up.
//
// An upload is never held whole in memory and never trusted: Save streams
// it to the store under a random key while hashing it, deciding its type
// from its first bytes (PDF, JPEG or PNG, whatever its name says),
// scanning a PDF for scripts and embedded files, cutting it at the size
// limit and passing it through ClamAV when one is configured. The row that
// makes the file exist is inserted only after all of that passed; any
// failure deletes the object. What a crash leaves behind (an object
// without a row) Sweep removes.
//
// A file belongs to an owner, a string the feature chooses ("exchange/12"):
// the feature decides who may see an owner's files, this package only
// keeps them. The HTTP edge (http.go) reads multipart bodies as streams,
// guards every other request's body size and sends downloads with headers
// that keep browsers from running them.
package files

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// ErrNotFound is in the chain of the NotFound error of a file that does
// not exist.
var ErrNotFound = errors.New("files: not found")

// File is a stored file as the files table keeps it.
type File struct {
	ID int64
	// StorageKey names the bytes in the Store; random, never shown.
	StorageKey string `json:"-"`
	// Owner is what the file belongs to, as the feature names it
	// ("exchange/12").
	Owner string
	// UploaderID is the user who sent the file; nil for an anonymous
	// upload.
	UploaderID *int64
	// Name is the cleaned original name (CleanName).
	Name string
	Size int64
	// SHA256 is the hex SHA-256 of the bytes.
	SHA256 string `gorm:"column:sha256"`
	// ContentType is the sniffed type: TypePDF, TypeJPEG or TypePNG.
	ContentType string
	CreatedAt   time.Time
}

// TableName keeps gorm on the migrated table.
func (File) TableName() string { return "files" }

// Config is the Service's settings.
type Config struct {
	// ClamdAddr is ClamAV's daemon, "unix:/run/clamav/clamd.ctl" or
	// "host:port"; empty means uploads are not scanned for viruses.
	ClamdAddr string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives what an operator should know (infected uploads, objects
	// that could not be deleted); nil discards it.
	Log *slog.Logger
}

// Service saves, lists, opens and deletes files. It is safe for concurrent
// use.
type Service struct {
	db    *gorm.DB
	store Store
	clamd *clamd // nil without ClamAV
	now   func() time.Time
	log   *slog.Logger
}

// New returns the service over db and store. An unparsable ClamdAddr is a
// configuration mistake that cmd/portal checks at start (CheckClamdAddr);
// New itself then logs it and refuses every upload as unscannable rather
// than storing unscanned files.
func New(db *gorm.DB, store Store, cfg Config) *Service {
	s := &Service{db: db, store: store, now: cfg.Now, log: cfg.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.ClamdAddr != "" {
		c, err := newClamd(cfg.ClamdAddr)
		if err != nil {
			s.log.Error("files: virus scanner misconfigured; uploads are refused", "err", err)
			c = &clamd{network: "invalid", addr: cfg.ClamdAddr, timeout: time.Second}
		}
		s.clamd = c
	}
	return s
}

// CheckClamdAddr reports an error for a ClamdAddr New could not use, for
// the configuration check at start. The empty address (no scanning) is
// valid.
func CheckClamdAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, err := newClamd(addr)
	return err
}

// Save stores what r yields as a file of owner named name, sent by
// uploaderID (0 for anonymous), and returns it. r is read once, as a
// stream; the file is refused with a problem error and leaves nothing
// behind when it is
//   - empty: Invalid "files.error.empty";
//   - over maxBytes: TooLarge "files.error.too_large", cut at the limit;
//   - not a PDF, JPEG or PNG by its content: Invalid "files.error.type";
//   - a PDF with scripts, launch actions or embedded files: Invalid
//     "files.error.pdf_active";
//   - infected: Invalid "files.error.infected";
//   - unscannable because ClamAV is away: Unavailable
//     "files.error.scan_unavailable";
//   - not storable because the store failed (the S3 server is away):
//     Unavailable "files.error.store_unavailable";
//   - cut short by the sender: Invalid "files.error.interrupted".
//
// An error r returns that is already a problem error (the multipart
// reader's limits) is returned as it is.
func (s *Service) Save(ctx context.Context, owner string, uploaderID int64, name string, r io.Reader, maxBytes int64) (*File, error) {
	if owner == "" || maxBytes <= 0 {
		return nil, fmt.Errorf("files: save: owner %q and a positive limit (%d) are required", owner, maxBytes)
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	u := &upload{src: r, max: maxBytes, hash: sha256.New()}
	if s.clamd != nil {
		scan, err := s.clamd.begin(ctx)
		if err != nil {
			s.log.Error("files: virus scanner unreachable", "request_id", auth.ActorFrom(ctx).RequestID, "err", err)
			return nil, problem.Wrap(problem.Unavailable, "files.error.scan_unavailable", err)
		}
		defer scan.close()
		u.scan = scan
	}
	putErr := s.store.Put(ctx, key, u, -1)
	if putErr == nil && u.err == nil && !u.done {
		putErr = errors.New("the store stopped reading before the end")
	}
	if u.err != nil || putErr != nil {
		s.discard(ctx, key)
		if u.err != nil { // the store's error wraps it, or followed from it
			s.logRefusal(ctx, owner, u)
			return nil, u.err
		}
		s.log.Error("files: store failed", "request_id", auth.ActorFrom(ctx).RequestID, "owner", owner, "err", putErr)
		return nil, problem.Wrap(problem.Unavailable, "files.error.store_unavailable", fmt.Errorf("files: save for %s: %w", owner, putErr))
	}
	f := &File{
		StorageKey: key, Owner: owner, Name: CleanName(name), Size: u.n,
		SHA256: hex.EncodeToString(u.hash.Sum(nil)), ContentType: u.ctype, CreatedAt: s.now().UTC(),
	}
	if uploaderID != 0 {
		f.UploaderID = &uploaderID
	}
	if err := s.db.WithContext(ctx).Create(f).Error; err != nil {
		s.discard(ctx, key)
		return nil, fmt.Errorf("files: save for %s: insert: %w", owner, err)
	}
	return f, nil
}

// logRefusal tells the operator about an infected upload; other refusals
// are the sender's business.
func (s *Service) logRefusal(ctx context.Context, owner string, u *upload) {
	if u.virus != "" {
		s.log.Warn("files: infected upload refused", "request_id", auth.ActorFrom(ctx).RequestID,
			"owner", owner, "signature", u.virus)
	}
}

// discard deletes an object whose upload failed, also when ctx has ended
// (the sender went away): the object must not stay.
func (s *Service) discard(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.store.Delete(ctx, key); err != nil {
		// Sweep removes it later.
		s.log.Error("files: could not delete the object of a failed upload", "key", key, "err", err)
	}
}

// newKey returns a random storage key: 32 lower-case hex digits.
func newKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("files: random key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// upload is the reader the store consumes: it passes the sender's bytes
// through while counting, hashing, sniffing, scanning and cutting them,
// and fails the read (which fails the store's write) at the first problem.
// Only when the sender's stream ended and every check passed does it
// return io.EOF, so a store never completes an object that was refused.
type upload struct {
	src   io.Reader
	max   int64
	n     int64
	hash  hash.Hash
	head  []byte // the first bytes, until the type is known
	ctype string
	pdf   pdfScanner
	scan  *clamScan // nil without ClamAV
	virus string    // the signature ClamAV found
	err   error     // the first failure; every later Read returns it
	done  bool      // the stream ended and passed every check
}

// Read implements io.Reader for the store.
func (u *upload) Read(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	if u.done {
		return 0, io.EOF
	}
	n, err := u.src.Read(p)
	if n > 0 {
		if e := u.take(p[:n]); e != nil {
			u.err = e
			return 0, e
		}
	}
	switch {
	case err == io.EOF:
		if e := u.finish(); e != nil {
			u.err = e
			return 0, e
		}
		u.done = true
		return n, io.EOF
	case err != nil:
		if _, ok := problem.As(err); ok {
			u.err = err
		} else {
			u.err = problem.Wrap(problem.Invalid, "files.error.interrupted", fmt.Errorf("files: reading the upload: %w", err))
		}
		return 0, u.err
	}
	return n, nil
}

// take checks the next piece of the stream.
func (u *upload) take(b []byte) error {
	u.n += int64(len(b))
	if u.n > u.max {
		return problem.Wrap(problem.TooLarge, "files.error.too_large", fmt.Errorf("files: upload over %d bytes", u.max))
	}
	u.hash.Write(b)
	if u.ctype == "" || u.ctype == TypePDF {
		u.pdf.write(b)
	}
	if u.ctype == "" {
		u.head = append(u.head, b[:min(len(b), sniffLen-len(u.head))]...)
		if len(u.head) == sniffLen {
			if err := u.decide(); err != nil {
				return err
			}
		}
	}
	if u.ctype == TypePDF && u.pdf.found != "" {
		return u.activePDF()
	}
	if u.scan != nil {
		if err := u.scan.write(b); err != nil {
			return problem.Wrap(problem.Unavailable, "files.error.scan_unavailable", err)
		}
	}
	return nil
}

// decide sets the type from the first bytes.
func (u *upload) decide() error {
	t, err := sniff(u.head)
	if err != nil {
		return err
	}
	u.ctype, u.head = t, nil
	return nil
}

func (u *upload) activePDF() error {
	return problem.Wrap(problem.Invalid, "files.error.pdf_active", fmt.Errorf("files: PDF with %s refused", u.pdf.found))
}

// finish runs the checks that need the whole stream.
func (u *upload) finish() error {
	if u.n == 0 {
		return problem.E(problem.Invalid, "files.error.empty")
	}
	if u.ctype == "" {
		if err := u.decide(); err != nil {
			return err
		}
	}
	if u.ctype == TypePDF {
		u.pdf.finish()
		if u.pdf.found != "" {
			return u.activePDF()
		}
	}
	if u.scan != nil {
		virus, err := u.scan.verdict()
		if err != nil {
			return problem.Wrap(problem.Unavailable, "files.error.scan_unavailable", err)
		}
		if virus != "" {
			u.virus = virus
			return problem.Wrap(problem.Invalid, "files.error.infected", fmt.Errorf("files: infected: %s", virus))
		}
	}
	return nil
}

// Reassign gives the files of one owner to another, in tx (the feature's
// transaction, or the pool): a message's files are uploaded under a draft
// owner while the message's own row does not exist yet.
func (s *Service) Reassign(ctx context.Context, tx *gorm.DB, from, to string) error {
	if err := tx.WithContext(ctx).Model(&File{}).Where("owner = ?", from).Update("owner", to).Error; err != nil {
		return fmt.Errorf("files: reassign %s to %s: %w", from, to, err)
	}
	return nil
}

// OwnersLike lists the owners that start with prefix and whose newest file
// is older than before: drafts a crash left behind, for the feature to
// delete with DeleteOwner.
func (s *Service) OwnersLike(ctx context.Context, prefix string, before time.Time) ([]string, error) {
	var out []string
	err := s.db.WithContext(ctx).Model(&File{}).Where("owner LIKE ?", prefix+"%").
		Group("owner").Having("MAX(created_at) < ?", before).Pluck("owner", &out).Error
	if err != nil {
		return nil, fmt.Errorf("files: owners like %s: %w", prefix, err)
	}
	return out, nil
}

// List returns owner's files, oldest first.
func (s *Service) List(ctx context.Context, owner string) ([]File, error) {
	var out []File
	if err := s.db.WithContext(ctx).Where("owner = ?", owner).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("files: list %s: %w", owner, err)
	}
	return out, nil
}

// Get returns the file id; a NotFound problem (with ErrNotFound in its
// chain) when there is none. It does not check who may see the file: the
// feature compares f.Owner with what the person may see.
func (s *Service) Get(ctx context.Context, id int64) (*File, error) {
	var f File
	err := s.db.WithContext(ctx).First(&f, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.Wrap(problem.NotFound, "", fmt.Errorf("files: file %d: %w", id, ErrNotFound))
	}
	if err != nil {
		return nil, fmt.Errorf("files: file %d: %w", id, err)
	}
	return &f, nil
}

// Open returns f's bytes; the caller closes them. A file whose bytes are
// missing from the store is NotFound.
func (s *Service) Open(ctx context.Context, f *File) (io.ReadCloser, error) {
	rc, err := s.store.Open(ctx, f.StorageKey)
	if errors.Is(err, ErrNoObject) {
		s.log.Error("files: a file's bytes are missing from the store", "file_id", f.ID, "err", err)
		return nil, problem.Wrap(problem.NotFound, "", fmt.Errorf("files: open %d: %w: %w", f.ID, ErrNotFound, err))
	}
	if err != nil {
		return nil, fmt.Errorf("files: open %d: %w", f.ID, err)
	}
	return rc, nil
}

// Delete removes the file id: its row, then its bytes. Bytes that cannot
// be deleted are logged and left for Sweep; the file is gone either way.
func (s *Service) Delete(ctx context.Context, id int64) error {
	f, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	res := s.db.WithContext(ctx).Delete(&File{}, f.ID)
	if res.Error != nil {
		return fmt.Errorf("files: delete %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return problem.Wrap(problem.NotFound, "", fmt.Errorf("files: delete %d: %w", id, ErrNotFound))
	}
	s.deleteObject(ctx, f.StorageKey)
	return nil
}

// DeleteOwner removes every file of owner, as when the thing they belong
// to is deleted.
func (s *Service) DeleteOwner(ctx context.Context, owner string) error {
	var keys []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&File{}).Where("owner = ?", owner).Pluck("storage_key", &keys).Error; err != nil {
			return err
		}
		return tx.Where("owner = ?", owner).Delete(&File{}).Error
	})
	if err != nil {
		return fmt.Errorf("files: delete the files of %s: %w", owner, err)
	}
	for _, k := range keys {
		s.deleteObject(ctx, k)
	}
	return nil
}

func (s *Service) deleteObject(ctx context.Context, key string) {
	if err := s.store.Delete(context.WithoutCancel(ctx), key); err != nil {
		s.log.Error("files: could not delete a deleted file's bytes; Sweep will", "key", key, "err", err)
	}
}

// UsedBytes returns how many files owner has and their total size, for a
// feature's quota.
func (s *Service) UsedBytes(ctx context.Context, owner string) (count int, bytes int64, err error) {
	var row struct {
		Count int
		Bytes int64
	}
	err = s.db.WithContext(ctx).Model(&File{}).Where("owner = ?", owner).
		Select("COUNT(*) AS count, COALESCE(SUM(size), 0) AS bytes").Scan(&row).Error
	if err != nil {
		return 0, 0, fmt.Errorf("files: usage of %s: %w", owner, err)
	}
	return row.Count, row.Bytes, nil
}

// sweepBatch is how many keys Sweep looks up at a time.
const sweepBatch = 200

// Sweep deletes the objects older than olderThan that no row names: the
// leftovers of uploads a crash interrupted (the local store's temporary
// files included). olderThan must be longer than the slowest upload takes,
// an hour or more. It returns how many objects it deleted.
func (s *Service) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := s.now().Add(-olderThan)
	deleted := 0
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var known []string
		if err := s.db.WithContext(ctx).Model(&File{}).Where("storage_key IN ?", batch).
			Pluck("storage_key", &known).Error; err != nil {
			return err
		}
		keep := make(map[string]bool, len(known))
		for _, k := range known {
			keep[k] = true
		}
		for _, k := range batch {
			if keep[k] {
				continue
			}
			if err := s.store.Delete(ctx, k); err != nil {
				return err
			}
			deleted++
			s.log.Info("files: swept an object without a file", "key", k, "unfinished_write", isPart(k))
		}
		batch = batch[:0]
		return nil
	}
	err := s.store.Walk(ctx, func(o Object) error {
		if !o.ModTime.Before(cutoff) {
			return nil
		}
		batch = append(batch, o.Key)
		if len(batch) < sweepBatch {
			return nil
		}
		return flush()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return deleted, fmt.Errorf("files: sweep: %w", err)
	}
	return deleted, nil
}
