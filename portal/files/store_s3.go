package files

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config is where an S3-compatible object store is and how to sign in
// (PORTAL_S3_ENDPOINT, PORTAL_S3_BUCKET, PORTAL_S3_ACCESS_KEY,
// PORTAL_S3_SECRET_KEY, PORTAL_S3_REGION, PORTAL_S3_TLS).
type S3Config struct {
	// Endpoint is host:port, without a scheme.
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	// Region may be empty for servers that do not care.
	Region string
	// TLS uses https.
	TLS bool
	// PartSize is the size of the parts of an upload of unknown length,
	// which the client holds in memory one at a time: the memory one
	// upload needs. Zero means 8 MiB; S3 requires at least 5 MiB.
	PartSize uint64
}

// S3 is a Store in a bucket of an S3-compatible service (AWS S3, MinIO,
// Ceph, versitygw…), for any number of instances.
//
// Put streams: with a known size it is one PUT, with an unknown size a
// multipart upload of PartSize parts that is aborted when the reader
// fails, so that no object appears under the key. An aborted upload whose
// abort did not reach the server (the process died) is left as an
// incomplete multipart upload, which Walk does not see: give the bucket a
// lifecycle rule that aborts incomplete uploads after a day.
type S3 struct {
	client   *minio.Client
	bucket   string
	partSize uint64
}

var _ Store = (*S3)(nil)

// minPartSize is S3's smallest part but the last.
const minPartSize = 5 << 20

// NewS3 returns the store for cfg. It does not contact the server; Check
// does.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("files: S3 store: PORTAL_S3_ENDPOINT and PORTAL_S3_BUCKET are required")
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = 8 << 20
	}
	if cfg.PartSize < minPartSize {
		return nil, fmt.Errorf("files: S3 store: part size %d is below S3's minimum of 5 MiB", cfg.PartSize)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.TLS,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("files: S3 store %s: %w", cfg.Endpoint, err)
	}
	return &S3{client: client, bucket: cfg.Bucket, partSize: cfg.PartSize}, nil
}

// Check reports an error when the bucket cannot be reached or does not
// exist, for the start and the readiness probe.
func (s *S3) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("files: S3 store: bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("files: S3 store: bucket %s does not exist", s.bucket)
	}
	return nil
}

// Put streams r to the object key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if !validKey(key) {
		return fmt.Errorf("files: S3 store: invalid key %q", key)
	}
	src := &s3Source{r: r}
	_, err := s.client.PutObject(ctx, s.bucket, key, src, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream", // served with the sniffed type, never S3's
		PartSize:    s.partSize,
	})
	if src.err != nil {
		if err == nil {
			// The client took the failure for the end of the stream and
			// completed the object; it must not stay.
			if derr := s.Delete(context.WithoutCancel(ctx), key); derr != nil {
				return fmt.Errorf("files: S3 store: put %s: %w (and %w)", key, src.err, derr)
			}
		}
		return fmt.Errorf("files: S3 store: put %s: %w", key, src.err)
	}
	if err != nil {
		return fmt.Errorf("files: S3 store: put %s: %w", key, err)
	}
	return nil
}

// s3Source keeps the reader's failure. The S3 client reads parts with
// io.ReadFull and takes io.ErrUnexpectedEOF (what a sender that went away
// gives) for a short last part: it would complete the object. So every
// failure reaches the client as an error of another identity, and Put
// reports the original.
type s3Source struct {
	r   io.Reader
	err error
}

// errSourceFailed is what the S3 client sees of a failed reader.
var errSourceFailed = errors.New("files: S3 store: the reader failed")

func (s *s3Source) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, errSourceFailed
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
		return n, errSourceFailed
	}
	return n, err
}

// Open returns the object's body; ErrNoObject when the key holds nothing.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("files: S3 store: invalid key %q", key)
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("files: S3 store: open %s: %w", key, s3Err(err))
	}
	// GetObject is lazy: Stat makes the request, so that a missing object
	// is an error here rather than at the first Read.
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close() // the Stat error is the one that matters
		return nil, fmt.Errorf("files: S3 store: open %s: %w", key, s3Err(err))
	}
	return obj, nil
}

// Delete removes the object; S3 does not mind a missing one.
func (s *S3) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return fmt.Errorf("files: S3 store: invalid key %q", key)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(s3Err(err), ErrNoObject) {
			return nil
		}
		return fmt.Errorf("files: S3 store: delete %s: %w", key, err)
	}
	return nil
}

// Walk lists the bucket.
func (s *S3) Walk(ctx context.Context, fn func(Object) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the listing goroutine when fn stops the walk
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("files: S3 store: walk: %w", obj.Err)
		}
		if err := fn(Object{Key: obj.Key, Size: obj.Size, ModTime: obj.LastModified}); err != nil {
			return err
		}
	}
	return nil
}

// s3Err turns S3's "no such key" into ErrNoObject.
func s3Err(err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return fmt.Errorf("%w (%w)", ErrNoObject, err)
	}
	return err
}
