package cases

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
)

// OverdueMail is the optional notice to a resident whose payment plan has
// an instalment past due: no amount, no date, no subject matter, only a
// link to Oma asiointi, in the resident's language, once per instalment.
type OverdueMail struct {
	Outbox    *mail.Outbox
	PublicURL *url.URL
	Wake      func() // tells the sender there is mail; nil: it polls
}

// SendOverdueNotices queues one notice for each open case's plan that is
// behind, keyed by its earliest overdue instalment: the outbox's dedupe
// key makes later runs no-ops until that instalment is paid and another
// falls overdue. It returns how many plans are behind (each noticed now or
// before). Without Options.OverdueMail it does nothing.
func (s *Service) SendOverdueNotices(ctx context.Context) (int, error) {
	if s.overdueMail == nil {
		return 0, nil
	}
	var rows []struct {
		CaseID     int64
		ResidentID int64
	}
	err := s.db.WithContext(ctx).Table("cases AS c").Joins("JOIN payment_plans p ON p.case_id = c.id").
		Where("c.status <> ?", StatusClosed).Select("c.id AS case_id, c.resident_id AS resident_id").Order("c.id").Scan(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("cases: plans for overdue notices: %w", err)
	}
	queued := 0
	for _, r := range rows {
		v, err := s.planView(ctx, r.CaseID)
		if err != nil {
			return queued, err
		}
		if v == nil || v.Overdue == 0 {
			continue
		}
		u, err := s.users.ByID(ctx, r.ResidentID)
		if err != nil {
			return queued, err
		}
		if u.Email == "" {
			continue
		}
		lang := u.PreferredLang
		if lang == "" {
			lang = "fi"
		}
		for _, in := range v.Status.Instalments {
			if !in.Overdue {
				continue
			}
			err := s.overdueMail.Outbox.Enqueue(ctx, nil, mail.Message{
				To: u.Email, SubjectKey: "cases.mail.overdue.subject", Subject: s.fe.T(lang, "cases.mail.overdue.subject"),
				Text:      s.fe.T(lang, "cases.mail.overdue.text", map[string]any{"Link": s.overdueMail.PublicURL.String() + "/my/case"}),
				DedupeKey: fmt.Sprintf("cases.overdue:%d:%d", v.Plan.ID, in.N),
			})
			if err != nil {
				return queued, err
			}
			queued++
			break // the earliest overdue instalment keys the notice
		}
	}
	if queued > 0 && s.overdueMail.Wake != nil {
		s.overdueMail.Wake()
	}
	return queued, nil
}

// RunOverdueNotices sends the notices every interval until ctx ends.
func (s *Service) RunOverdueNotices(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.SendOverdueNotices(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("cases: overdue notices", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
