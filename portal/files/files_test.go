package files_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/auth/authtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files/filestest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// eachStore runs fn with the local store and with the S3 store on a real
// S3 server (versitygw).
func eachStore(t *testing.T, fn func(t *testing.T, st files.Store)) {
	t.Helper()
	t.Run("local", func(t *testing.T) { fn(t, newLocal(t)) })
	t.Run("s3", func(t *testing.T) { fn(t, startS3(t)) })
}

// eachBackend runs fn for every database and every store.
func eachBackend(t *testing.T, fn func(t *testing.T, db *database.DB, st files.Store)) {
	t.Helper()
	t.Run("local", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, db *database.DB) { fn(t, db, newLocal(t)) })
	})
	t.Run("s3", func(t *testing.T) {
		dbtest.Each(t, func(t *testing.T, db *database.DB) { fn(t, db, startS3(t)) })
	})
}

func newLocal(t testing.TB) *files.Local {
	t.Helper()
	st, err := files.NewLocal(filepath.Join(t.TempDir(), "files"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// objects lists the store.
func objects(t testing.TB, st files.Store) []files.Object {
	t.Helper()
	var out []files.Object
	if err := st.Walk(context.Background(), func(o files.Object) error {
		out = append(out, o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// assertNothingStored fails unless the store is empty and owner has no
// files.
func assertNothingStored(t testing.TB, svc *files.Service, st files.Store, owner string) {
	t.Helper()
	if objs := objects(t, st); len(objs) != 0 {
		t.Errorf("store holds %d objects, want none: %+v", len(objs), objs)
	}
	list, err := svc.List(context.Background(), owner)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("%d rows for %s, want none", len(list), owner)
	}
}

func wantProblem(t testing.TB, err error, kind problem.Kind, key string) {
	t.Helper()
	p, ok := problem.As(err)
	if !ok || p.Kind != kind || p.Key != key {
		t.Fatalf("error %v, want %s %s", err, kind, key)
	}
}

func resident(t testing.TB, db *database.DB) int64 {
	t.Helper()
	return authtest.Login(t, db.Gorm, auth.RoleResident, "Maija").ID
}

// TestSaveKeepsAcceptedFiles: PDF, JPEG and PNG are stored under a random
// key with their cleaned name, size, hash and sniffed type, and read back
// whole; List, Get and UsedBytes see them.
func TestSaveKeepsAcceptedFiles(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database.DB, st files.Store) {
		ctx := context.Background()
		svc := files.New(db.Gorm, st, files.Config{})
		uid := resident(t, db)
		big := append(samplePDF("big"), bytes.Repeat([]byte("% padding line of a PDF\n"), 300_000)...) // 7 MB: several S3 parts
		cases := []struct {
			name, want string
			data       []byte
		}{
			{"../Vuokra\u202Esopimus.pdf", files.TypePDF, samplePDF("ok")},
			{"kuva.jpg", files.TypeJPEG, sampleImage(t, "jpeg")},
			{"kuva.png", files.TypePNG, sampleImage(t, "png")},
			{"kuva-nimetty-vaarin.pdf", files.TypePNG, sampleImage(t, "png")}, // the bytes decide
			{"iso.pdf", files.TypePDF, big},
		}
		var total int64
		for _, tc := range cases {
			// One byte at a time for small files: sniffing and hashing
			// must not depend on how the stream is cut.
			var r io.Reader = bytes.NewReader(tc.data)
			if len(tc.data) < 100_000 {
				r = iotest.OneByteReader(r)
			}
			f, err := svc.Save(ctx, "exchange/1", uid, tc.name, r, 10<<20)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			sum := sha256.Sum256(tc.data)
			if f.ContentType != tc.want || f.Size != int64(len(tc.data)) || f.SHA256 != hex.EncodeToString(sum[:]) ||
				f.Name != files.CleanName(tc.name) || f.UploaderID == nil || *f.UploaderID != uid || len(f.StorageKey) != 32 {
				t.Errorf("%s: saved %+v", tc.name, f)
			}
			got, err := svc.Get(ctx, f.ID)
			if err != nil {
				t.Fatal(err)
			}
			rc, err := svc.Open(ctx, got)
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, tc.data) {
				t.Errorf("%s: read back %d bytes that differ from the %d sent", tc.name, len(back), len(tc.data))
			}
			total += int64(len(tc.data))
		}
		list, err := svc.List(ctx, "exchange/1")
		if err != nil || len(list) != len(cases) {
			t.Fatalf("List: %d files, %v", len(list), err)
		}
		if list[0].Name != "Vuokrasopimus.pdf" {
			t.Errorf("first name %q", list[0].Name)
		}
		n, size, err := svc.UsedBytes(ctx, "exchange/1")
		if err != nil || n != len(cases) || size != total {
			t.Errorf("UsedBytes = %d, %d, %v; want %d, %d", n, size, err, len(cases), total)
		}
		if n, size, err := svc.UsedBytes(ctx, "exchange/2"); err != nil || n != 0 || size != 0 {
			t.Errorf("UsedBytes of nobody = %d, %d, %v", n, size, err)
		}
		if objs := objects(t, st); len(objs) != len(cases) {
			t.Errorf("%d objects, want %d", len(objs), len(cases))
		}
		anon, err := svc.Save(ctx, "contact/1", 0, "", bytes.NewReader(samplePDF("")), 1<<20)
		if err != nil || anon.UploaderID != nil || anon.Name != "attachment" {
			t.Errorf("anonymous upload: %+v, %v", anon, err)
		}
	})
}

// endless yields head and then zeros for ever, counting what was read.
type endless struct {
	head []byte
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.head)
	e.head = e.head[n:]
	clear(p[n:])
	e.read += int64(len(p))
	return len(p), nil
}

// failingReader yields data and then fails, as a sender that goes away.
type failingReader struct {
	data []byte
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestSaveRefusesAndLeavesNothing: every refusal has its kind and
// message, and leaves neither an object nor a row.
func TestSaveRefusesAndLeavesNothing(t *testing.T) {
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 4000)...)
	zip := append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), make([]byte, 100)...)
	heic := append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 100)...)
	// The escaped name straddles the 3 KiB the type is sniffed from and
	// every read is one byte.
	hidden := append(samplePDF(strings.Repeat("x", 3060)), []byte("<< /S /J#61vaScript /JS (app.alert(1)) >>\n")...)
	cases := []struct {
		name string
		file string
		r    func() io.Reader
		kind problem.Kind
		key  string
	}{
		{"html named as a pdf", "receipt.pdf", func() io.Reader {
			return strings.NewReader("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
		}, problem.Invalid, "files.error.type"},
		{"program", "receipt.pdf", func() io.Reader { return bytes.NewReader(elf) }, problem.Invalid, "files.error.type"},
		{"zip", "liitteet.pdf", func() io.Reader { return bytes.NewReader(zip) }, problem.Invalid, "files.error.type"},
		{"heic photo", "IMG_0001.HEIC", func() io.Reader { return bytes.NewReader(heic) }, problem.Invalid, "files.error.type"},
		{"pdf with a script", "a.pdf", func() io.Reader {
			return bytes.NewReader(samplePDF("\n<< /OpenAction << /S /JavaScript /JS (x) >> >>"))
		}, problem.Invalid, "files.error.pdf_active"},
		{"pdf with a hidden script, one byte at a time", "a.pdf", func() io.Reader {
			return iotest.OneByteReader(bytes.NewReader(hidden))
		}, problem.Invalid, "files.error.pdf_active"},
		{"pdf launching a program", "a.pdf", func() io.Reader {
			return bytes.NewReader(samplePDF("\n<< /S /Launch /F (cmd.exe) >>"))
		}, problem.Invalid, "files.error.pdf_active"},
		{"pdf with an embedded file", "a.pdf", func() io.Reader {
			return bytes.NewReader(samplePDF("\n<< /Names << /EmbeddedFiles 9 0 R >> >>"))
		}, problem.Invalid, "files.error.pdf_active"},
		{"empty", "a.pdf", func() io.Reader { return strings.NewReader("") }, problem.Invalid, "files.error.empty"},
		{"one byte over", "a.pdf", func() io.Reader {
			return io.MultiReader(bytes.NewReader(samplePDF("")), strings.NewReader(strings.Repeat(" ", 1000)))
		}, problem.TooLarge, "files.error.too_large"},
		{"sender goes away", "a.pdf", func() io.Reader {
			return &failingReader{data: samplePDF(strings.Repeat("y", 5000))}
		}, problem.Invalid, "files.error.interrupted"},
	}
	eachBackend(t, func(t *testing.T, db *database.DB, st files.Store) {
		svc := files.New(db.Gorm, st, files.Config{})
		uid := resident(t, db)
		limit := int64(len(samplePDF("")) + 999)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				max := int64(1 << 20)
				if tc.kind == problem.TooLarge {
					max = limit
				}
				f, err := svc.Save(context.Background(), "exchange/7", uid, tc.file, tc.r(), max)
				if f != nil {
					t.Errorf("saved %+v", f)
				}
				wantProblem(t, err, tc.kind, tc.key)
				assertNothingStored(t, svc, st, "exchange/7")
			})
		}
	})
}

