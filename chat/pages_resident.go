// The chat's resident and guest pages: opening hours, starting a chat, the
// conversation and its transcript, and the block on "Oma asiointi"; and the
// conversation helpers the desk shares.

package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// Translation keys of the chat's error pages.
const (
	msgNotFound  = "error.chat.not_found"
	msgConflict  = "error.chat.conflict"
	msgCapacity  = "error.chat.capacity"
	msgStaffOnly = "error.chat.residents_only"
)

// HoursRow is one region's line of the opening-hours table.
type HoursRow struct {
	Region     string
	Phone      string
	PhoneHours string   // when the region's phone service answers
	Days       []string // chat hours, Monday first; "" is closed
	OpenNow    bool
}

// indexData is the Data of chat/index.
type indexData struct {
	Open        bool // a chat can be started now
	InHours     bool // some region is within its opening hours
	Available   int
	Hours       []HoursRow
	NextOpening time.Time
	Topics      []frontend.Option
	Langs       []frontend.Option
	Regions     []frontend.Option
	Guest       bool
	Staff       bool
}

func (s *Service) topicOptions() []frontend.Option {
	out := make([]frontend.Option, 0, len(topics))
	for _, t := range topics {
		out = append(out, frontend.Option{Value: t, LabelKey: "chat.topic." + t})
	}
	return out
}

func langOptions() []frontend.Option {
	return []frontend.Option{{Value: "fi", Label: "Suomi"}, {Value: "sv", Label: "Svenska"}, {Value: "en", Label: "English"}}
}

// availability reads the opening hours of every region and how many
// advisors are available now.
func (s *Service) availability(ctx context.Context, lang string) (indexData, []regions.Region, error) {
	var d indexData
	rs, err := s.regions.List(ctx)
	if err != nil {
		return d, nil, err
	}
	own, err := s.store.RegionHours(ctx)
	if err != nil {
		return d, nil, err
	}
	if d.Available, err = s.store.AvailableAdvisors(ctx); err != nil {
		return d, nil, err
	}
	now := s.now().In(s.loc)
	anyOpen := false
	for _, r := range rs {
		w, ok := own[r.ID]
		if !ok {
			w = s.hours
		}
		row := HoursRow{Region: r.Name(lang), Phone: r.Phone, PhoneHours: r.PhoneHours(lang), OpenNow: w.openAt(now)}
		for day := 1; day <= 7; day++ {
			if sp := w[day]; sp != nil {
				row.Days = append(row.Days, clock(sp.open)+"–"+clock(sp.close))
			} else {
				row.Days = append(row.Days, "")
			}
		}
		anyOpen = anyOpen || row.OpenNow
		if next := w.nextOpening(now); !next.IsZero() && (d.NextOpening.IsZero() || next.Before(d.NextOpening)) {
			d.NextOpening = next
		}
		d.Hours = append(d.Hours, row)
		d.Regions = append(d.Regions, frontend.Option{Value: strconv.FormatInt(r.ID, 10), Label: r.Name(lang)})
	}
	d.InHours = anyOpen
	d.Open = anyOpen && d.Available > 0
	d.Topics, d.Langs = s.topicOptions(), langOptions()
	return d, rs, nil
}

// IsOpen reports whether a chat can be started now: a region is within its
// opening hours and an advisor is available.
func (s *Service) IsOpen(ctx context.Context) (bool, error) {
	d, _, err := s.availability(ctx, frontend.DefaultLang)
	return d.Open, err
}

// openCacheTTL is how long the header's answer to "is the chat open" is
// reused. A status change or queue change forgets it on every instance
// (see refreshQueue); the TTL bounds how long a change that announced
// nothing, such as an advisor's presence lapsing, takes to show.
const openCacheTTL = 5 * time.Second

// openCache remembers IsOpen for openCacheTTL, so that the "Chat" link in
// every page's header costs no database query per page view.
type openCache struct {
	mu   sync.Mutex
	at   time.Time // zero: nothing cached
	open bool
}

func (o *openCache) forget() {
	o.mu.Lock()
	o.at = time.Time{}
	o.mu.Unlock()
}

