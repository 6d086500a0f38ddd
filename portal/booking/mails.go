package booking

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// The mails about a booking.
type mailKind string

const (
	mailConfirmed mailKind = "confirmed"
	mailMoved     mailKind = "moved"
	mailCancelled mailKind = "cancelled"
	mailReminder  mailKind = "reminder"
)

// mailContext is what a mail about a booking says besides the booking.
type mailContext struct {
	residentName  string
	residentEmail string
	advisorName   string
	point         *regions.ServicePoint
	regionPhone   string
	staffMessage  string
	advisorAway   bool
}

// mailContext reads, through db (the caller's transaction, or the pool),
// the names and places a mail about b shows. It asks their owners, auth
// and regions, on that same db.
func (s *Service) mailContext(ctx context.Context, db *gorm.DB, b *Booking, residentName, residentEmail string) (mailContext, error) {
	mc := mailContext{residentName: residentName, residentEmail: residentEmail}
	a, err := auth.NewUsers(db).ByID(ctx, b.AdvisorID)
	if err != nil {
		return mc, fmt.Errorf("booking: advisor %d: %w", b.AdvisorID, err)
	}
	mc.advisorName = a.Name
	places := regions.NewStore(db)
	if b.ServicePointID != nil {
		if mc.point, err = places.ServicePoint(ctx, *b.ServicePointID); err != nil {
			return mc, err
		}
	}
	r, err := places.ByID(ctx, b.RegionID)
	if err != nil && !errors.Is(err, regions.ErrNotFound) {
		return mc, fmt.Errorf("booking: region phone: %w", err)
	}
	if r != nil {
		mc.regionPhone = r.Phone
	}
	return mc, nil
}

// MailView is what the booking mail templates (booking/mail-html and
// booking/mail-text) execute with.
type MailView struct {
	Kind         string
	Lang         string
	ResidentName string
	When         string
	TypeKey      string
	TopicKey     string
	Place        string
	AdvisorName  string
	StaffMessage string
	AdvisorAway  bool
	ManageURL    string // the booking's page
	MoveURL      string // its move page
	CancelURL    string // its cancel page, which asks to confirm
	BookURL      string
	Phone        string

	fe *frontend.Frontend
}

// T translates key into the mail's language.
func (v *MailView) T(key string, args ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			data[k] = args[i+1]
		}
	}
	return v.fe.T(v.Lang, key, data)
}

// queueMail renders the mail of kind about b, with its calendar file, and
// queues it in tx. A resident without an e-mail address gets none.
func (s *Service) queueMail(ctx context.Context, tx *gorm.DB, kind mailKind, b *Booking, mc mailContext) error {
	if mc.residentEmail == "" || s.outbox == nil {
		return nil
	}
	lang := b.Lang
	if lang == "" {
		lang = frontend.DefaultLang
	}
	v := &MailView{
		Kind: string(kind), Lang: lang, ResidentName: mc.residentName,
		When:     s.formatWhen(lang, b.StartsAt, b.EndsAt),
		TypeKey:  "booking.type." + string(b.MeetingType),
		TopicKey: b.Topic.LabelKey(),
		Place:    s.place(lang, b, mc), AdvisorName: mc.advisorName,
		StaffMessage: mc.staffMessage, AdvisorAway: mc.advisorAway,
		ManageURL: s.link(fmt.Sprintf("/booking/%d", b.ID)), MoveURL: s.link(fmt.Sprintf("/booking/%d/move", b.ID)),
		CancelURL: s.link(fmt.Sprintf("/booking/%d/cancel", b.ID)), BookURL: s.link("/booking"),
		Phone: mc.regionPhone, fe: s.fe,
	}
	if mc.point != nil && mc.point.Phone != "" {
		v.Phone = mc.point.Phone
	}
	var text, body bytes.Buffer
	if err := s.fe.Views().Render(&text, "booking/mail-text", v); err != nil {
		return fmt.Errorf("booking: render %s mail: %w", kind, err)
	}
	if err := s.fe.Views().Render(&body, "booking/mail-html", v); err != nil {
		return fmt.Errorf("booking: render %s mail: %w", kind, err)
	}
	subjectKey := "booking.mail." + string(kind) + ".subject"
	calendar, err := s.calendar(b, v, mc)
	if err != nil {
		return err
	}
	m := mail.Message{
		To: mc.residentEmail, SubjectKey: subjectKey, Subject: v.T(subjectKey, "When", v.When),
		// The text template is plain text run through html/template: undo
		// its escaping, which is for HTML only.
		Text: html.UnescapeString(strings.TrimSpace(text.String())) + "\n",
		HTML: body.String(),
		Attachments: []mail.Attachment{{
			Name:        "asumisneuvonta.ics",
			ContentType: "text/calendar; charset=utf-8; method=" + calendarMethod(b),
			Data:        calendar,
		}},
	}
	if kind == mailReminder {
		m.DedupeKey = fmt.Sprintf("booking-reminder:%d:%d", b.ID, b.Sequence)
	}
	return s.outbox.Enqueue(ctx, tx, m)
}

