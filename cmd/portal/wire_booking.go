package main

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/booking"
	portalmail "github.com/asumisneuvonta/asumisneuvonta-portal/portal/mail"
)

// bookingConfig is the booking's and the outgoing mail's part of Config.
type bookingConfig struct {
	Booking          booking.Config
	ReminderInterval time.Duration
	SMTP             portalmail.SMTPConfig // Host "" means: log mail and show it at /dev/mailbox
	MailMaxAttempts  int
	MailRetention    time.Duration
}

// loadBookingConfig reads PORTAL_BOOKING_*, PORTAL_SMTP_* and
// PORTAL_MAIL_*. Production must send real mail: it refuses to start
// without an SMTP server and a sender address, and without encryption
// unless the server is on the same host.
func loadBookingConfig(r *envReader) bookingConfig {
	prod := r.get("PORTAL_ENV") == "production"
	def, mdef := booking.DefaultConfig(), portalmail.DefaultSenderConfig()
	c := bookingConfig{
		Booking: booking.Config{
			Weeks:          r.integer("PORTAL_BOOKING_WEEKS", def.Weeks, 1, 26),
			MinNotice:      r.duration("PORTAL_BOOKING_MIN_NOTICE", def.MinNotice),
			ChangeNotice:   r.duration("PORTAL_BOOKING_CHANGE_NOTICE", def.ChangeNotice),
			ReminderBefore: r.duration("PORTAL_BOOKING_REMINDER_BEFORE", def.ReminderBefore),
			MessageMax:     r.integer("PORTAL_BOOKING_MESSAGE_MAX", def.MessageMax, 100, 10000),
			MaxUpcoming:    r.integer("PORTAL_BOOKING_MAX_UPCOMING", def.MaxUpcoming, 1, 100),
		},
		ReminderInterval: r.duration("PORTAL_BOOKING_REMINDER_INTERVAL", time.Minute),
		SMTP: portalmail.SMTPConfig{
			Host:     r.str("PORTAL_SMTP_HOST", ""),
			Username: r.str("PORTAL_SMTP_USERNAME", ""),
			Password: r.secret("PORTAL_SMTP_PASSWORD"),
			TLS:      r.oneOf("PORTAL_SMTP_TLS", portalmail.TLSStartTLS, portalmail.TLSStartTLS, portalmail.TLSImplicit, portalmail.TLSNone),
			From:     r.str("PORTAL_MAIL_FROM", ""),
		},
		MailMaxAttempts: r.integer("PORTAL_MAIL_MAX_ATTEMPTS", mdef.MaxAttempts, 1, 100),
		MailRetention:   r.duration("PORTAL_MAIL_RETENTION", mdef.Retention),
	}
	defaultPort := map[string]int{portalmail.TLSStartTLS: 587, portalmail.TLSImplicit: 465, portalmail.TLSNone: 25}[c.SMTP.TLS]
	c.SMTP.Port = r.integer("PORTAL_SMTP_PORT", defaultPort, 1, 65535)
	if c.SMTP.From == "" && !prod {
		c.SMTP.From = "Asumisneuvonta <noreply@asumisneuvonta.invalid>"
	}
	if c.SMTP.From != "" {
		addr, err := mail.ParseAddress(c.SMTP.From)
		if err != nil {
			r.fail("PORTAL_MAIL_FROM", "want an address such as \"Asumisneuvonta <noreply@example.fi>\", got %q", c.SMTP.From)
		} else {
			c.Booking.Organizer = addr.Address
		}
	}
	if (c.SMTP.Username == "") != (c.SMTP.Password == "") {
		r.fail("PORTAL_SMTP_USERNAME", "set both PORTAL_SMTP_USERNAME and PORTAL_SMTP_PASSWORD, or neither")
	}
	if c.SMTP.Host == "" && (c.SMTP.Username != "" || r.get("PORTAL_SMTP_PORT") != "") {
		r.fail("PORTAL_SMTP_HOST", "is needed when other PORTAL_SMTP_* variables are set")
	}
	if prod {
		if c.SMTP.Host == "" {
			r.fail("PORTAL_SMTP_HOST", "is required in production: booking confirmations and reminders are sent by e-mail")
		}
		if c.SMTP.From == "" {
			r.fail("PORTAL_MAIL_FROM", "is required in production (the sender address of the portal's mail)")
		}
		if c.SMTP.TLS == portalmail.TLSNone && !loopback(c.SMTP.Host) {
			r.fail("PORTAL_SMTP_TLS", "none is allowed in production only for a mail relay on the same host")
		}
	}
	return c
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// wireMail builds the outbox every feature queues mail in and the sender
// that delivers it, and starts the sender. The returned stop ends it.
func wireMail(app *fiber.App, d *deps) (func(context.Context) error, error) {
	cfg := d.cfg.Booking
	d.outbox = portalmail.NewOutbox(d.db.Gorm, d.now)
	var transport portalmail.Transport = portalmail.LogTransport{Log: d.log}
	if cfg.SMTP.Host != "" {
		t, err := portalmail.NewSMTP(cfg.SMTP)
		if err != nil {
			return nil, fmt.Errorf("PORTAL_SMTP_*: %w", err)
		}
		transport = t
	}
	sender := portalmail.NewSender(d.db, transport, portalmail.SenderConfig{
		MaxAttempts: cfg.MailMaxAttempts, Retention: cfg.MailRetention,
	}, d.now, d.log)
	d.wakeMail = sender.Wake
	if !d.cfg.Production() {
		d.outbox.RegisterDevMailbox(app, d.fe)
	}
	return background("mail sender", sender.Run), nil
}

// background runs fn until the returned stop is called, and the stop waits
// for it to return (or for the stop's deadline).
func background(what string, fns ...func(context.Context)) func(context.Context) error {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
		}()
	}
	return func(stopCtx context.Context) error {
		cancel()
		done := make(chan struct{})
		go func() {
			wg.Wait()
			close(done)
		}()
		select {
		case <-done:
			return nil
		case <-stopCtx.Done():
			return fmt.Errorf("%s did not stop in time: %w", what, stopCtx.Err())
		}
	}
}

// wireBooking builds the booking, mounts its routes and the sections of
// "Oma asiointi" and the desk, and starts the reminder job. The returned
// stop ends it.
func wireBooking(app *fiber.App, d *deps) (func(context.Context) error, error) {
	cfg := d.cfg.Booking
	bc := cfg.Booking
	bc.PublicURL = d.cfg.PublicURL
	svc := booking.New(booking.Options{
		DB: d.db, Users: d.auth.Users(), Regions: d.regions, Frontend: d.fe, Audit: d.audit, Outbox: d.outbox,
		WakeMail: d.wakeMail, Config: bc, Location: d.cfg.Location, Now: d.now, Log: d.log,
	})
	if d.cfg.DemoData {
		if err := booking.SeedDemo(context.Background(), d.db, d.now()); err != nil {
			return nil, err
		}
	}
	svc.Register(app, d.formLimit)
	d.home.AddMySection(svc.MySection)
	d.desk.AddSection(svc.DeskSection)
	return background("booking reminders", func(ctx context.Context) { svc.RunReminders(ctx, cfg.ReminderInterval) }), nil
}
