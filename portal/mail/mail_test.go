package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/clocktest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// recorder is a Transport that records what it sends and fails as told.
type recorder struct {
	mu    sync.Mutex
	sent  map[int64]int
	fail  func(m *Stored) error
	delay time.Duration
}

func (r *recorder) Send(_ context.Context, m *Stored) error {
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	if r.fail != nil {
		if err := r.fail(m); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent == nil {
		r.sent = map[int64]int{}
	}
	r.sent[m.ID]++
	return nil
}

func message(i int) Message {
	return Message{To: fmt.Sprintf("person%d@example.test", i), SubjectKey: "test.subject",
		Subject: fmt.Sprintf("Your appointment %d", i), Text: "Hello", HTML: "<p>Hello</p>",
		Attachments: []Attachment{{Name: "a.ics", ContentType: "text/calendar", Data: []byte("BEGIN:VCALENDAR")}}}
}

func stored(t testing.TB, db *database.DB, id int64) Stored {
	t.Helper()
	var m Stored
	if err := db.Gorm.First(&m, id).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEnqueueValidatesAndDedupes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		o := NewOutbox(db.Gorm, nil)
		m := message(1)
		m.DedupeKey = "reminder:1"
		for range 2 {
			if err := o.Enqueue(ctx, nil, m); err != nil {
				t.Fatal(err)
			}
		}
		list, err := o.Recent(ctx, 10)
		if err != nil || len(list) != 1 {
			t.Fatalf("%d mails after enqueueing one dedupe key twice, %v", len(list), err)
		}
		full, err := o.ByID(ctx, list[0].ID)
		if err != nil || len(full.Attachments) != 1 || string(full.Attachments[0].Data) != "BEGIN:VCALENDAR" {
			t.Fatalf("stored attachment: %+v, %v", full, err)
		}
		for _, bad := range []string{"", "no-at", "a@", "a b@example.test", "x@example.test\r\nBcc: y@example.test"} {
			m := message(2)
			m.To = bad
			if err := o.Enqueue(ctx, nil, m); err == nil {
				t.Errorf("recipient %q accepted", bad)
			}
		}
	})
}

func TestSenderRetriesWithBackoffThenGivesUp(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		clk := clocktest.New(time.Date(2026, 3, 23, 6, 0, 0, 0, time.UTC))
		o := NewOutbox(db.Gorm, clk.Now)
		if err := o.Enqueue(ctx, nil, message(1)); err != nil {
			t.Fatal(err)
		}
		failing := true
		rec := &recorder{fail: func(*Stored) error {
			if failing {
				return errors.New("451 try again later")
			}
			return nil
		}}
		s := NewSender(db, rec, SenderConfig{BaseBackoff: time.Minute, MaxBackoff: time.Hour, MaxAttempts: 3}, clk.Now, nil)

		if n, err := s.SendDue(ctx); err != nil || n != 0 {
			t.Fatalf("first round = %d, %v", n, err)
		}
		m := stored(t, db, 1)
		wait := m.NextAttemptAt.Sub(clk.Now())
		if m.Status != StatusPending || m.Attempts != 1 || wait < time.Minute || wait > 72*time.Second || m.LastError == "" {
			t.Fatalf("after one failure: status %s attempts %d next in %v error %q", m.Status, m.Attempts, wait, m.LastError)
		}
		// Not due again before its back-off has passed.
		clk.Add(30 * time.Second)
		if n, err := s.SendDue(ctx); err != nil || n != 0 || stored(t, db, 1).Attempts != 1 {
			t.Fatalf("retried before the back-off: %d, %v", n, err)
		}
		clk.Add(time.Minute)
		if _, err := s.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		m = stored(t, db, 1)
		if wait := m.NextAttemptAt.Sub(clk.Now()); m.Attempts != 2 || wait < 2*time.Minute || wait > 150*time.Second {
			t.Fatalf("second back-off: attempts %d next in %v, want about 2 minutes", m.Attempts, wait)
		}
		clk.Add(3 * time.Minute)
		if _, err := s.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		if m = stored(t, db, 1); m.Status != StatusFailed || m.Attempts != 3 {
			t.Fatalf("after the maximum attempts: status %s attempts %d", m.Status, m.Attempts)
		}

		// A mail that fails once and then goes through is sent once.
		if err := o.Enqueue(ctx, nil, message(2)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		failing = false
		clk.Add(2 * time.Minute)
		if n, err := s.SendDue(ctx); err != nil || n != 1 {
			t.Fatalf("retry = %d, %v", n, err)
		}
		if m = stored(t, db, 2); m.Status != StatusSent || m.SentAt == nil || rec.sent[2] != 1 {
			t.Fatalf("after a successful retry: %+v, sent %d times", m, rec.sent[2])
		}
	})
}

