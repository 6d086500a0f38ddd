package messages

import (
	"crypto/rand"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/files"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// Upload paths: their multipart bodies are streamed, the CSRF token read
// from the first part (auth.StreamedUploads).
var UploadPaths = []string{"/messages", "/messages/:id", "/desk/messages/new", "/desk/messages/:id"}

// Register mounts every messages route.
func (s *Service) Register(r fiber.Router, formLimit fiber.Handler) {
	resident := auth.RequireRole(auth.RoleResident)
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	if formLimit == nil {
		formLimit = func(c *fiber.Ctx) error { return c.Next() }
	}
	r.Get("/messages", resident, s.handleResidentList)
	r.Get("/messages/new", resident, s.handleNewForm)
	r.Post("/messages", resident, formLimit, s.handleResidentStart)
	r.Get("/messages/:id<int>", resident, s.handleThread)
	r.Post("/messages/:id<int>", resident, s.handleReply)
	r.Get("/messages/:id<int>/files/:file<int>", resident, s.handleDownload)

	r.Get("/desk/messages", staff, s.handleInbox)
	r.Get("/desk/messages/new", staff, s.handleStaffNewForm)
	r.Post("/desk/messages/new/search", staff, s.handleStaffNewForm) // POST keeps names out of URLs
	r.Post("/desk/messages/new", staff, s.handleStaffStart)
	r.Get("/desk/messages/:id<int>", staff, s.handleThread)
	r.Post("/desk/messages/:id<int>", staff, s.handleReply)
	r.Post("/desk/messages/:id<int>/assign", staff, s.handleAssign)
	r.Get("/desk/messages/:id<int>/files/:file<int>", staff, s.handleDownload)
}

// readCompose reads a streamed message form: its fields, and its files
// saved under a draft owner. On any error the files are gone again.
func (s *Service) readCompose(c *fiber.Ctx) (Draft, map[string]string, error) {
	ctx := c.UserContext()
	u := auth.CurrentUser(c)
	fields := map[string]string{}
	owner := draftPrefix + rand.Text()
	var count int
	var used int64
	err := files.ReadMultipart(c, s.cfg.MaxTotalBytes+(1<<20),
		func(token string) bool { return s.csrf != nil && s.csrf(c, token) },
		func(name, value string) error {
			fields[name] = value
			return nil
		},
		func(field, filename string, r io.Reader) error {
			if field != "attachment" || filename == "" {
				_, err := io.Copy(io.Discard, r)
				return err
			}
			limit, err := s.cfg.Limits.Next(count, used)
			if err != nil {
				return err
			}
			f, err := s.files.Save(ctx, owner, u.ID, filename, r, limit)
			if err != nil {
				return s.cfg.Limits.Explain(err, limit)
			}
			count++
			used += f.Size
			return nil
		})
	d := Draft{Subject: fields["subject"], Body: strings.ReplaceAll(fields["body"], "\r\n", "\n"), AsRegion: fields["as_region"] == "yes"}
	if count > 0 {
		d.FilesOwner = owner
	}
	if err != nil {
		if derr := s.files.DeleteOwner(ctx, owner); derr != nil {
			s.log.Error("messages: delete a refused message's files", "err", derr)
		}
	}
	return d, fields, err
}

// dropDraftFiles deletes the files of a draft that was not stored.
func (s *Service) dropDraftFiles(c *fiber.Ctx, d Draft) {
	if d.FilesOwner == "" {
		return
	}
	if err := s.files.DeleteOwner(c.UserContext(), d.FilesOwner); err != nil {
		s.log.Error("messages: delete a refused message's files", "err", err)
	}
}

// formOf turns a refused draft back into a form with its messages.
func formOf(d Draft, err error) (*frontend.Form, int, error) {
	form := frontend.NewForm()
	form.Set("subject", d.Subject)
	form.Set("body", d.Body)
	if d.AsRegion {
		form.Set("as_region", "yes")
	}
	p, ok := problem.As(err)
	if !ok || p.Kind == problem.Internal || p.Kind == problem.Forbidden || p.Kind == problem.NotFound {
		return nil, 0, err
	}
	status, key := frontend.Problem(err)
	if len(p.Fields) > 0 {
		for f, k := range p.Fields {
			form.Fail(f, k)
		}
	} else {
		form.Fail("attachment", key)
	}
	return form, status, nil
}

// ListData is the Data of messages/list and messages/desk-inbox.
type ListData struct {
	Rows  []ListRow
	Box   string
	Boxes []string
}

// ListRow is a thread in a list.
type ListRow struct {
	URL, Subject, When, With string
	Unread                   int64
}

func (s *Service) rows(c *fiber.Ctx, list []ThreadRow, base string, staff bool) ([]ListRow, error) {
	lang := frontend.Lang(c)
	ids := make([]int64, len(list))
	for i, t := range list {
		ids[i] = t.ResidentID
	}
	people, err := s.users.ByIDs(c.UserContext(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]ListRow, len(list))
	for i, t := range list {
		out[i] = ListRow{URL: base + itoa(t.ID), Subject: t.Subject, When: s.fe.DateTime(lang, t.UpdatedAt), Unread: t.Unread}
		if p := people[t.ResidentID]; staff && p != nil {
			out[i].With = p.Name
		}
	}
	return out, nil
}

func (s *Service) handleResidentList(c *fiber.Ctx) error {
	list, err := s.ResidentThreads(c.UserContext(), auth.CurrentUser(c).ID, 200)
	if err != nil {
		return err
	}
	rows, err := s.rows(c, list, "/messages/", false)
	if err != nil {
		return err
	}
	return s.fe.Render(c, fiber.StatusOK, "messages/list", frontend.Page{TitleKey: "messages.title", Data: ListData{Rows: rows}})
}

// ComposeData is the Data of messages/new and messages/desk-new.
type ComposeData struct {
	Limits    Limits
	Residents []ResidentChoice // staff: the search's results
	Searched  bool
}

// ResidentChoice is a resident found to write to.
type ResidentChoice struct {
	ID                int64
	Name, Email, Post string
}

// Limits are the attachment limits, said before uploading.
type Limits struct {
	FileSize, TotalSize string
	Files               int
}

func (s *Service) limits() Limits {
	return Limits{FileSize: sizeText(s.cfg.MaxFileBytes), TotalSize: sizeText(s.cfg.MaxTotalBytes), Files: s.cfg.MaxFiles}
}

func (s *Service) handleNewForm(c *fiber.Ctx) error {
	return s.fe.Render(c, fiber.StatusOK, "messages/new", frontend.Page{TitleKey: "messages.new.title", Data: ComposeData{Limits: s.limits()}})
}

func (s *Service) handleResidentStart(c *fiber.Ctx) error {
	d, _, err := s.readCompose(c)
	var t *Thread
	if err == nil {
		t, err = s.StartByResident(c.UserContext(), auth.CurrentUser(c).ID, d)
	}
	if err != nil {
		s.dropDraftFiles(c, d)
		form, status, err := formOf(d, err)
		if err != nil {
			return err
		}
		return s.fe.Render(c, status, "messages/new", frontend.Page{TitleKey: "messages.new.title", Data: ComposeData{Limits: s.limits()}, Form: form})
	}
	s.fe.Flash(c, "messages.flash.sent")
	return c.Redirect("/messages/"+itoa(t.ID), fiber.StatusSeeOther)
}

// ThreadData is the Data of messages/thread and messages/desk-thread.
type ThreadData struct {
	ID        int64
	Subject   string
	Resident  string // staff pages
	Messages  []MessageView
	Limits    Limits
	Assignee  string
	Advisors  []frontend.Option
	Action    string // where the reply form posts
	Staff     bool
	RegionTag string
}

// MessageView is a message as a page shows it.
type MessageView struct {
	Author, When, Body string
	Mine, FromStaff    bool
	Read               bool
	Latest             bool // the newest: where a reply returns to
	Files              []FileView
}

// FileView is an attachment link.
type FileView struct {
	URL, Name, Size string
}

func (s *Service) handleThread(c *fiber.Ctx) error {
	return s.renderThread(c, fiber.StatusOK, nil)
}

func (s *Service) renderThread(c *fiber.Ctx, status int, form *frontend.Form) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	ctx := c.UserContext()
	t, list, err := s.Open(ctx, int64(id))
	if err != nil {
		return err
	}
	lang := frontend.Lang(c)
	me := auth.CurrentUser(c)
	staff := me.Role.Staff()
	base := "/messages/"
	if staff {
		base = "/desk/messages/"
	}
	authors := make([]int64, 0, len(list)+2)
	for _, m := range list {
		authors = append(authors, m.AuthorID)
	}
	authors = append(authors, t.ResidentID)
	if t.AssigneeID != nil {
		authors = append(authors, *t.AssigneeID)
	}
	people, err := s.users.ByIDs(ctx, authors)
	if err != nil {
		return err
	}
	region := s.fe.T(lang, "messages.author.service")
	d := ThreadData{ID: t.ID, Subject: t.Subject, Limits: s.limits(), Action: base + itoa(t.ID), Staff: staff, RegionTag: region}
	if p := people[t.ResidentID]; p != nil && staff {
		d.Resident = p.Name
	}
	for _, m := range list {
		v := MessageView{When: s.fe.DateTime(lang, m.CreatedAt), Body: m.Body, Mine: m.AuthorID == me.ID, FromStaff: m.FromStaff, Read: m.ReadAt != nil}
		p := people[m.AuthorID]
		switch {
		case m.FromStaff && (m.AsRegion || p == nil):
			v.Author = region
		case m.FromStaff && !staff:
			v.Author = s.fe.T(lang, "messages.author.advisor", map[string]any{"Name": p.GivenName})
		case p != nil:
			v.Author = p.Name
		}
		fl, err := s.files.List(ctx, m.owner())
		if err != nil {
			return err
		}
		for _, f := range fl {
			v.Files = append(v.Files, FileView{URL: base + itoa(t.ID) + "/files/" + itoa(f.ID), Name: f.Name, Size: sizeText(f.Size)})
		}
		d.Messages = append(d.Messages, v)
	}
	if n := len(d.Messages); n > 0 {
		d.Messages[n-1].Latest = true
	}
	if staff {
		if t.AssigneeID != nil && people[*t.AssigneeID] != nil {
			d.Assignee = itoa(*t.AssigneeID)
		}
		if t.RegionID != nil {
			advisors, err := s.users.InRegion(ctx, auth.RoleAdvisor, *t.RegionID)
			if err != nil {
				return err
			}
			for _, a := range advisors {
				d.Advisors = append(d.Advisors, frontend.Option{Value: itoa(a.ID), Label: a.Name})
			}
		}
	}
	tmpl := "messages/thread"
	if staff {
		tmpl = "messages/desk-thread"
	}
	if form == nil {
		form = frontend.NewForm()
		form.Set("assignee", d.Assignee)
	}
	return s.fe.Render(c, status, tmpl, frontend.Page{TitleKey: "messages.thread.title", Data: d, Form: form})
}