// TestSaveCutsWhileStreaming: an endless upload is cut at the limit
// without being read much past it.
func TestSaveCutsWhileStreaming(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database.DB, st files.Store) {
		svc := files.New(db.Gorm, st, files.Config{})
		src := &endless{head: samplePDF("")}
		const limit = 6 << 20 // over the S3 part size: a multipart upload is aborted
		_, err := svc.Save(context.Background(), "exchange/8", 0, "endless.pdf", src, limit)
		wantProblem(t, err, problem.TooLarge, "files.error.too_large")
		if src.read > limit+(8<<20) {
			t.Errorf("read %d bytes of an endless upload with a limit of %d", src.read, limit)
		}
		assertNothingStored(t, svc, st, "exchange/8")
	})
}

// TestDeleteAndDeleteOwner: deleting removes rows and objects; what is
// gone is NotFound.
func TestDeleteAndDeleteOwner(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database.DB, st files.Store) {
		ctx := context.Background()
		svc := files.New(db.Gorm, st, files.Config{})
		save := func(owner string) *files.File {
			f, err := svc.Save(ctx, owner, 0, "a.pdf", bytes.NewReader(samplePDF(owner)), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		save("exchange/1")
		save("exchange/1")
		keep := save("exchange/2")
		if err := svc.DeleteOwner(ctx, "exchange/1"); err != nil {
			t.Fatal(err)
		}
		if n, _, err := svc.UsedBytes(ctx, "exchange/1"); err != nil || n != 0 {
			t.Errorf("after DeleteOwner: %d files, %v", n, err)
		}
		objs := objects(t, st)
		if len(objs) != 1 || objs[0].Key != keep.StorageKey {
			t.Errorf("objects after DeleteOwner: %+v", objs)
		}
		if err := svc.Delete(ctx, keep.ID); err != nil {
			t.Fatal(err)
		}
		assertNothingStored(t, svc, st, "exchange/2")
		_, err := svc.Get(ctx, keep.ID)
		wantProblem(t, err, problem.NotFound, "")
		if !errors.Is(err, files.ErrNotFound) {
			t.Errorf("Get of a deleted file: %v, want ErrNotFound in the chain", err)
		}
		wantProblem(t, svc.Delete(ctx, keep.ID), problem.NotFound, "")
		_, err = svc.Open(ctx, keep)
		wantProblem(t, err, problem.NotFound, "")
	})
}