func calendarMethod(b *Booking) string {
	if b.Status == StatusCancelled {
		return string(ics.MethodCancel)
	}
	return string(ics.MethodRequest)
}

// calendar builds the iCalendar invitation (or cancellation) for b. The
// UID stays the same across moves and the SEQUENCE rises, so calendar
// programs update the one event instead of adding another.
func (s *Service) calendar(b *Booking, v *MailView, mc mailContext) ([]byte, error) {
	cal := ics.NewCalendarFor("Asumisneuvonta")
	cal.SetMethod(ics.Method(calendarMethod(b)))
	ev := cal.AddEvent(fmt.Sprintf("booking-%d@%s", b.ID, s.cfg.PublicURL.Hostname()))
	ev.SetDtStampTime(s.now())
	ev.SetSequence(b.Sequence)
	ev.SetStartAt(b.StartsAt)
	ev.SetEndAt(b.EndsAt)
	ev.SetSummary(v.T("booking.ics.summary", "Type", v.T(v.TypeKey)))
	ev.SetLocation(v.Place)
	ev.SetDescription(v.T("booking.ics.details", "Topic", v.T(v.TopicKey), "Advisor", v.AdvisorName, "URL", v.ManageURL))
	ev.SetURL(v.ManageURL)
	ev.SetOrganizer(s.cfg.Organizer, ics.WithCN(v.T("booking.ics.organizer")))
	ev.AddAttendee(mc.residentEmail, ics.WithCN(mc.residentName), ics.CalendarUserTypeIndividual,
		ics.ParticipationStatusAccepted, ics.WithRSVP(false))
	if b.Status == StatusCancelled {
		ev.SetStatus(ics.ObjectStatusCancelled)
	} else {
		ev.SetStatus(ics.ObjectStatusConfirmed)
	}
	var buf bytes.Buffer
	// RFC 5545 wants CRLF line ends (the library writes LF by default).
	if err := cal.SerializeTo(&buf, ics.WithNewLineWindows); err != nil {
		return nil, fmt.Errorf("booking: calendar file: %w", err)
	}
	return buf.Bytes(), nil
}

// place says where the meeting happens, in lang.
func (s *Service) place(lang string, b *Booking, mc mailContext) string {
	switch b.MeetingType {
	case Office:
		if mc.point != nil {
			return strings.TrimSpace(fmt.Sprintf("%s, %s, %s %s", mc.point.NameIn(lang), mc.point.StreetAddress, mc.point.PostalCode, mc.point.City))
		}
	case HomeVisit:
		return s.fe.T(lang, "booking.place.home", map[string]any{"Address": b.VisitAddress})
	case Phone:
		return s.fe.T(lang, "booking.place.phone", map[string]any{"Phone": b.ContactPhone})
	case Video:
		return s.fe.T(lang, "booking.place.video")
	}
	return ""
}

// link is the absolute address of path on the portal (PORTAL_PUBLIC_URL),
// for mail: pages that need a login send the reader there and back.
func (s *Service) link(path string) string {
	u := *s.cfg.PublicURL
	u.Path = path
	return u.String()
}

// formatWhen is "ma 30.3.2026 klo 09.00–10.00" in lang, Helsinki time
// (the clock as frontend.View.DateTime writes it).
func (s *Service) formatWhen(lang string, start, end time.Time) string {
	start, end = start.In(s.loc), end.In(s.loc)
	day := s.fe.T(lang, fmt.Sprintf("booking.weekday_short.%d", isoWeekday(start)))
	switch lang {
	case "en":
		return fmt.Sprintf("%s %s, %s–%s", day, start.Format("2 Jan 2006"), start.Format("15:04"), end.Format("15:04"))
	case "sv":
		return fmt.Sprintf("%s %s kl. %s–%s", day, start.Format("2.1.2006"), start.Format("15.04"), end.Format("15.04"))
	}
	return fmt.Sprintf("%s %s klo %s–%s", day, start.Format("2.1.2006"), start.Format("15.04"), end.Format("15.04"))
}

func isoWeekday(t time.Time) int {
	if wd := int(t.Weekday()); wd != 0 {
		return wd
	}
	return 7
}