func (s *Service) handleReply(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	d, _, err := s.readCompose(c)
	if err == nil {
		_, err = s.Reply(c.UserContext(), int64(id), d)
	}
	if err != nil {
		s.dropDraftFiles(c, d)
		form, status, err := formOf(d, err)
		if err != nil {
			return err
		}
		return s.renderThread(c, status, form)
	}
	s.fe.Flash(c, "messages.flash.sent")
	base := "/messages/"
	if auth.CurrentUser(c).Role.Staff() {
		base = "/desk/messages/"
	}
	return c.Redirect(base+itoa(int64(id))+"#latest", fiber.StatusSeeOther)
}

func (s *Service) handleDownload(c *fiber.Ctx) error {
	id, err1 := c.ParamsInt("id")
	fid, err2 := c.ParamsInt("file")
	if err1 != nil || err2 != nil {
		return errNotFound
	}
	f, rc, err := s.Attachment(c.UserContext(), int64(id), int64(fid))
	if err != nil {
		return err
	}
	return files.SendDownload(c, f, rc) // closes rc once sent
}

func (s *Service) handleInbox(c *fiber.Ctx) error {
	box := Inbox(c.Query("box"))
	if box != InboxMine && box != InboxAll {
		box = InboxUnassigned
	}
	list, err := s.StaffThreads(c.UserContext(), box, 200)
	if err != nil {
		return err
	}
	ids := make([]int64, len(list))
	for i, t := range list {
		ids[i] = t.ResidentID
	}
	// The inbox names residents and their subjects: logged like an opening.
	if err := s.audit.RecordList(c.UserContext(), ids, audit.MessageThreadView, "messages/inbox", audit.ReasonDeskList); err != nil {
		return err
	}
	rows, err := s.rows(c, list, "/desk/messages/", true)
	if err != nil {
		return err
	}
	d := ListData{Rows: rows, Box: string(box), Boxes: []string{string(InboxUnassigned), string(InboxMine), string(InboxAll)}}
	return s.fe.Render(c, fiber.StatusOK, "messages/desk-inbox", frontend.Page{TitleKey: "messages.desk.title", Data: d})
}

