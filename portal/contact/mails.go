package contact

import (
	"context"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
)

// queueConfirmation tells the sender, in the outbox of the request's
// transaction, that the request arrived: its reference and what happens
// next. Nothing of the request is in it — not the resident's name, the
// address or the concern — since a mailbox is read by others too and the
// mail must not tell whom it is about.
func (s *Service) queueConfirmation(ctx context.Context, tx *gorm.DB, r *Request) error {
	if s.outbox == nil || r.SenderEmail == "" {
		return nil
	}
	return s.outbox.Enqueue(ctx, tx, mail.Message{
		To:         r.SenderEmail,
		SubjectKey: "contact.mail.subject",
		Subject:    s.fe.T(r.Lang, "contact.mail.subject", map[string]any{"Ref": r.Reference}),
		Text:       s.fe.T(r.Lang, "contact.mail.text", map[string]any{"Ref": r.Reference}),
		DedupeKey:  "contact:" + r.Reference,
	})
}