// TestSweep: objects without a row that are older than the age given are
// removed, the local store's unfinished temporary files included; files
// and young leftovers stay.
// TestSaveStoreAway: when the store fails (the S3 server is away), the
// sender is told to try again in a moment and nothing stays behind.
func TestSaveStoreAway(t *testing.T) {
	db := dbtest.SQLite(t)
	st := &failingStore{Store: newLocal(t)}
	svc := files.New(db.Gorm, st, files.Config{})
	_, err := svc.Save(context.Background(), "messages/1", 0, "clean.pdf", bytes.NewReader(samplePDF("")), 1<<20)
	wantProblem(t, err, problem.Unavailable, "files.error.store_unavailable")
	assertNothingStored(t, svc, st, "messages/1")
}

// failingStore fails every write, as an S3 server that is away does.
type failingStore struct{ files.Store }

func (failingStore) Put(context.Context, string, io.Reader, int64) error {
	return errors.New("dial tcp 127.0.0.1:9000: connect: connection refused")
}

func TestSweep(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *database.DB, st files.Store) {
		ctx := context.Background()
		now := time.Now()
		svc := files.New(db.Gorm, st, files.Config{Now: func() time.Time { return now }})
		kept, err := svc.Save(ctx, "exchange/1", 0, "a.pdf", bytes.NewReader(samplePDF("")), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		orphan := "0123456789abcdef0123456789abcdef"
		if err := st.Put(ctx, orphan, strings.NewReader("left by a crash"), -1); err != nil {
			t.Fatal(err)
		}
		want := 1
		if l, ok := st.(*files.Local); ok {
			// A temporary file of a write that never finished.
			part := filepath.Join(l.Root(), "fe", "fedcba9876543210fedcba9876543210.part-abc")
			if err := os.MkdirAll(filepath.Dir(part), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(part, []byte("half"), 0o600); err != nil {
				t.Fatal(err)
			}
			want++
		}
		// Young leftovers stay: an upload may be under way.
		if n, err := svc.Sweep(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("Sweep of young objects = %d, %v", n, err)
		}
		now = now.Add(2 * time.Hour)
		n, err := svc.Sweep(ctx, time.Hour)
		if err != nil || n != want {
			t.Fatalf("Sweep = %d, %v; want %d", n, err, want)
		}
		objs := objects(t, st)
		if len(objs) != 1 || objs[0].Key != kept.StorageKey {
			t.Errorf("after Sweep: %+v, want only %s", objs, kept.StorageKey)
		}
		if _, err := svc.Get(ctx, kept.ID); err != nil {
			t.Error(err)
		}
	})
}