func (s *Service) handleAssign(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	to, _ := strconv.ParseInt(c.FormValue("assignee"), 10, 64) // "" or junk: nobody; Assign checks the rest
	if c.FormValue("assignee") != "" && to <= 0 {
		return problem.Field("assignee", "messages.error.assignee")
	}
	if err := s.Assign(c.UserContext(), int64(id), to); err != nil {
		return err
	}
	s.fe.Flash(c, "messages.flash.assigned")
	return c.Redirect("/desk/messages/"+itoa(int64(id)), fiber.StatusSeeOther)
}

// handleStaffNewForm shows the new-message form; posted with a search, it
// lists the residents found (the search is logged like booking's).
func (s *Service) handleStaffNewForm(c *fiber.Ctx) error {
	d := ComposeData{Limits: s.limits()}
	form := frontend.NewForm()
	if c.Method() == fiber.MethodPost {
		form.Read(c, "q")
		q := form.Get("q")
		if len([]rune(q)) < 2 || len(q) > 100 {
			form.Fail("q", "messages.error.search")
		} else {
			// Names and addresses are shown: the search is logged.
			if err := s.audit.Record(c.UserContext(), 0, audit.MessageResidentSearch, "", audit.ReasonMessages); err != nil {
				return err
			}
			found, err := s.users.Search(c.UserContext(), auth.RoleResident, q, 20)
			if err != nil {
				return err
			}
			d.Searched = true
			for _, u := range found {
				d.Residents = append(d.Residents, ResidentChoice{ID: u.ID, Name: u.Name, Email: u.Email, Post: u.PostalCode})
			}
		}
	}
	status := fiber.StatusOK
	if form.HasErrors() {
		status = fiber.StatusUnprocessableEntity
	}
	return s.fe.Render(c, status, "messages/desk-new", frontend.Page{TitleKey: "messages.new.title", Data: d, Form: form})
}