// openCached is IsOpen, answered from the cache while it is fresh. Only one
// request at a time asks the database; the others wait for its answer. A
// failure counts as closed for the TTL too, so that a database in trouble
// is not asked again by every page view.
func (s *Service) openCached(ctx context.Context) bool {
	o := &s.openNow
	o.mu.Lock()
	defer o.mu.Unlock()
	now := s.now()
	if !o.at.IsZero() && now.Sub(o.at) < openCacheTTL && !now.Before(o.at) {
		return o.open
	}
	// The answer serves every page view for a while: one request that
	// went away must not decide it, and a slow database must not hold
	// every page for long.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	open, err := s.IsOpen(ctx)
	if err != nil {
		s.log.Warn("chat: is the chat open", "err", err)
		open = false
	}
	o.at, o.open = now, open
	return open
}

// HeaderLink is the "Chat" link for every page's header, shown to residents
// and visitors while the chat is open (see frontend.AddHeaderLink).
func (s *Service) HeaderLink() frontend.HeaderLink {
	return frontend.HeaderLink{
		LabelKey: "chat.header.link", HintKey: "chat.header.hint", URL: "/chat", Icon: "speechbubble-text",
		Show: func(c *fiber.Ctx) bool {
			if u := auth.CurrentUser(c); u != nil && u.Role.Staff() {
				return false // staff answer chats from the desk
			}
			return s.openCached(c.UserContext())
		},
	}
}

func (s *Service) handleIndex(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if p := s.principal(c); p != nil && !p.Staff() {
		cv, err := s.store.OpenFor(ctx, p)
		if err == nil {
			return c.Redirect("/chat/c/"+strconv.FormatInt(cv.ID, 10), fiber.StatusSeeOther)
		}
		if !errors.Is(err, errNotFound) {
			return err
		}
	}
	return s.renderIndex(c, nil)
}

func (s *Service) renderIndex(c *fiber.Ctx, form *frontend.Form) error {
	lang := frontend.Lang(c)
	d, _, err := s.availability(c.UserContext(), lang)
	if err != nil {
		return err
	}
	u := auth.CurrentUser(c)
	d.Guest = u == nil
	d.Staff = u != nil && u.Role.Staff()
	if form == nil {
		form = frontend.NewForm()
		form.Set("lang", lang)
	}
	status := fiber.StatusOK
	if form.HasErrors() {
		status = fiber.StatusUnprocessableEntity
	}
	return s.fe.Render(c, status, "chat/index", frontend.Page{TitleKey: "chat.title", Data: d, Form: form})
}

func (s *Service) handleStart(c *fiber.Ctx) error {
	ctx := c.UserContext()
	u := auth.CurrentUser(c)
	if u != nil && u.Role.Staff() {
		return problem.E(problem.Forbidden, msgStaffOnly)
	}
	f := frontend.ReadForm(c, "topic", "lang", "region")
	if !slices.Contains(topics, f.Get("topic")) {
		f.Fail("topic", "form.error.required")
	}
	if l := f.Get("lang"); l != "fi" && l != "sv" && l != "en" {
		f.Fail("lang", "form.error.required")
	}
	var regionID *int64
	if v := f.Get("region"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			if _, err = s.regions.ByID(ctx, id); err == nil {
				regionID = &id
			}
		}
		if regionID == nil {
			f.Fail("region", "chat.error.region")
		}
	}
	d, _, err := s.availability(ctx, frontend.Lang(c))
	if err != nil {
		return err
	}
	if !d.Open {
		f.Fail("topic", "chat.error.closed_now")
	}
	if f.HasErrors() {
		return s.renderIndex(c, f)
	}
	cv := &Conversation{Topic: f.Get("topic"), Lang: f.Get("lang"), RegionID: regionID}
	var p *Principal
	if u != nil {
		p = s.principal(c)
		cv.ResidentID = &u.ID
		if regionID == nil && u.PostalCode != "" {
			if r, err := s.regions.ForPostalCode(ctx, u.PostalCode); err == nil {
				cv.RegionID = &r.ID
			}
		}
		// One open chat at a time: a second start goes back to the first.
		if open, err := s.store.OpenFor(ctx, p); err == nil {
			return c.Redirect("/chat/c/"+strconv.FormatInt(open.ID, 10), fiber.StatusSeeOther)
		} else if !errors.Is(err, errNotFound) {
			return err
		}
	} else {
		// A guest's token may have been planted by someone else, so a
		// guest never goes back to a chat by their cookie alone: an open
		// chat under the old token is ended, and the new chat gets a new
		// token.
		if old, ok := s.guestID(c); ok {
			if err := s.endGuestChat(ctx, &Principal{GuestID: old, Role: "guest"}); err != nil {
				return err
			}
		}
		gid, err := s.newGuest(c)
		if err != nil {
			return err
		}
		p = &Principal{GuestID: gid, Role: "guest"}
		cv.GuestID = gid
	}
	if err := s.store.NewConversation(ctx, cv); err != nil {
		return err
	}
	s.hub.queueChanged()
	return c.Redirect("/chat/c/"+strconv.FormatInt(cv.ID, 10), fiber.StatusSeeOther)
}

