package main

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/messages"
)

// messagesConfig is the secure messages' part of Config.
type messagesConfig struct {
	Messages messages.Config
	Interval time.Duration // how often reminders are looked for
}

// loadMessagesConfig reads PORTAL_MESSAGES_*.
func loadMessagesConfig(r *envReader) messagesConfig {
	def := messages.DefaultConfig()
	c := messagesConfig{
		Messages: messages.Config{
			Limits:        r.fileLimits("PORTAL_MESSAGES", def.Limits, 20),
			ReminderAfter: r.duration("PORTAL_MESSAGES_REMINDER_AFTER", def.ReminderAfter),
		},
		Interval: r.duration("PORTAL_MESSAGES_INTERVAL", 10*time.Minute),
	}
	return c
}

// wireMessages builds the secure messages, mounts their routes, sections
// and header links, and starts the reminders. The chat continues ended
// chats as threads through d.messages (wired in wireChat as an interface).
func wireMessages(app *fiber.App, d *deps) (func(context.Context) error, error) {
	cfg := d.cfg.Messages
	mc := cfg.Messages
	mc.PublicURL = d.cfg.PublicURL
	d.messages = messages.New(messages.Options{
		DB: d.db, Users: d.auth.Users(), Regions: d.regions, Files: d.files, Frontend: d.fe, Audit: d.audit,
		Outbox: d.outbox, WakeMail: d.wakeMail, CSRF: d.auth.CSRFValid, Config: mc, Now: d.now, Log: d.log,
	})
	d.auth.StreamedUploads(messages.UploadPaths...)
	d.messages.Register(app, d.formLimit)
	d.home.AddMySection(d.messages.MySection)
	d.desk.AddSection(d.messages.DeskSection)
	for _, l := range d.messages.HeaderLinks() {
		if err := d.fe.AddHeaderLink(l); err != nil {
			return nil, err
		}
	}
	return background("message reminders", func(ctx context.Context) { d.messages.RunReminders(ctx, cfg.Interval) }), nil
}

// chatThreads lets the chat continue ended chats as message threads
// without importing the messages feature; d.messages exists by the time a
// request comes.
type chatThreads struct{ d *deps }

func (t chatThreads) StartFromChat(ctx context.Context, residentID, advisorID int64, subject, transcript string) (int64, error) {
	return t.d.messages.StartFromChat(ctx, residentID, advisorID, subject, transcript)
}