func (s *Service) handleStaffStart(c *fiber.Ctx) error {
	d, fields, err := s.readCompose(c)
	var t *Thread
	if err == nil {
		resident, perr := strconv.ParseInt(fields["resident"], 10, 64)
		if perr != nil {
			err = problem.Field("resident", "messages.error.resident")
		} else {
			t, err = s.StartByStaff(c.UserContext(), resident, d)
		}
	}
	if err != nil {
		s.dropDraftFiles(c, d)
		form, status, err := formOf(d, err)
		if err != nil {
			return err
		}
		return s.fe.Render(c, status, "messages/desk-new", frontend.Page{TitleKey: "messages.new.title", Data: ComposeData{Limits: s.limits()}, Form: form})
	}
	s.fe.Flash(c, "messages.flash.sent")
	return c.Redirect("/desk/messages/"+itoa(t.ID), fiber.StatusSeeOther)
}

// sizeText shows a byte count as people read it.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatInt((n+512)>>10, 10) + " kB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// MySection is the resident's block on Oma asiointi: unread messages.
func (s *Service) MySection(c *fiber.Ctx) (frontend.Section, error) {
	lang := frontend.Lang(c)
	d := &SectionData{Translator: s.fe.Translator(lang)}
	sec := frontend.Section{TitleKey: "messages.title", Template: "messages/my-section", Lang: lang, Data: d}
	u := auth.CurrentUser(c)
	if u == nil || u.Role != auth.RoleResident {
		return sec, nil
	}
	n, err := s.UnreadForResident(c.UserContext(), u.ID)
	d.Unread = n
	return sec, err
}

// DeskSection is the desk's block: threads with unread messages.
func (s *Service) DeskSection(c *fiber.Ctx) (frontend.Section, error) {
	lang := frontend.Lang(c)
	d := &SectionData{Translator: s.fe.Translator(lang)}
	sec := frontend.Section{TitleKey: "messages.desk.title", Template: "messages/desk-section", Lang: lang, Data: d}
	u := auth.CurrentUser(c)
	if u == nil || !u.Role.Staff() {
		return sec, nil
	}
	n, err := s.UnreadForStaff(c.UserContext(), u)
	d.Unread = n
	return sec, err
}

// SectionData is the Data of the sections.
type SectionData struct {
	frontend.Translator
	Unread int64
}

// HeaderLinks are "Viestit (2)" in the header: for residents their unread
// messages, for staff the threads with unread messages they may answer.
func (s *Service) HeaderLinks() []frontend.HeaderLink {
	count := func(c *fiber.Ctx) int {
		u := auth.CurrentUser(c)
		var n int64
		var err error
		if u.Role.Staff() {
			n, err = s.UnreadForStaff(c.UserContext(), u)
		} else {
			n, err = s.UnreadForResident(c.UserContext(), u.ID)
		}
		if err != nil {
			s.log.Warn("messages: header count", "err", err)
			return 0
		}
		return int(n)
	}
	return []frontend.HeaderLink{
		{LabelKey: "messages.header", URL: "/messages", Icon: "envelope", CountKey: "messages.header_unread", Count: count,
			Show: func(c *fiber.Ctx) bool { u := auth.CurrentUser(c); return u != nil && u.Role == auth.RoleResident }},
		{LabelKey: "messages.header", URL: "/desk/messages", Icon: "envelope", CountKey: "messages.header_unread", Count: count,
			Show: func(c *fiber.Ctx) bool { u := auth.CurrentUser(c); return u != nil && u.Role.Staff() }},
	}
}
