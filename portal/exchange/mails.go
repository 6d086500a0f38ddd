package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
)

var jsonMarshal = json.Marshal

// queueStatusMail tells the resident, in the outbox of the change's
// transaction, that the application's status changed. The mail says only
// that, and links to the portal: what changed and why is read there, after
// login, never in a mailbox.
func (s *Service) queueStatusMail(ctx context.Context, tx *gorm.DB, a *Application, to Status) error {
	if s.outbox == nil {
		return nil
	}
	u, err := auth.NewUsers(tx).ByID(ctx, a.ResidentID)
	if errors.Is(err, auth.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("exchange: resident of %d: %w", a.ID, err)
	}
	if u.Email == "" {
		return nil
	}
	lang := u.PreferredLang
	if lang == "" {
		lang = a.Lang
	}
	link := s.cfg.PublicURL.String() + "/exchange/" + itoa(a.ID)
	return s.outbox.Enqueue(ctx, tx, mail.Message{
		To:         u.Email,
		SubjectKey: "exchange.mail.subject",
		Subject:    s.fe.T(lang, "exchange.mail.subject"),
		Text:       s.fe.T(lang, "exchange.mail.text", map[string]any{"Name": u.GivenName, "Link": link}),
		// One mail per change: a retried transaction does not mail twice.
		DedupeKey: fmt.Sprintf("exchange:%d:%s:%d", a.ID, to, a.UpdatedAt.UnixNano()),
	})
}
