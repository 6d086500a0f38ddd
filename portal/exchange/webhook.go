package exchange

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// Delivery is a forwarding package on its way to the housing office's
// webhook: a durable queue row, retried with back-off until a 2xx.
type Delivery struct {
	ID            int64
	ApplicationID int64
	Payload       string // the package without file contents, as forwarded
	Attempts      int
	NextAttemptAt time.Time
	DeliveredAt   *time.Time
	LastError     string
	CreatedAt     time.Time
}

// TableName keeps gorm on the migrated table.
func (Delivery) TableName() string { return "exchange_deliveries" }

// Webhook headers (docs/EXCHANGE_WEBHOOK.md).
const (
	HeaderTimestamp = "X-Asumisneuvonta-Timestamp"
	HeaderSignature = "X-Asumisneuvonta-Signature"
	HeaderDelivery  = "X-Asumisneuvonta-Delivery"
)

// Sign returns the signature header value of body sent at ts:
// "v1=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func Sign(secret []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// queueDelivery stores the package for the webhook in the forwarding
// transaction: a forward that commits is delivered, one that rolls back
// is not.
func (s *Service) queueDelivery(ctx context.Context, tx *gorm.DB, a *Application) error {
	// Reads outside the transaction see what is committed: the resident,
	// the advisor, the files; a itself is the one being changed.
	p, _, err := s.buildPackage(ctx, a, false)
	if err != nil {
		return err
	}
	p.Status = StatusForwarded
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("exchange: encode package: %w", err)
	}
	now := s.now().UTC()
	d := &Delivery{ApplicationID: a.ID, Payload: string(b), NextAttemptAt: now, CreatedAt: now}
	if err := tx.WithContext(ctx).Create(d).Error; err != nil {
		return fmt.Errorf("exchange: queue delivery: %w", err)
	}
	return nil
}

// deliveryLease is how long a claimed delivery is another instance's
// before it may be tried again (a crash mid-send).
const deliveryLease = 2 * time.Minute

// backoff is the wait before attempt n+1: 30 s doubling, at most 6 h.
func backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

// DeliverDue sends the deliveries that are due, one at a time, and
// returns how many were acknowledged.
func (s *Service) DeliverDue(ctx context.Context, client *http.Client) (int, error) {
	if s.cfg.WebhookURL == "" {
		return 0, nil
	}
	done := 0
	for range 50 {
		d, err := s.claimDelivery(ctx)
		if err != nil || d == nil {
			return done, err
		}
		ok, err := s.deliver(ctx, client, d)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
	return done, nil
}

// claimDelivery takes the oldest due delivery by moving its next attempt
// past the lease; the conditional update makes one instance the winner.
func (s *Service) claimDelivery(ctx context.Context) (*Delivery, error) {
	now := s.now().UTC()
	for range 5 {
		var d Delivery
		err := s.db.WithContext(ctx).Where("delivered_at IS NULL AND next_attempt_at <= ?", now).
			Order("next_attempt_at, id").Limit(1).Find(&d).Error
		if err != nil {
			return nil, fmt.Errorf("exchange: due deliveries: %w", err)
		}
		if d.ID == 0 {
			return nil, nil
		}
		res := s.db.WithContext(ctx).Model(&Delivery{}).
			Where("id = ? AND delivered_at IS NULL AND next_attempt_at = ?", d.ID, d.NextAttemptAt).
			Update("next_attempt_at", now.Add(deliveryLease))
		if res.Error != nil {
			return nil, fmt.Errorf("exchange: claim delivery: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return &d, nil
		}
	}
	return nil, nil
}

// deliver posts one delivery with the files inlined, and records the
// outcome: delivered at a 2xx, else the next attempt after the back-off.
func (s *Service) deliver(ctx context.Context, client *http.Client, d *Delivery) (bool, error) {
	body, err := s.deliveryBody(ctx, d)
	if err != nil {
		return false, s.failDelivery(ctx, d, err.Error())
	}
	ts := s.now().Unix()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return false, s.failDelivery(ctx, d, err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(s.cfg.WebhookSecret, ts, body))
	req.Header.Set(HeaderDelivery, strconv.FormatInt(d.ID, 10))
	resp, err := client.Do(req)
	if err != nil {
		return false, s.failDelivery(ctx, d, err.Error())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // drain for reuse; the answer's body is not read
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, s.failDelivery(ctx, d, "status "+strconv.Itoa(resp.StatusCode))
	}
	now := s.now().UTC()
	err = s.db.WithContext(ctx).Model(&Delivery{}).Where("id = ?", d.ID).
		Updates(map[string]any{"delivered_at": now, "attempts": d.Attempts + 1, "last_error": ""}).Error
	if err != nil {
		return true, fmt.Errorf("exchange: mark delivery %d delivered: %w", d.ID, err)
	}
	s.log.Info("exchange: package delivered", "delivery", d.ID, "application", d.ApplicationID)
	return true, nil
}

func (s *Service) failDelivery(ctx context.Context, d *Delivery, why string) error {
	n := d.Attempts + 1
	s.log.Warn("exchange: package delivery failed", "delivery", d.ID, "application", d.ApplicationID, "attempt", n, "err", why)
	err := s.db.WithContext(ctx).Model(&Delivery{}).Where("id = ?", d.ID).
		Updates(map[string]any{"attempts": n, "last_error": truncate(why, 500), "next_attempt_at": s.now().UTC().Add(backoff(n))}).Error
	if err != nil {
		return fmt.Errorf("exchange: record failed delivery %d: %w", d.ID, err)
	}
	return nil
}

// deliveryBody is the stored package with each file's content inlined.
func (s *Service) deliveryBody(ctx context.Context, d *Delivery) ([]byte, error) {
	var p Package
	if err := json.Unmarshal([]byte(d.Payload), &p); err != nil {
		return nil, fmt.Errorf("exchange: stored package %d: %w", d.ID, err)
	}
	a, err := s.store.Get(ctx, d.ApplicationID)
	if err != nil {
		return nil, err
	}
	full, _, err := s.buildPackage(ctx, a, true)
	if err != nil {
		return nil, err
	}
	p.Attachments = full.Attachments
	return json.Marshal(p)
}

// Deliveries returns an application's deliveries, for the desk.
func (s *Service) Deliveries(ctx context.Context, id int64) ([]Delivery, error) {
	var out []Delivery
	if err := s.db.WithContext(ctx).Where("application_id = ?", id).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("exchange: deliveries of %d: %w", id, err)
	}
	return out, nil
}

// RunBackground delivers due packages and deletes stale drafts until ctx
// ends.
func (s *Service) RunBackground(ctx context.Context, every time.Duration) {
	client := &http.Client{Timeout: 30 * time.Second}
	t := time.NewTicker(every)
	defer t.Stop()
	lastSweep := time.Time{}
	for {
		if _, err := s.DeliverDue(ctx, client); err != nil && ctx.Err() == nil {
			s.log.Error("exchange: deliveries", "err", err)
		}
		if time.Since(lastSweep) > time.Hour {
			lastSweep = time.Now()
			if n, err := s.DeleteStaleDrafts(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("exchange: delete stale drafts", "err", err)
			} else if n > 0 {
				s.log.Info("exchange: stale drafts deleted", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func jsonIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("exchange: encode: %w", err)
	}
	return b, nil
}
