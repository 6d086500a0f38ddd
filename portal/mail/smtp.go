package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// The TLS modes of an SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which is required (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: only for a relay on the same host or in tests
)

// SMTPConfig is how to reach the mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string // empty: no authentication
	Password string
	TLS      string // TLSStartTLS, TLSImplicit or TLSNone
	From     string // the sender address, optionally with a name: "Asumisneuvonta <noreply@example.fi>"
	Timeout  time.Duration
}

// SMTP delivers mail to an SMTP server with go-mail, one connection per mail.
type SMTP struct {
	cfg  SMTPConfig
	opts []gomail.Option
}

var _ Transport = (*SMTP)(nil)

// NewSMTP checks cfg and returns the transport.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: SMTP host is required")
	}
	if cfg.From == "" {
		return nil, errors.New("mail: sender address is required")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(cfg.Port), gomail.WithTimeout(cfg.Timeout)}
	switch cfg.TLS {
	case TLSStartTLS, "":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("mail: unknown TLS mode %q", cfg.TLS)
	}
	if cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	// Check the options and the sender address once, at start.
	if _, err := gomail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("mail: SMTP client: %w", err)
	}
	if err := gomail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: sender address: %w", err)
	}
	return &SMTP{cfg: cfg, opts: opts}, nil
}

// Send builds the MIME message and delivers it. The Message-ID is derived
// from the outbox row, so a retry after an unrecorded delivery carries the
// same id and receiving systems can recognise the duplicate.
func (s *SMTP) Send(ctx context.Context, m *Stored) error {
	msg, err := s.message(m)
	if err != nil {
		return Permanent(err)
	}
	client, err := gomail.NewClient(s.cfg.Host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.Reason == gomail.ErrSMTPRcptTo {
			return Permanent(fmt.Errorf("mail: recipient refused: %w", err))
		}
		return fmt.Errorf("mail: SMTP send: %w", err)
	}
	return nil
}

func (s *SMTP) message(m *Stored) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("mail: sender: %w", err)
	}
	if err := msg.To(m.Recipient); err != nil {
		return nil, fmt.Errorf("mail: recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(messageID(m, s.cfg.From))
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.BodyText)
	if m.BodyHTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.BodyHTML)
	}
	for _, a := range m.Attachments {
		err := msg.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(a.ContentType)))
		if err != nil {
			return nil, fmt.Errorf("mail: attach %s: %w", a.Name, err)
		}
	}
	return msg, nil
}

// messageID is "outbox-<id>.<created unix>@<sender domain>" (without the
// angle brackets, which go-mail adds).
func messageID(m *Stored, from string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		domain = strings.TrimRight(from[i+1:], ">")
	}
	return "outbox-" + strconv.FormatInt(m.ID, 10) + "." + strconv.FormatInt(m.CreatedAt.Unix(), 10) + "@" + domain
}

// LogTransport is the development transport: it logs that a mail would be
// sent, without any personal data, and leaves the content to the
// development mailbox page.
type LogTransport struct {
	Log *slog.Logger
}

var _ Transport = LogTransport{}

// Send logs the mail's id, recipient domain and subject key.
func (t LogTransport) Send(_ context.Context, m *Stored) error {
	if t.Log != nil {
		t.Log.Info("mail not sent (development): see /dev/mailbox", "mail_id", m.ID,
			"to_domain", m.RecipientDomain(), "subject_key", m.SubjectKey, "attachments", len(m.Attachments))
	}
	return nil
}
