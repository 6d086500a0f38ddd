package main

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/booking"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/contact"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/exchange"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// casesConfig is the client cases' part of Config.
type casesConfig struct {
	// OverdueMail sends a resident a content-free notice when their
	// payment plan falls behind.
	OverdueMail bool
	Interval    time.Duration // how often plans are looked at for notices
	Retention   time.Duration // a closed case's personal data is kept this long, then an admin may erase it

	// OutreachMinEuros and OutreachMinMonths are the landlord's early
	// warning's threshold: a tenant of the arrears list with at least this
	// much arrears, or this many months behind, becomes an outreach task.
	OutreachMinEuros  int
	OutreachMinMonths int
}

// loadCasesConfig reads PORTAL_CASES_*.
func loadCasesConfig(r *envReader) casesConfig {
	return casesConfig{
		OverdueMail: r.boolean("PORTAL_CASES_OVERDUE_MAIL", false),
		Interval:    r.duration("PORTAL_CASES_INTERVAL", time.Hour),
		Retention:   r.duration("PORTAL_CASE_RETENTION", cases.DefaultRetention),

		OutreachMinEuros:  r.integer("PORTAL_OUTREACH_MIN_ARREARS", cases.DefaultOutreachMinCents/100, 1, 1_000_000),
		OutreachMinMonths: r.integer("PORTAL_OUTREACH_MIN_MONTHS", cases.DefaultOutreachMinMonths, 1, 120),
	}
}

// wireCases builds the client cases, mounts their routes and sections.
// The case's timeline shows the resident's appointments, chats,
// applications and message threads, which it gets from here: cases
// imports no other feature.
func wireCases(app *fiber.App, d *deps) (func(context.Context) error, error) {
	cfg := d.cfg.Cases
	var overdue *cases.OverdueMail
	if cfg.OverdueMail {
		overdue = &cases.OverdueMail{Outbox: d.outbox, PublicURL: d.cfg.PublicURL, Wake: d.wakeMail}
	}
	svc := cases.New(cases.Options{
		DB: d.db, Users: d.auth.Users(), Regions: d.regions, Frontend: d.fe, Audit: d.audit,
		Location: d.cfg.Location, Now: d.now, Log: d.log, Activities: residentActivities(d), Origins: caseOrigins{d},
		ChannelStats: caseChannels{d}, OverdueMail: overdue, Retention: cfg.Retention,
		OutreachMinCents: int64(cfg.OutreachMinEuros) * 100, OutreachMinMonths: cfg.OutreachMinMonths,
	})
	svc.Register(app)
	d.home.AddMySection(svc.MySection)
	d.desk.AddSection(svc.DeskSection)
	d.desk.AddSection(svc.CrisisDeskSection)
	d.desk.AddSection(svc.OutreachDeskSection)
	jobs := []func(context.Context){func(ctx context.Context) { svc.RunOutreachSweep(ctx, 24*time.Hour) }}
	if overdue != nil {
		jobs = append(jobs, func(ctx context.Context) { svc.RunOverdueNotices(ctx, cfg.Interval) })
	}
	return background("outreach retention and overdue notices", jobs...), nil
}

