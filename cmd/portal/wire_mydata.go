package main

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/booking"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/exchange"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mydata"
)

// maxMyData is how many of each kind of item (appointments, chats,
// threads) the download reads: more than anyone has.
const maxMyData = 10000

// wireMyData builds the resident's "Download my data" (GDPR Art. 15): one
// source per feature, each read through the feature's exported stores and
// services, so that mydata imports no feature. The order of the sources
// is mydata.PartKeys'.
func wireMyData(app *fiber.App, d *deps) (func(context.Context) error, error) {
	svc := mydata.New(mydata.Options{Frontend: d.fe, Now: d.now, Sources: []mydata.Source{
		mydata.Profile(d.auth.Users()),
		myCases(d),
		myBookings(d),
		myChats(d),
		myThreads(d),
		myApplications(d),
		mydata.AccessLog(d.audit),
	}})
	svc.Register(app)
	d.home.AddMySection(svc.MySection)
	return func(context.Context) error { return nil }, nil
}

// myCases is the resident's client cases with their timelines, payment
// plans, crisis-accommodation paths and partners.
func myCases(d *deps) mydata.Source {
	svc := cases.New(cases.Options{DB: d.db, Users: d.auth.Users(), Regions: d.regions, Frontend: d.fe, Audit: d.audit,
		Location: d.cfg.Location, Now: d.now, Log: d.log})
	return func(ctx context.Context, residentID int64) (mydata.Part, error) {
		list, err := svc.ResidentCopy(ctx, residentID)
		if err != nil {
			return mydata.Part{}, err
		}
		p := mydata.Part{Key: "mydata.part.case"}
		for _, cc := range list {
			c := cc.Case
			name := func(id *int64) string {
				if id == nil {
					return ""
				}
				return cc.Names[*id]
			}
			it := mydata.Item{Fields: []mydata.Field{
				mydata.Int("case_number", c.ID),
				mydata.Code("status", string(c.Status), "cases.status."+string(c.Status)),
				mydata.Code("reason", c.Reason, "cases.reason."+c.Reason),
				mydata.Code("household", c.Household, "cases.household."+c.Household),
				mydata.Int("children", int64(c.Children)),
				mydata.Code("referrer", c.Referrer, "cases.referrer."+c.Referrer),
				mydata.Money("debt_cents", c.DebtCents),
				mydata.Bool("in_court", c.InCourt),
				mydata.Text("court_date", c.CourtDate),
				mydata.Text("eviction_date", c.EvictionDate),
				mydata.Text("advisor", name(c.AdvisorID)),
				mydata.Text("colleague", name(c.ColleagueID)),
				mydata.Text("follow_up_until", c.FollowUpUntil),
				mydata.Text("interim_due", c.InterimDue),
				mydata.Text("interim_done", c.InterimDone),
				mydata.Code("outcome", c.Outcome, "cases.outcome."+c.Outcome),
				mydata.Time("created_at", c.CreatedAt),
				mydata.TimePtr("closed_at", c.ClosedAt),
			}}
			if pl := cc.Plan; pl != nil {
				it.Fields = append(it.Fields,
					mydata.Money("plan_total_cents", pl.TotalCents),
					mydata.Money("plan_instalment_cents", pl.InstalmentCents),
					mydata.Int("plan_due_day", int64(pl.DueDay)),
					mydata.Text("plan_start", pl.StartDate),
					mydata.Text("plan_reference", pl.Reference),
				)
			}
			events := mydata.List{Name: "events"}
			for _, e := range cc.Events {
				events.Items = append(events.Items, mydata.Item{Fields: []mydata.Field{
					mydata.Time("at", e.CreatedAt),
					mydata.Code("kind", e.Kind, eventKey(e.Kind)),
					mydata.Text("by", name(e.ActorID)),
					mydata.Code("field", e.Field, eventFieldKey(e.Kind, e.Field)),
					mydata.Text("old_value", e.OldValue),
					mydata.Text("new_value", e.NewValue),
					mydata.Text("on_date", e.OnDate),
					mydata.Text("text", e.Body),
				}})
			}
			payments := mydata.List{Name: "payments"}
			for _, pay := range cc.Payments {
				payments.Items = append(payments.Items, mydata.Item{Fields: []mydata.Field{
					mydata.Text("paid_on", pay.PaidOn),
					mydata.Money("amount_cents", pay.AmountCents),
					mydata.Code("source", pay.Source, "mydata.payment_source."+pay.Source),
				}})
			}
			checks := mydata.List{Name: "crisis_checks"}
			for _, ch := range cc.Checks {
				checks.Items = append(checks.Items, mydata.Item{Fields: []mydata.Field{
					mydata.Code("item", ch.Item, "cases.crisis.check."+ch.Item),
					mydata.Bool("answer", ch.Answer),
					mydata.Text("on_date", ch.CheckedOn),
				}})
			}
			stages := mydata.List{Name: "crisis_stages"}
			for _, st := range cc.Stages {
				stages.Items = append(stages.Items, mydata.Item{Fields: []mydata.Field{
					mydata.Code("stage", st.Stage, "cases.crisis.stage."+st.Stage),
					mydata.Text("start_date", st.StartDate),
					mydata.Text("end_date", st.EndDate),
				}})
			}
			partners := mydata.List{Name: "partners"}
			for _, pt := range cc.Partners {
				partners.Items = append(partners.Items, mydata.Item{Fields: []mydata.Field{
					mydata.Code("partner", pt.Kind, "cases.crisis.partner."+pt.Kind),
					mydata.Text("contact", pt.Contact),
					mydata.Text("on_date", pt.OnDate),
				}})
			}
			it.Lists = []mydata.List{events, payments, checks, stages, partners}
			p.Items = append(p.Items, it)
		}
		return p, nil
	}
}

