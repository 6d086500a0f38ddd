package main

import (
	"context"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/booking"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/contact"
)

// contactConfig is the contact request's part of Config.
type contactConfig struct {
	Contact contact.Config
	// Interval is how often closed requests past their retention are
	// anonymised.
	Interval time.Duration
}

// loadContactConfig reads PORTAL_CONTACT_*.
func loadContactConfig(r *envReader) contactConfig {
	def := contact.DefaultConfig()
	c := contactConfig{
		Contact: contact.Config{
			Retention:    r.duration("PORTAL_CONTACT_RETENTION", def.Retention),
			MinFill:      r.duration("PORTAL_CONTACT_MIN_FILL", def.MinFill),
			MaxFormAge:   r.duration("PORTAL_CONTACT_MAX_FORM_AGE", def.MaxFormAge),
			TargetLimit:  r.integer("PORTAL_CONTACT_TARGET_LIMIT", def.TargetLimit, 1, 1000),
			TargetWindow: def.TargetWindow,
		},
		Interval: time.Hour,
	}
	if c.Contact.MaxFormAge <= c.Contact.MinFill {
		r.fail("PORTAL_CONTACT_MAX_FORM_AGE", "must be longer than PORTAL_CONTACT_MIN_FILL")
	}
	return c
}

// wireContact builds the contact requests, mounts their routes and the
// desk's section, and starts the retention job. The desk's page of a
// request a logged-in resident sent about themself links to the
// resident's appointments and chats, which it finds through the booking's
// and the chat's stores: contact imports neither.
func wireContact(app *fiber.App, d *deps) (func(context.Context) error, error) {
	cfg := d.cfg.Contact
	bookings := booking.NewStore(d.db)
	chats := chat.NewStore(d.db, d.now)
	links := func(ctx context.Context, residentID int64) ([]contact.Link, error) {
		var out []contact.Link
		bs, err := bookings.ForResident(ctx, residentID, d.now(), true, 3)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			out = append(out, contact.Link{URL: "/desk/booking/" + strconv.FormatInt(b.ID, 10), Kind: "booking", When: b.StartsAt})
		}
		cs, err := chats.ByResident(ctx, residentID, 3)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out = append(out, contact.Link{URL: "/chat/desk/c/" + strconv.FormatInt(c.ID, 10), Kind: "chat", When: c.CreatedAt})
		}
		return out, nil
	}
	svc := contact.New(contact.Options{
		DB: d.db, Users: d.auth.Users(), Regions: d.regions, Frontend: d.fe, Audit: d.audit,
		Outbox: d.outbox, WakeMail: d.wakeMail, SecretKey: d.cfg.SecretKey, Links: links,
		Config: cfg.Contact, Location: d.cfg.Location, Now: d.now, Log: d.log,
	})
	svc.Register(app, d.formLimit)
	d.desk.AddSection(svc.DeskSection)
	d.contact = svc
	return background("contact request retention", func(ctx context.Context) { svc.RunRetention(ctx, cfg.Interval) }), nil
}
