package booking

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
	portalmail "github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail/mailtest"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// twoInstances opens the same fresh database twice, as two portal
// instances would: separate connection pools, one schema.
func twoInstances(t *testing.T, dialect string) (*database.DB, *database.DB) {
	t.Helper()
	var u string
	if dialect == "sqlite" {
		u = "sqlite:" + filepath.Join(t.TempDir(), "portal.db")
	} else {
		u = dbtest.PostgresSchemaURL(t)
	}
	return dbtest.Open(t, u, true), dbtest.Open(t, u, false)
}

// TestRemindersOnceAcrossInstances runs the reminder job on two
// instances at once, many times over: every due reminder is queued once.
func TestRemindersOnceAcrossInstances(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			dbA, dbB := twoInstances(t, dialect)
			h := newHarness(t, dbA)
			aino := h.login(h.residents[0])
			ids := []int64{h.book(aino, tuesday10), h.book(aino, tuesday10.Add(time.Hour))}
			// A booking made less than a day ahead gets no reminder: the
			// confirmation was one.
			h.clock.Set(tuesday10.Add(-20 * time.Hour))
			late := h.book(aino, tuesday10.Add(2*time.Hour))
			before := len(h.mails())

			// Instance B: its own pool, service and clock at the same time.
			svcB := New(Options{
				DB: dbB, Users: auth.NewUsers(dbB.Gorm), Regions: regions.NewStore(dbB.Gorm), Frontend: h.fe, Audit: audit.New(dbB.Gorm, h.clock.Now),
				Outbox: portalmail.NewOutbox(dbB.Gorm, h.clock.Now), Config: h.svc.cfg, Location: h.svc.loc, Now: h.clock.Now,
			})
			h.svc.store.claimHold, svcB.store.claimHold = 20*time.Millisecond, 20*time.Millisecond
			h.clock.Set(tuesday10.Add(-23*time.Hour - 30*time.Minute))
			var wg sync.WaitGroup
			var mu sync.Mutex
			total := 0
			for _, svc := range []*Service{h.svc, svcB, h.svc, svcB} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 5 {
						n, err := svc.SendReminders(context.Background())
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						total += n
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			// The first booking's reminder is due (10:00 − 24 h); the
			// second's (11:00 − 24 h) is not yet.
			if total != 1 {
				t.Fatalf("%d reminders queued at 10:30 the day before, want 1", total)
			}
			h.clock.Set(tuesday10.Add(-20 * time.Hour))
			for _, svc := range []*Service{h.svc, svcB} {
				if _, err := svc.SendReminders(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			var reminders []portalmail.Stored
			if err := dbA.Gorm.Where("subject_key = ?", "booking.mail.reminder.subject").Order("id").Find(&reminders).Error; err != nil {
				t.Fatal(err)
			}
			if len(reminders) != 2 || len(h.mails()) != before+2 {
				t.Fatalf("%d reminder mails, want one for each of the 2 bookings", len(reminders))
			}
			if !strings.Contains(reminders[0].BodyText, "ti 24.3.2026 klo 10.00–11.00") ||
				!strings.Contains(reminders[0].BodyText, h.fe.T("fi", "booking.mail.reminder.intro")) {
				t.Errorf("reminder text:\n%s", reminders[0].BodyText)
			}
			for _, id := range ids {
				var b Booking
				if err := dbA.Gorm.First(&b, id).Error; err != nil || b.RemindedAt == nil {
					t.Errorf("booking %d not marked reminded: %+v, %v", id, b.RemindedAt, err)
				}
			}
			var b Booking
			if err := dbA.Gorm.First(&b, late).Error; err != nil || b.RemindAt != nil {
				t.Errorf("a booking made within the reminder period has a reminder: %+v", b.RemindAt)
			}
		})
	}
}

// TestConfirmationThroughSMTP books through HTTP, lets the sender deliver
// through go-mail to a real SMTP listener, and reads the mail back: the
// text, and a calendar attachment that parses and holds the right time.
func TestConfirmationThroughSMTP(t *testing.T) {
	sink, host, port := mailtest.Start(t)
	h := newHarness(t, dbtest.SQLite(t))
	aino := h.login(h.residents[0])
	id := h.book(aino, tuesday10)

	transport, err := portalmail.NewSMTP(portalmail.SMTPConfig{
		Host: host, Port: port, TLS: portalmail.TLSNone, From: "Asumisneuvonta <noreply@portal.test>",
	})
	if err != nil {
		t.Fatal(err)
	}
	sender := portalmail.NewSender(h.db, transport, portalmail.SenderConfig{}, h.clock.Now, nil)
	n, err := sender.SendDue(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("SendDue = %d, %v; want 1", n, err)
	}
	if again, err := sender.SendDue(context.Background()); err != nil || again != 0 {
		t.Fatalf("second SendDue = %d, %v; want nothing left", again, err)
	}
	mails := sink.Mails()
	if len(mails) != 1 {
		t.Fatalf("SMTP server received %d mails, want 1", len(mails))
	}
	got := mails[0]
	if got.From != "noreply@portal.test" || len(got.To) != 1 || got.To[0] != "aino.asukas@example.invalid" {
		t.Fatalf("envelope from %q to %v", got.From, got.To)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || !strings.Contains(subject, "ti 24.3.2026 klo 10.00–11.00") {
		t.Errorf("subject %q, %v", subject, err)
	}
	if !strings.HasPrefix(msg.Header.Get("Message-Id"), "<outbox-") {
		t.Errorf("Message-ID %q is not derived from the outbox row", msg.Header.Get("Message-Id"))
	}
	var text string
	var calendar []byte
	walkParts(t, msg.Header.Get("Content-Type"), msg.Body, func(ct string, body []byte) {
		switch {
		case strings.HasPrefix(ct, "text/plain"):
			text = string(body)
		case strings.HasPrefix(ct, "text/calendar"):
			calendar = body
		}
	})
	if !strings.Contains(text, "Hei Aino Asukas") || !strings.Contains(text, "/booking/") {
		t.Errorf("text part:\n%s", text)
	}
	if calendar == nil {
		t.Fatalf("no text/calendar attachment in\n%s", got.Data)
	}
	ev := parseICS(t, calendar)
	if s, err := ev.GetStartAt(); err != nil || !s.Equal(tuesday10) {
		t.Errorf("DTSTART %v, %v; want %v", s, err, tuesday10)
	}
	if e, err := ev.GetEndAt(); err != nil || !e.Equal(tuesday10.Add(time.Hour)) {
		t.Errorf("DTEND %v, %v", e, err)
	}
	if ev.Id() != "booking-"+strconv.FormatInt(id, 10)+"@portal.test" {
		t.Errorf("UID %q", ev.Id())
	}
	if !strings.Contains(string(calendar), "METHOD:REQUEST") {
		t.Errorf("calendar method is not REQUEST:\n%s", calendar)
	}
	var status string
	if err := h.db.Gorm.Raw("SELECT status FROM mail_outbox").Scan(&status).Error; err != nil || status != portalmail.StatusSent {
		t.Errorf("outbox status %q, %v", status, err)
	}
}

// walkParts calls fn with the decoded body of every leaf MIME part.
func walkParts(t *testing.T, contentType string, r io.Reader, fn func(ct string, body []byte)) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("content type %q: %v", contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		fn(contentType, b)
		return
	}
	mr := multipart.NewReader(r, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable; base64 is handled below
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		walkParts(t, p.Header.Get("Content-Type"), body, fn)
	}
}