// eventKey is the words of a timeline entry's kind.
func eventKey(kind string) string {
	switch kind {
	case "crisis_check", "crisis_stage", "partner":
		return "cases.crisis.event." + kind
	}
	return "cases.event." + kind
}

// eventFieldKey is the words of what a timeline entry is about: a field,
// an intervention, a check, a stage, a partner, an origin.
func eventFieldKey(kind, field string) string {
	switch kind {
	case "intervention":
		return "cases.intervention_kind." + field
	case "crisis_check":
		return "cases.crisis.check." + field
	case "crisis_stage":
		return "cases.crisis.stage." + field
	case "partner":
		return "cases.crisis.partner." + field
	case "opened":
		return "cases.origin." + field
	}
	return "cases.field." + field
}

// myBookings is the resident's appointments, coming and past.
func myBookings(d *deps) mydata.Source {
	store := booking.NewStore(d.db)
	users := d.auth.Users()
	return func(ctx context.Context, residentID int64) (mydata.Part, error) {
		p := mydata.Part{Key: "mydata.part.bookings"}
		var all []booking.Booking
		for _, upcoming := range []bool{true, false} {
			bs, err := store.ForResident(ctx, residentID, d.now(), upcoming, maxMyData)
			if err != nil {
				return p, err
			}
			all = append(all, bs...)
		}
		ids := make([]int64, len(all))
		for i, b := range all {
			ids[i] = b.AdvisorID
		}
		advisors, err := users.ByIDs(ctx, ids)
		if err != nil {
			return p, err
		}
		for _, b := range all {
			advisor := ""
			if a := advisors[b.AdvisorID]; a != nil {
				advisor = a.Name
			}
			// The advisor's staff note is for staff only (booking's
			// promise): it is not part of what the resident is shown.
			p.Items = append(p.Items, mydata.Item{Fields: []mydata.Field{
				mydata.Time("starts_at", b.StartsAt),
				mydata.Time("ends_at", b.EndsAt),
				mydata.Code("meeting_type", string(b.MeetingType), "booking.type."+string(b.MeetingType)),
				mydata.Code("topic", string(b.Topic), "booking.topic."+string(b.Topic)),
				mydata.Code("status", string(b.Status), "booking.status."+string(b.Status)),
				mydata.Text("advisor", advisor),
				mydata.Text("message", b.Message),
				mydata.Text("contact_phone", b.ContactPhone),
				mydata.Text("visit_address", b.VisitAddress),
				mydata.Text("staff_message", b.StaffMessage),
				mydata.Time("created_at", b.CreatedAt),
				mydata.TimePtr("cancelled_at", b.CancelledAt),
			}})
		}
		return p, nil
	}
}