// residentActivities lists a resident's items in the other features, for
// the case's timeline: through their exported stores and services.
func residentActivities(d *deps) func(ctx context.Context, residentID int64) ([]cases.Activity, error) {
	bookings := booking.NewStore(d.db)
	chats := chat.NewStore(d.db, d.now)
	applications := exchange.NewStore(d.db.Gorm)
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	return func(ctx context.Context, residentID int64) ([]cases.Activity, error) {
		var out []cases.Activity
		for _, upcoming := range []bool{true, false} {
			bs, err := bookings.ForResident(ctx, residentID, d.now(), upcoming, 20)
			if err != nil {
				return nil, err
			}
			for _, b := range bs {
				out = append(out, cases.Activity{When: b.StartsAt, Kind: "booking", NoteKey: "booking.status." + string(b.Status), URL: "/desk/booking/" + id(b.ID)})
			}
		}
		cs, err := chats.ByResident(ctx, residentID, 20)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out = append(out, cases.Activity{When: c.CreatedAt, Kind: "chat", NoteKey: "chat.topic." + c.Topic, URL: "/chat/desk/c/" + id(c.ID)})
		}
		apps, err := applications.OfResident(ctx, residentID)
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			if a.Sent() {
				out = append(out, cases.Activity{When: *a.SentAt, Kind: "exchange", Note: exchange.Reference(a.ID), URL: "/desk/exchange/" + id(a.ID)})
			}
		}
		if d.contact != nil {
			rs, err := contact.NewStore(d.db.Gorm).OfResident(ctx, residentID, 20)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				out = append(out, cases.Activity{When: r.CreatedAt, Kind: "contact", Note: r.Reference, URL: "/desk/contact/" + id(r.ID)})
			}
		}
		if d.messages != nil {
			ts, err := d.messages.ResidentThreads(ctx, residentID, 20)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				out = append(out, cases.Activity{When: t.UpdatedAt, Kind: "messages", Note: t.Subject, URL: "/desk/messages/" + id(t.ID)})
			}
		}
		return out, nil
	}
}

// caseOrigins finds the contact requests, chats, appointments and
// applications advisors open cases from, through the features' exported
// services and stores.
type caseOrigins struct{ d *deps }

// errNoOrigin answers an item that does not exist or is another region's.
var errNoOrigin = problem.E(problem.NotFound, "cases.error.not_found")

// Origin implements cases.Origins.
func (o caseOrigins) Origin(ctx context.Context, kind string, id int64) (*cases.Origin, error) {
	d := o.d
	switch kind {
	case "contact":
		if d.contact == nil {
			return nil, errNoOrigin
		}
		r, err := d.contact.ForStaff(ctx, id) // the request's region, and the access log
		if err != nil {
			return nil, err
		}
		out := &cases.Origin{Reference: r.Reference, Name: r.ResidentName, StreetAddress: r.StreetAddress, PostalCode: r.PostalCode,
			Phone: r.ResidentPhone, Reason: concernReasons[r.Concern], Referrer: senderReferrers[r.SenderKind]}
		if r.ResidentID != nil {
			out.ResidentID = *r.ResidentID
		}
		if r.EvictionOn != nil {
			out.EvictionDate = r.EvictionOn.Format("2006-01-02")
		}
		return out, nil
	case "chat":
		c, err := chat.NewStore(d.db, d.now).Conversation(ctx, id)
		if err != nil || c.ResidentID == nil {
			return nil, errNoOrigin // a guest's chat names nobody to open a case for
		}
		if err := o.mayHandle(ctx, c.RegionID); err != nil {
			return nil, err
		}
		return &cases.Origin{ResidentID: *c.ResidentID, Reason: topicReasons[c.Topic], Referrer: "resident"}, nil
	case "booking":
		b, err := booking.NewStore(d.db).ByID(ctx, id)
		if err != nil {
			return nil, errNoOrigin
		}
		if err := o.mayHandle(ctx, &b.RegionID); err != nil {
			return nil, err
		}
		return &cases.Origin{ResidentID: b.ResidentID, Reason: topicReasons[string(b.Topic)], Referrer: "resident"}, nil
	case "exchange":
		a, err := exchange.NewStore(d.db.Gorm).Get(ctx, id)
		if err != nil || !a.Sent() {
			return nil, errNoOrigin
		}
		if err := o.mayHandle(ctx, a.RegionID); err != nil {
			return nil, err
		}
		return &cases.Origin{ResidentID: a.ResidentID, Reason: "exchange", Referrer: "resident", Reference: exchange.Reference(a.ID)}, nil
	}
	return nil, errNoOrigin
}