// endGuestChat ends the open chat of a guest token, if it has one.
func (s *Service) endGuestChat(ctx context.Context, p *Principal) error {
	open, err := s.store.OpenFor(ctx, p)
	if errors.Is(err, errNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	msg, err := s.store.End(ctx, open.ID, p)
	if err != nil {
		return err
	}
	if msg != nil {
		s.hub.publishMessage(msg, true)
		s.hub.queueChanged()
	}
	return nil
}

// conversationData is the Data of chat/conversation and chat/desk-conversation.
type conversationData struct {
	Conv       *Conversation
	Messages   []message
	Advisor    string
	Role       string // the viewer's side: "resident" or "advisor"
	SocketURL  string
	Notes      []note
	Replies    []reply
	Staff      []staffMember
	Regions    []frontend.Option
	Outcomes   []string
	Resident   string // staff view: the resident's name, "" if unidentified
	Position   int
	Estimate   int
	MaxMessage int
	Transcript bool // a read-only transcript
	// CanThread offers to continue the ended chat of a logged-in resident
	// as a message thread.
	CanThread   bool
	CanClose    bool
	CanWrite    bool
	OwnRegionID int64
	// TimeZone is the zone the page shows times in (an IANA name), so that
	// chat.js writes the times of new messages as the server wrote the others.
	TimeZone string
}

func (s *Service) socketURL() string {
	scheme := "ws"
	if s.cfg.PublicURL.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + s.cfg.PublicURL.Host + "/chat/ws"
}

// loadFor loads a conversation the principal may see, or answers 404 for
// both "no such" and "not yours".
func (s *Service) loadFor(c *fiber.Ctx, p *Principal) (*Conversation, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return nil, errNotFound
	}
	cv, err := s.store.Conversation(c.UserContext(), id)
	if errors.Is(err, errNotFound) || (err == nil && (p == nil || !p.mayJoin(cv))) {
		return nil, errNotFound
	}
	return cv, err
}

// logRead writes the access log when staff read a logged-in resident's
// conversation: once per opening (audit.Record folds repeats), never per
// message. A guest's conversation names nobody and is not logged; neither
// is a resident reading their own (audit.Record skips non-staff actors).
func (s *Service) logRead(ctx context.Context, cv *Conversation, action audit.Action, reason audit.Reason) error {
	if cv.ResidentID == nil {
		return nil
	}
	if err := s.audit.Record(ctx, *cv.ResidentID, action, "chat:"+strconv.FormatInt(cv.ID, 10), reason); err != nil {
		return fmt.Errorf("chat: access log: %w", err)
	}
	return nil
}

