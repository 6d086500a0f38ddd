package mail

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// mailboxSize is how many of the newest mails the development mailbox lists.
const mailboxSize = 100

// RegisterDevMailbox mounts the development mailbox, which shows the mail
// the portal would have sent. main mounts it only outside production: it
// shows every mail to whoever asks.
func (o *Outbox) RegisterDevMailbox(r fiber.Router, fe *frontend.Frontend) {
	// The newest mails.
	r.Get("/dev/mailbox", o.handleMailbox(fe))
	// One mail with its text and attachments.
	r.Get("/dev/mailbox/:id<int>", o.handleMessage(fe))
	r.Get("/dev/mailbox/:id<int>/attachments/:aid<int>", o.handleAttachment)
}

func (o *Outbox) handleMailbox(fe *frontend.Frontend) fiber.Handler {
	return func(c *fiber.Ctx) error {
		list, err := o.Recent(c.UserContext(), mailboxSize)
		if err != nil {
			return err
		}
		return fe.Render(c, fiber.StatusOK, "mail/mailbox", frontend.Page{TitleKey: "mail.mailbox.title", Data: list})
	}
}

func (o *Outbox) handleMessage(fe *frontend.Frontend) fiber.Handler {
	return func(c *fiber.Ctx) error {
		m, err := o.load(c)
		if err != nil {
			return err
		}
		return fe.Render(c, fiber.StatusOK, "mail/message", frontend.Page{TitleKey: "mail.mailbox.message_title", Data: m})
	}
}

func (o *Outbox) handleAttachment(c *fiber.Ctx) error {
	m, err := o.load(c)
	if err != nil {
		return err
	}
	aid, err := strconv.ParseInt(c.Params("aid"), 10, 64)
	if err != nil {
		return fiber.ErrNotFound
	}
	for _, a := range m.Attachments {
		if a.ID == aid {
			c.Set(fiber.HeaderContentType, a.ContentType)
			c.Set(fiber.HeaderCacheControl, "no-store")
			c.Attachment(a.Name)
			return c.Send(a.Data)
		}
	}
	return fiber.ErrNotFound
}

func (o *Outbox) load(c *fiber.Ctx) (*Stored, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, fiber.ErrNotFound
	}
	m, err := o.ByID(c.UserContext(), id)
	if errors.Is(err, ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	return m, err
}