func TestPermanentFailureIsNotRetried(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	o := NewOutbox(db.Gorm, nil)
	if err := o.Enqueue(ctx, nil, message(1)); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{fail: func(*Stored) error { return Permanent(errors.New("550 no such user")) }}
	if _, err := NewSender(db, rec, SenderConfig{}, nil, nil).SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if m := stored(t, db, 1); m.Status != StatusFailed || m.Attempts != 1 {
		t.Fatalf("status %s attempts %d, want failed after 1", m.Status, m.Attempts)
	}
}

// TestTwoInstancesNeverSendOneMailTwice runs two senders on two
// connection pools of one database, two rounds each at the same time,
// over 60 queued mails: each is delivered exactly once.
func TestTwoInstancesNeverSendOneMailTwice(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			var u string
			if dialect == "sqlite" {
				u = "sqlite:" + filepath.Join(t.TempDir(), "portal.db")
			} else {
				u = dbtest.PostgresSchemaURL(t)
			}
			a, b := dbtest.Open(t, u, true), dbtest.Open(t, u, false)
			ctx := context.Background()
			o := NewOutbox(a.Gorm, nil)
			const n = 60
			for i := range n {
				if err := o.Enqueue(ctx, nil, message(i)); err != nil {
					t.Fatal(err)
				}
			}
			rec := &recorder{delay: 2 * time.Millisecond}
			var wg sync.WaitGroup
			for _, db := range []*database.DB{a, b, a, b} {
				s := NewSender(db, rec, SenderConfig{Batch: 5}, nil, nil)
				s.claimHold = 20 * time.Millisecond
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := s.SendDue(ctx); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if len(rec.sent) != n {
				t.Fatalf("%d distinct mails sent, want %d", len(rec.sent), n)
			}
			for id, times := range rec.sent {
				if times != 1 {
					t.Errorf("mail %d sent %d times", id, times)
				}
			}
		})
	}
}

func TestLogTransportLogsNoPersonalData(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	o := NewOutbox(db.Gorm, nil)
	m := message(7)
	m.To, m.Subject = "aino.asukas@example.invalid", "Vuokravelka: aika ti 24.3."
	if err := o.Enqueue(ctx, nil, m); err != nil {
		t.Fatal(err)
	}
	if n, err := NewSender(db, LogTransport{Log: log}, SenderConfig{}, nil, log).SendDue(ctx); err != nil || n != 1 {
		t.Fatalf("SendDue = %d, %v", n, err)
	}
	out := buf.String()
	for _, private := range []string{"aino", "asukas", "Vuokravelka", "Hello"} {
		if strings.Contains(out, private) {
			t.Errorf("log line carries %q:\n%s", private, out)
		}
	}
	for _, want := range []string{`"to_domain":"example.invalid"`, `"subject_key":"test.subject"`, `"mail_id":1`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

func TestPurgeDeletesOldDeliveredMail(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	clk := clocktest.New(time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC))
	o := NewOutbox(db.Gorm, clk.Now)
	for i := range 2 {
		if err := o.Enqueue(ctx, nil, message(i)); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSender(db, &recorder{}, SenderConfig{Batch: 1, Retention: 24 * time.Hour}, clk.Now, nil)
	if _, err := s.claim(ctx); err != nil { // one stays pending, claimed
		t.Fatal(err)
	}
	if err := db.Gorm.Exec("UPDATE mail_outbox SET status = 'sent' WHERE id = 2").Error; err != nil {
		t.Fatal(err)
	}
	clk.Add(48 * time.Hour)
	if err := s.purge(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := db.Gorm.Raw("SELECT id FROM mail_outbox ORDER BY id").Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	var att int64
	if err := db.Gorm.Raw("SELECT COUNT(*) FROM mail_attachments").Scan(&att).Error; err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != 1 || att != 1 {
		t.Fatalf("after purge: mails %v, attachments %d; want the pending mail 1 and its attachment", ids, att)
	}
}