func (s *Service) transcript(ctx context.Context, cv *Conversation) ([]message, error) {
	var all []message
	for after := int64(0); ; {
		page, err := s.store.After(ctx, cv.ID, after, 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 1000 {
			return all, nil
		}
		after = page[len(page)-1].Seq
	}
}

func (s *Service) handleConversation(c *fiber.Ctx) error {
	if done, err := s.dropShadowingGuest(c); done {
		return err
	}
	p := s.principal(c)
	if p != nil && p.Staff() {
		return c.Redirect("/chat/desk/c/"+c.Params("id"), fiber.StatusSeeOther)
	}
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	d, err := s.conversationData(c.UserContext(), cv, p)
	if err != nil {
		return err
	}
	return s.fe.Render(c, fiber.StatusOK, "chat/conversation", frontend.Page{TitleKey: "chat.conversation.title", Data: d})
}

func (s *Service) conversationData(ctx context.Context, cv *Conversation, p *Principal) (*conversationData, error) {
	msgs, err := s.transcript(ctx, cv)
	if err != nil {
		return nil, err
	}
	d := &conversationData{
		Conv: cv, Messages: msgs, Role: p.senderRole(), SocketURL: s.socketURL(),
		MaxMessage: s.cfg.Limits.MaxMessage, CanWrite: cv.Status != statusClosed, TimeZone: s.loc.String(),
	}
	if cv.AdvisorID != nil {
		if d.Advisor, err = s.store.GivenName(ctx, *cv.AdvisorID); err != nil && !errors.Is(err, errNotFound) {
			return nil, err
		}
	}
	if cv.Status == statusQueued {
		q, err := s.store.Queue(ctx)
		if err != nil {
			return nil, err
		}
		avail, err := s.store.AvailableAdvisors(ctx)
		if err != nil {
			return nil, err
		}
		d.Position = queuePosition(q, cv.ID)
		d.Estimate = s.estimate(d.Position, avail)
	}
	return d, nil
}

// handlePost stores a message sent without JavaScript.
func (s *Service) handlePost(c *fiber.Ctx) error {
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	back := "/chat/c/" + strconv.FormatInt(cv.ID, 10)
	if p.Staff() {
		back = "/chat/desk/c/" + strconv.FormatInt(cv.ID, 10)
	}
	body, code := cleanBody(strings.Clone(c.FormValue("body")), s.cfg.Limits.MaxMessage)
	if code != "" {
		return c.Redirect(back+"#chat-form", fiber.StatusSeeOther)
	}
	cid := strings.Clone(c.FormValue("cid"))
	if !validClientID(cid) {
		tok, _, err := s.GuestToken() // any random value will do
		if err != nil {
			return err
		}
		cid = "form-" + strings.ReplaceAll(tok[:22], ".", "")
	}
	res := s.store.Append(c.UserContext(), []Draft{{
		ConversationID: cv.ID, Kind: KindText, SenderRole: p.senderRole(), SenderID: p.UserID,
		SenderName: p.displayName(), ClientID: cid, Body: body,
	}})
	switch r := res[0]; {
	case errors.Is(r.Err, errClosed), errors.Is(r.Err, errForbidden):
		return errConflict
	case r.Err != nil:
		return r.Err
	case !r.Dup:
		s.hub.publishMessage(&r.Message, false)
	}
	return c.Redirect(back+"#chat-form", fiber.StatusSeeOther)
}

func (s *Service) handleEnd(c *fiber.Ctx) error {
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	if p.Staff() {
		return problem.E(problem.Forbidden, auth.MsgForbidden)
	}
	msg, err := s.store.End(c.UserContext(), cv.ID, p)
	if err != nil {
		return err
	}
	if msg != nil {
		s.hub.publishMessage(msg, true)
		s.hub.queueChanged()
	}
	return c.Redirect("/chat/c/"+strconv.FormatInt(cv.ID, 10), fiber.StatusSeeOther)
}

func (s *Service) handleTranscript(c *fiber.Ctx) error {
	p := s.principal(c)
	cv, err := s.loadFor(c, p)
	if err != nil {
		return err
	}
	d, err := s.conversationData(c.UserContext(), cv, p)
	if err != nil {
		return err
	}
	d.Transcript, d.CanWrite = true, false
	d.CanThread = s.threads != nil && cv.Status == statusClosed && cv.ResidentID != nil
	return s.fe.Render(c, fiber.StatusOK, "chat/conversation", frontend.Page{TitleKey: "chat.transcript.title", Data: d})
}

// MySection is the resident's chats on "Oma asiointi": the open one and
// the transcripts of earlier ones. It matches frontend.SectionFunc.
func (s *Service) MySection(c *fiber.Ctx) (frontend.Section, error) {
	sec := frontend.Section{TitleKey: "chat.my.title", Template: "chat/my-section"}
	u := auth.CurrentUser(c)
	if u == nil || u.Role != auth.RoleResident {
		return sec, nil
	}
	convs, err := s.store.ByResident(c.UserContext(), u.ID, 20)
	if err != nil {
		return sec, err
	}
	sec.Data = mySectionData{Conversations: convs, Location: s.loc}
	return sec, nil
}

// mySectionData is the Data of the chat/my-section template.
type mySectionData struct {
	Conversations []Conversation
	Location      *time.Location
}

// Date formats a time for the section (which has no View to do it).
func (d mySectionData) Date(t time.Time) string { return t.In(d.Location).Format("2.1.2006 15.04") }
