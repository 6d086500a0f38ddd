package chat

import (
	"context"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// ThreadStarter continues a chat as a secure message thread. The messages
// feature implements it and cmd/portal wires it in: the import goes one
// way, and chat knows nothing of messages but this.
type ThreadStarter interface {
	// StartFromChat opens a thread for the resident whose first message is
	// the transcript: from the advisor, or from the resident when
	// advisorID is 0. It returns the thread's id.
	StartFromChat(ctx context.Context, residentID, advisorID int64, subject, transcript string) (int64, error)
}

// threadText is a closed conversation's transcript as plain text: a line
// per message, with its time and sender.
func (s *Service) threadText(ctx context.Context, cv *Conversation, lang string) (subject, text string, err error) {
	msgs, err := s.transcript(ctx, cv)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	b.WriteString(s.fe.T(lang, "chat.thread.intro", map[string]any{"When": cv.CreatedAt.In(s.loc).Format("2.1.2006 15.04")}))
	b.WriteString("\n\n")
	for _, m := range msgs {
		if m.Kind != KindText {
			continue
		}
		who := m.SenderName
		if who == "" {
			who = s.fe.T(lang, "chat.thread.resident")
		}
		b.WriteString(m.CreatedAt.In(s.loc).Format("15.04") + " " + who + ": " + m.Body + "\n")
	}
	return s.fe.T(lang, "chat.thread.subject", map[string]any{"Topic": s.fe.T(lang, "chat.topic."+cv.Topic)}), b.String(), nil
}

// continueAsThread turns a closed chat of a logged-in resident into a
// message thread and sends the person to it.
func (s *Service) continueAsThread(c *fiber.Ctx, staff bool) error {
	if s.threads == nil {
		return fiber.ErrNotFound
	}
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	if cv.Status != statusClosed || cv.ResidentID == nil {
		return problem.E(problem.Conflict, "chat.thread.not_possible")
	}
	ctx := c.UserContext()
	subject, text, err := s.threadText(ctx, cv, frontend.Lang(c))
	if err != nil {
		return err
	}
	var advisor int64
	if staff {
		advisor = p.UserID
	}
	id, err := s.threads.StartFromChat(ctx, *cv.ResidentID, advisor, subject, text)
	if err != nil {
		return err
	}
	if staff {
		return c.Redirect("/desk/messages/"+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
	}
	return c.Redirect("/messages/"+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
}
