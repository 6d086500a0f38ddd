package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// The chat desk's pages: what advisors and admins see and do.

// DeskSection is the chat's block on the advisor's desk: their status, the
// number waiting, their open chats and a link to the chat desk. It matches
// frontend.SectionFunc.
func (s *Service) DeskSection(c *fiber.Ctx) (frontend.Section, error) {
	sec := frontend.Section{TitleKey: "chat.desk.title", Template: "chat/desk-section"}
	u := auth.CurrentUser(c)
	if u == nil || !u.Role.Staff() {
		return sec, nil
	}
	ctx := c.UserContext()
	q, err := s.store.Queue(ctx)
	if err != nil {
		return sec, err
	}
	states, err := s.store.Advisors(ctx, []int64{u.ID}, s.cfg.Capacity)
	if err != nil {
		return sec, err
	}
	active, err := s.store.ByAdvisor(ctx, u.ID, statusActive)
	if err != nil {
		return sec, err
	}
	sec.Data = deskSectionData{Waiting: len(q), State: states[u.ID], Active: active}
	return sec, nil
}

// deskSectionData is the Data of the chat/desk-section template.
type deskSectionData struct {
	Waiting int
	State   AdvisorState
	Active  []Conversation
}

// deskData is the Data of chat/desk.
type deskData struct {
	State    AdvisorState // the effective status; Absent explains an "away" they did not choose
	Queue    []queueItem
	Active   []Conversation
	Statuses []string
	Socket   string
	// RegionNames maps the region codes of the queue to their names in
	// the page's language.
	RegionNames map[string]string
}

func (s *Service) handleDesk(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p := s.principal(c)
	// Opening the desk is being at it; a presence that has lapsed stays
	// lapsed, and the page says so (DeskData.State.Absent).
	if err := s.store.Touch(ctx, []int64{p.UserID}); err != nil {
		return err
	}
	states, err := s.store.Advisors(ctx, []int64{p.UserID}, s.cfg.Capacity)
	if err != nil {
		return err
	}
	q, err := s.store.Queue(ctx)
	if err != nil {
		return err
	}
	active, err := s.store.ByAdvisor(ctx, p.UserID, statusActive)
	if err != nil {
		return err
	}
	rs, err := s.regions.List(ctx)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(rs))
	for _, r := range rs {
		names[r.Code] = r.Name(frontend.Lang(c))
	}
	d := deskData{
		State: states[p.UserID], Queue: s.queueItems(q, p.RegionID, s.now(), s.regionNames(ctx), ""),
		Active: active, Statuses: []string{AdvisorAvailable, advisorBusy, advisorAway}, Socket: s.socketURL(),
		RegionNames: names,
	}
	return s.fe.Render(c, fiber.StatusOK, "chat/desk", frontend.Page{TitleKey: "chat.desk.title", Data: d})
}

// handleDeskQueue answers the advisor's queue as the socket's queue frame
// (see PROTOCOL.md). The desk asks for it after each (re)connect: queue
// changes made while its socket was away are not replayed.
func (s *Service) handleDeskQueue(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p := s.principal(c)
	q, err := s.store.Queue(ctx)
	if err != nil {
		return err
	}
	avail, err := s.store.AvailableAdvisors(ctx)
	if err != nil {
		return err
	}
	states, err := s.store.Advisors(ctx, []int64{p.UserID}, s.cfg.Capacity)
	if err != nil {
		return err
	}
	a := states[p.UserID]
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(queueFrame{
		Type: typeQueue, Available: avail, CanAccept: a.CanAccept(), Status: a.Status, Active: a.Active, Capacity: a.Capacity,
		Items: s.queueItems(q, p.RegionID, s.now(), s.regionNames(ctx), ""),
	})
}

func (s *Service) handleStatus(c *fiber.Ctx) error {
	p := s.principal(c)
	st := c.FormValue("status")
	if st != AdvisorAvailable && st != advisorBusy && st != advisorAway {
		return problem.E(problem.Invalid, "")
	}
	if err := s.store.SetStatus(c.UserContext(), p.UserID, st); err != nil {
		return err
	}
	s.openNow.forget()
	s.hub.queueChanged()
	return c.Redirect("/chat/desk", fiber.StatusSeeOther)
}

// handleNext accepts the longest-waiting chat of the advisor's own region,
// or of any region when theirs has none waiting.
func (s *Service) handleNext(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p := s.principal(c)
	q, err := s.store.Queue(ctx)
	if err != nil {
		return err
	}
	items := s.queueItems(q, p.RegionID, s.now(), nil, "")
	for _, it := range items {
		msg, err := s.store.Accept(ctx, it.Conv, p, s.cfg.Capacity)
		if errors.Is(err, errConflict) {
			continue // taken meanwhile: the next one
		}
		if err != nil {
			return err
		}
		if err := s.logAccept(ctx, it.Conv); err != nil {
			return err
		}
		s.hub.publishMessage(msg, false)
		s.hub.queueChanged()
		return c.Redirect("/chat/desk/c/"+strconv.FormatInt(it.Conv, 10), fiber.StatusSeeOther)
	}
	s.fe.Flash(c, "chat.desk.queue_empty")
	return c.Redirect("/chat/desk", fiber.StatusSeeOther)
}

// logAccept writes the access log for an accepted chat of a logged-in
// resident: accepting shows the advisor who is asking.
func (s *Service) logAccept(ctx context.Context, id int64) error {
	cv, err := s.store.Conversation(ctx, id)
	if err != nil {
		return err
	}
	return s.logRead(ctx, cv, audit.ChatAccept, audit.ReasonChatService)
}

func (s *Service) convID(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return 0, errNotFound
	}
	return id, nil
}