// TestStoreContract: both stores keep, open, list and delete objects, and
// a failed Put leaves nothing under the key, with a known and an unknown
// size, in one part and in several.
func TestStoreContract(t *testing.T) {
	eachStore(t, func(t *testing.T, st files.Store) {
		ctx := context.Background()
		data := bytes.Repeat([]byte("0123456789"), 700_000) // 7 MB: two S3 parts
		for _, size := range []int64{int64(len(data)), -1} {
			key := "aa11"
			if size < 0 {
				key = "bb22"
			}
			if err := st.Put(ctx, key, bytes.NewReader(data), size); err != nil {
				t.Fatalf("put (size %d): %v", size, err)
			}
			rc, err := st.Open(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, data) {
				t.Errorf("size %d: read back %d bytes", size, len(back))
			}
		}
		objs := objects(t, st)
		if len(objs) != 2 || objs[0].Size != int64(len(data)) || time.Since(objs[0].ModTime) > time.Minute {
			t.Errorf("Walk: %+v", objs)
		}
		for _, key := range []string{"aa11", "bb22"} {
			if err := st.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Delete(ctx, "aa11"); err != nil {
			t.Errorf("deleting a missing key: %v", err)
		}
		if _, err := st.Open(ctx, "aa11"); !errors.Is(err, files.ErrNoObject) {
			t.Errorf("Open of a missing key: %v, want ErrNoObject", err)
		}
		// Failed writes, small and past one part, known and unknown size.
		for _, n := range []int{100, 6 << 20} {
			for _, size := range []int64{int64(n + 10), -1} {
				err := st.Put(ctx, "cc33", &failingReader{data: data[:n]}, size)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("Put from a failing reader (%d bytes, size %d): %v", n, size, err)
				}
				if objs := objects(t, st); len(objs) != 0 {
					t.Errorf("failed Put (%d bytes, size %d) left %+v", n, size, objs)
				}
			}
		}
		if err := st.Put(ctx, "../etc", strings.NewReader("x"), -1); err == nil {
			t.Error("Put accepted a key with a path")
		}
	})
}

// TestLocalPutIsAtomic: while a write is under way the key holds nothing
// (the bytes go to a temporary file); once it ends they are there whole.
func TestLocalPutIsAtomic(t *testing.T) {
	st := newLocal(t)
	ctx := context.Background()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- st.Put(ctx, "abcd", pr, -1) }()
	if _, err := pw.Write(samplePDF("first half")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Open(ctx, "abcd"); !errors.Is(err, files.ErrNoObject) {
		t.Errorf("mid-write Open: %v, want ErrNoObject", err)
	}
	objs := objects(t, st)
	if len(objs) != 1 || !strings.HasPrefix(objs[0].Key, "abcd.part-") {
		t.Errorf("mid-write objects: %+v, want one temporary file", objs)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	objs = objects(t, st)
	if len(objs) != 1 || objs[0].Key != "abcd" {
		t.Errorf("after the write: %+v", objs)
	}
}

// TestVirusScan runs a real clamd with a signature database of the test's
// own: a clean file passes, an infected one is refused and never stored,
// and with clamd gone uploads are refused as unscannable.
func TestVirusScan(t *testing.T) {
	clam := filestest.StartClamd(t)
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		st := newLocal(t)
		var logs syncBuffer
		svc := files.New(db.Gorm, st, files.Config{ClamdAddr: clam.Addr, Log: slog.New(slog.NewTextHandler(&logs, nil))})
		clean := append(samplePDF("clean"), bytes.Repeat([]byte("% filler\n"), 200_000)...) // many chunks
		f, err := svc.Save(ctx, "exchange/1", 0, "clean.pdf", bytes.NewReader(clean), 10<<20)
		if err != nil {
			t.Fatalf("clean file: %v", err)
		}
		if f.Size != int64(len(clean)) {
			t.Errorf("size %d", f.Size)
		}
		if err := svc.Delete(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
		// The signature straddles two reads.
		infected := samplePDF(string(filestest.EICAR()))
		_, err = svc.Save(ctx, "exchange/1", 0, "infected.pdf", iotest.HalfReader(bytes.NewReader(infected)), 10<<20)
		wantProblem(t, err, problem.Invalid, "files.error.infected")
		assertNothingStored(t, svc, st, "exchange/1")
		if !strings.Contains(logs.String(), "Portal.Test.EICAR") {
			t.Errorf("the signature is not logged: %s", logs.String())
		}
	})
	t.Run("clamd away", func(t *testing.T) {
		clam.Kill()
		db := dbtest.SQLite(t)
		st := newLocal(t)
		svc := files.New(db.Gorm, st, files.Config{ClamdAddr: clam.Addr})
		_, err := svc.Save(context.Background(), "exchange/1", 0, "clean.pdf", bytes.NewReader(samplePDF("")), 1<<20)
		wantProblem(t, err, problem.Unavailable, "files.error.scan_unavailable")
		assertNothingStored(t, svc, st, "exchange/1")
	})
}