// myChats is the resident's chats with their full transcripts.
func myChats(d *deps) mydata.Source {
	store := chat.NewStore(d.db, d.now)
	return func(ctx context.Context, residentID int64) (mydata.Part, error) {
		p := mydata.Part{Key: "mydata.part.chats"}
		convs, err := store.ByResident(ctx, residentID, maxMyData)
		if err != nil {
			return p, err
		}
		for _, c := range convs {
			lines, err := store.Transcript(ctx, c.ID)
			if err != nil {
				return p, err
			}
			msgs := mydata.List{Name: "messages"}
			for _, l := range lines {
				msgs.Items = append(msgs.Items, mydata.Item{Fields: []mydata.Field{
					mydata.Time("at", l.At),
					mydata.Code("from", l.SenderRole, "mydata.from."+l.SenderRole),
					mydata.Text("name", l.SenderName),
					mydata.Text("text", l.Body),
				}})
			}
			p.Items = append(p.Items, mydata.Item{Fields: []mydata.Field{
				mydata.Time("started_at", c.CreatedAt),
				mydata.Code("topic", c.Topic, "chat.topic."+c.Topic),
				mydata.Code("status", c.Status, "mydata.chat_status."+c.Status),
				mydata.TimePtr("closed_at", c.ClosedAt),
			}, Lists: []mydata.List{msgs}})
		}
		return p, nil
	}
}

// myThreads is the resident's secure message threads with their messages
// and the attachments' names and sizes.
func myThreads(d *deps) mydata.Source {
	return func(ctx context.Context, residentID int64) (mydata.Part, error) {
		p := mydata.Part{Key: "mydata.part.messages"}
		if d.messages == nil {
			return p, nil
		}
		threads, err := d.messages.ResidentCopy(ctx, residentID)
		if err != nil {
			return p, err
		}
		for _, t := range threads {
			msgs := mydata.List{Name: "messages"}
			for _, m := range t.Messages {
				from := "resident"
				if m.Message.FromStaff {
					from = "advisor"
				}
				files := mydata.List{Name: "attachments"}
				for _, f := range m.Files {
					files.Items = append(files.Items, mydata.Item{Fields: []mydata.Field{mydata.Text("name", f.Name), mydata.Size("size_bytes", f.Size)}})
				}
				msgs.Items = append(msgs.Items, mydata.Item{Fields: []mydata.Field{
					mydata.Time("at", m.Message.CreatedAt),
					mydata.Code("from", from, "mydata.from."+from),
					mydata.Text("name", m.Author),
					mydata.TimePtr("read_at", m.Message.ReadAt),
					mydata.Text("text", m.Message.Body),
				}, Lists: []mydata.List{files}})
			}
			p.Items = append(p.Items, mydata.Item{Fields: []mydata.Field{
				mydata.Text("subject", t.Thread.Subject),
				mydata.Time("started_at", t.Thread.CreatedAt),
				mydata.Time("updated_at", t.Thread.UpdatedAt),
			}, Lists: []mydata.List{msgs}})
		}
		return p, nil
	}
}

// myApplications is the resident's housing-exchange applications (drafts
// too) with their answers and the attachments' names and sizes.
func myApplications(d *deps) mydata.Source {
	store := exchange.NewStore(d.db.Gorm)
	return func(ctx context.Context, residentID int64) (mydata.Part, error) {
		p := mydata.Part{Key: "mydata.part.exchange"}
		apps, err := store.OfResident(ctx, residentID)
		if err != nil {
			return p, err
		}
		for _, a := range apps {
			files := mydata.List{Name: "attachments"}
			if d.files != nil {
				fs, err := d.files.List(ctx, a.Owner())
				if err != nil {
					return p, fmt.Errorf("attachments of application %d: %w", a.ID, err)
				}
				for _, f := range fs {
					files.Items = append(files.Items, mydata.Item{Fields: []mydata.Field{mydata.Text("name", f.Name), mydata.Size("size_bytes", f.Size)}})
				}
			}
			p.Items = append(p.Items, mydata.Item{Fields: []mydata.Field{
				mydata.Text("reference", exchange.Reference(a.ID)),
				mydata.Code("status", string(a.Status), "exchange.status."+string(a.Status)),
				mydata.Time("created_at", a.CreatedAt),
				mydata.TimePtr("sent_at", a.SentAt),
				mydata.Raw("answers", []byte(a.AnswersJSON), func(lang string) string {
					return exchange.AnswersText(d.fe.Translator(lang).T, &a)
				}),
			}, Lists: []mydata.List{files}})
		}
		return p, nil
	}
}
