package main

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/booking"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/exchange"
)

// wireCases builds the client cases, mounts their routes and sections.
// The case's timeline shows the resident's appointments, chats,
// applications and message threads, which it gets from here: cases
// imports no other feature.
func wireCases(app *fiber.App, d *deps) (func(context.Context) error, error) {
	svc := cases.New(cases.Options{
		DB: d.db, Users: d.auth.Users(), Regions: d.regions, Frontend: d.fe, Audit: d.audit,
		Location: d.cfg.Location, Now: d.now, Log: d.log, Activities: residentActivities(d),
	})
	svc.Register(app)
	d.home.AddMySection(svc.MySection)
	d.desk.AddSection(svc.DeskSection)
	d.desk.AddSection(svc.CrisisDeskSection)
	return func(context.Context) error { return nil }, nil
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