// mayHandle lets an admin open a case from any item, an advisor from her
// region's.
func (o caseOrigins) mayHandle(ctx context.Context, region *int64) error {
	act := auth.ActorFrom(ctx)
	if act.Role == auth.RoleAdmin {
		return nil
	}
	u, err := o.d.auth.Users().ByID(ctx, act.UserID)
	if err != nil {
		return err
	}
	if act.Role == auth.RoleAdvisor && u.RegionID != nil && region != nil && *u.RegionID == *region {
		return nil
	}
	return errNoOrigin
}

// Opened implements cases.Origins: a contact request about someone is
// linked to the resident, so that it shows on their timeline.
func (o caseOrigins) Opened(ctx context.Context, origin *cases.Origin, residentID, caseID int64) error {
	if origin.Kind == "contact" && o.d.contact != nil {
		return o.d.contact.LinkResident(ctx, origin.ID, residentID)
	}
	return nil
}

// The case's reason and referrer that an item's own codes suggest; codes
// without an obvious match are left for the advisor to choose.
var (
	concernReasons  = map[string]string{"rent_debt": "rent_debt", "upkeep": "upkeep", "disturbance": "disturbances", "not_coping": "not_coping", "something_else": "something_else"}
	senderReferrers = map[string]string{"self": "resident", "relative": "relative_neighbour", "neighbour": "relative_neighbour", "housing": "property_staff", "someone_else": "someone_else"}
	topicReasons    = map[string]string{"rent_debt": "rent_debt", "exchange": "exchange", "upkeep": "upkeep", "coping": "not_coping"}
)

// caseChannels answers the statistics' figures of the other channels for
// cases, each from its own feature's store.
type caseChannels struct{ d *deps }

// Chats implements cases.ChannelStats.
func (c caseChannels) Chats(ctx context.Context, q cases.StatsQuery) (cases.ChatWaits, error) {
	w, err := chat.NewStore(c.d.db, c.d.now).Waits(ctx, q.From, q.To, q.RegionID)
	return cases.ChatWaits{Started: w.Started, Seconds: w.Seconds}, err
}

// Appointments implements cases.ChannelStats.
func (c caseChannels) Appointments(ctx context.Context, q cases.StatsQuery) ([]cases.Count, error) {
	m, err := booking.NewStore(c.d.db).StatusCounts(ctx, q.From, q.To, q.RegionID)
	if err != nil {
		return nil, err
	}
	out := make([]cases.Count, 0, len(m))
	for status, n := range m {
		out = append(out, cases.Count{Code: string(status), N: n})
	}
	return out, nil
}

// FirstContacts implements cases.ChannelStats: the earliest of each
// resident's first chat, first booking and first contact request.
func (c caseChannels) FirstContacts(ctx context.Context, residentIDs []int64) (map[int64]time.Time, error) {
	chats, err := chat.NewStore(c.d.db, c.d.now).FirstChats(ctx, residentIDs)
	if err != nil {
		return nil, err
	}
	booked, err := booking.NewStore(c.d.db).FirstBooked(ctx, residentIDs)
	if err != nil {
		return nil, err
	}
	firsts := []map[int64]time.Time{chats, booked}
	if c.d.contact != nil {
		requests, err := contact.NewStore(c.d.db.Gorm).FirstRequests(ctx, residentIDs)
		if err != nil {
			return nil, err
		}
		firsts = append(firsts, requests)
	}
	out := make(map[int64]time.Time)
	for _, m := range firsts {
		for id, t := range m {
			if first, ok := out[id]; !ok || t.Before(first) {
				out[id] = t
			}
		}
	}
	return out, nil
}

// Meetings implements cases.ChannelStats.
func (c caseChannels) Meetings(ctx context.Context, residentIDs []int64, since time.Time) (map[int64][]time.Time, error) {
	return booking.NewStore(c.d.db).Met(ctx, residentIDs, since)
}