func (s *Service) handleAccept(c *fiber.Ctx) error {
	id, err := s.convID(c)
	if err != nil {
		return err
	}
	msg, err := s.store.Accept(c.UserContext(), id, s.principal(c), s.cfg.Capacity)
	if err != nil {
		return err
	}
	if err := s.logAccept(c.UserContext(), id); err != nil {
		return err
	}
	s.hub.publishMessage(msg, false)
	s.hub.queueChanged()
	return c.Redirect("/chat/desk/c/"+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
}

func (s *Service) handleDeskConversation(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	// Opening a live chat serves the resident; opening an ended one reads
	// its transcript. Either is logged once per opening.
	action, reason := audit.ChatOpen, audit.ReasonChatService
	if cv.Status == statusClosed {
		action, reason = audit.ChatTranscript, audit.ReasonChatHistory
	}
	if err := s.logRead(ctx, cv, action, reason); err != nil {
		return err
	}
	d, err := s.conversationData(ctx, cv, p)
	if err != nil {
		return err
	}
	d.CanThread = s.threads != nil && cv.Status == statusClosed && cv.ResidentID != nil
	if d.Notes, err = s.store.Notes(ctx, cv.ID); err != nil {
		return err
	}
	if d.Replies, err = s.store.Replies(ctx, cv.Lang); err != nil {
		return err
	}
	if d.Staff, err = s.store.Staff(ctx); err != nil {
		return err
	}
	d.Staff = slices.DeleteFunc(d.Staff, func(m staffMember) bool { return m.ID == p.UserID })
	_, rs, err := s.availability(ctx, frontend.Lang(c))
	if err != nil {
		return err
	}
	for _, r := range rs {
		d.Regions = append(d.Regions, frontend.Option{Value: strconv.FormatInt(r.ID, 10), Label: r.Name(frontend.Lang(c))})
	}
	d.Outcomes = outcomes
	d.CanClose = cv.Status == statusActive || (cv.Status == statusClosed && cv.Outcome == outcomeEndedByResident)
	d.CanWrite = cv.Status == statusActive
	if cv.ResidentID != nil {
		if d.Resident, err = s.store.FullName(ctx, *cv.ResidentID); err != nil {
			return err
		}
	}
	return s.fe.Render(c, fiber.StatusOK, "chat/desk-conversation", frontend.Page{TitleKey: "chat.conversation.title", Data: d})
}

func (s *Service) handleNote(c *fiber.Ctx) error {
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	body, code := cleanBody(strings.Clone(c.FormValue("note")), s.cfg.Limits.MaxMessage)
	back := "/chat/desk/c/" + strconv.FormatInt(cv.ID, 10)
	if code != "" {
		return c.Redirect(back+"#notes", fiber.StatusSeeOther)
	}
	n := &note{ConversationID: cv.ID, AuthorID: p.UserID, Body: body}
	if err := s.store.AddNote(c.UserContext(), n); err != nil {
		return err
	}
	s.hub.publishEphemeral(cv.ID, mustJSON(noteFrame{Type: typeNote, Conv: cv.ID, ID: n.ID,
		Author: p.Name, Body: n.Body, At: n.CreatedAt}), true, nil)
	return c.Redirect(back+"#notes", fiber.StatusSeeOther)
}

func (s *Service) handleTransfer(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	var msg *message
	if v := c.FormValue("advisor"); v != "" {
		to, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return problem.E(problem.Invalid, "")
		}
		msg, err = s.store.TransferToAdvisor(ctx, cv.ID, p, to, s.cfg.Capacity)
	} else {
		region, _ := strconv.ParseInt(c.FormValue("region"), 10, 64) // "" or junk: any region
		msg, err = s.store.TransferToRegion(ctx, cv.ID, p, region)
	}
	if err != nil {
		return err
	}
	s.hub.publishMessage(msg, true)
	s.hub.queueChanged()
	s.fe.Flash(c, "chat.desk.transferred")
	return c.Redirect("/chat/desk", fiber.StatusSeeOther)
}

func (s *Service) handleClose(c *fiber.Ctx) error {
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	msg, err := s.store.Close(c.UserContext(), cv.ID, p, c.FormValue("outcome"))
	if err != nil {
		return err
	}
	if msg != nil {
		s.hub.publishMessage(msg, true)
	}
	s.hub.queueChanged()
	s.fe.Flash(c, "chat.desk.closed")
	return c.Redirect("/chat/desk", fiber.StatusSeeOther)
}

// residentData is the Data of chat/resident.
type residentData struct {
	Conv          *Conversation
	Name          string
	Email         string
	Phone         string
	PostalCode    string
	Conversations []Conversation
}

// handleResident shows the assigned advisor who the resident is, and
// writes that look into the access log first.
func (s *Service) handleResident(c *fiber.Ctx) error {
	ctx := c.UserContext()
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	if cv.ResidentID == nil {
		return errNotFound
	}
	rid := *cv.ResidentID
	if err := s.audit.Record(c.UserContext(), rid, audit.ChatResidentPage, "chat:"+strconv.FormatInt(cv.ID, 10),
		audit.ReasonChatResidentInfo); err != nil {
		return fmt.Errorf("chat: access log: %w", err)
	}
	u, err := s.store.Person(ctx, rid)
	if err != nil {
		return err
	}
	convs, err := s.store.ByResident(ctx, rid, 50)
	if err != nil {
		return err
	}
	d := residentData{Conv: cv, Name: u.Name, Email: u.Email, Phone: u.Phone, PostalCode: u.PostalCode, Conversations: convs}
	return s.fe.Render(c, fiber.StatusOK, "chat/resident", frontend.Page{TitleKey: "chat.resident.title", Data: d})
}
