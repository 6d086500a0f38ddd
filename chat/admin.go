package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// reply is a canned reply: a ready text an advisor inserts in one click.
type reply struct {
	ID        int64
	Lang      string
	Title     string
	Body      string
	UpdatedBy *int64
	UpdatedAt time.Time
}

// TableName keeps gorm on the migrated table.
func (reply) TableName() string { return "chat_canned_replies" }

// Replies returns the canned replies of a language ("" for all).
func (s *Store) Replies(ctx context.Context, lang string) ([]reply, error) {
	q := s.db.WithContext(ctx).Order("lang, title, id")
	if lang != "" {
		q = q.Where("lang = ?", lang)
	}
	var out []reply
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("chat: canned replies: %w", err)
	}
	return out, nil
}

// SaveReply creates (ID 0) or updates a canned reply.
func (s *Store) SaveReply(ctx context.Context, r *reply) error {
	r.UpdatedAt = s.now().UTC()
	db := s.db.WithContext(ctx)
	if r.ID == 0 {
		if err := db.Create(r).Error; err != nil {
			return fmt.Errorf("chat: create canned reply: %w", err)
		}
		return nil
	}
	res := db.Model(&reply{}).Where("id = ?", r.ID).Updates(map[string]any{
		"lang": r.Lang, "title": r.Title, "body": r.Body, "updated_by": r.UpdatedBy, "updated_at": r.UpdatedAt,
	})
	if res.Error != nil {
		return fmt.Errorf("chat: update canned reply: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return errNotFound
	}
	return nil
}

// DeleteReply removes a canned reply.
func (s *Store) DeleteReply(ctx context.Context, id int64) error {
	if err := s.db.WithContext(ctx).Delete(&reply{}, id).Error; err != nil {
		return fmt.Errorf("chat: delete canned reply: %w", err)
	}
	return nil
}

// person is what the resident page shows of a resident.
type person struct {
	Name, Email, Phone, PostalCode string
}

// Person loads a resident's contact details (from auth, which owns users).
func (s *Store) Person(ctx context.Context, id int64) (*person, error) {
	u, err := auth.NewUsers(s.db).ByID(ctx, id)
	if errors.Is(err, auth.ErrNotFound) || (err == nil && u.Role != auth.RoleResident) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("chat: resident: %w", err)
	}
	return &person{Name: u.Name, Email: u.Email, Phone: u.Phone, PostalCode: u.PostalCode}, nil
}

// FullName returns a user's full name.
func (s *Store) FullName(ctx context.Context, id int64) (string, error) {
	p, err := s.Person(ctx, id)
	if err != nil {
		return "", err
	}
	return p.Name, nil
}

// adminData is the Data of chat/admin.
type adminData struct {
	Replies []reply
	Langs   []frontend.Option
	Hours   []adminHours
	Days    []int
	// DefaultHours are the configured hours, which regions without their
	// own follow.
	DefaultHours string
	// Advisors are the staff whose chat capacity is set here, and
	// DefaultCapacity is what an empty capacity means.
	Advisors        []adminAdvisor
	DefaultCapacity int
	// EditReply, EditRegion and EditAdvisor name the reply, region or
	// advisor whose form failed: it shows what was sent, and its errors,
	// under fields named "<field>-<id>" (the ids of its inputs).
	EditReply, EditRegion, EditAdvisor int64
}

// adminAdvisor is one advisor's or admin's row of the capacity settings.
type adminAdvisor struct {
	UserID int64
	Name   string
	Region string // "" for none
	Status string // effective status, one of the Advisor… constants
	Active int
	// Capacity is what applies now; Own is the advisor's own setting as
	// the form shows it, "" for the service default.
	Capacity int
	Own      string
}

// adminHours is one region's row of the opening-hours form.
type adminHours struct {
	RegionID int64
	Region   string
	Spec     string // as PORTAL_CHAT_HOURS writes it; "" uses the default
}

// adminEdit names the form of the admin page that failed, if any.
type adminEdit struct{ reply, region, advisor int64 }

func (s *Service) handleAdmin(c *fiber.Ctx) error {
	return s.renderAdmin(c, nil, adminEdit{})
}

// suffixed renames the fields of a failed form to "<field>-<id>", the ids
// of one reply's or region's inputs, so that the error summary links to
// them and the form for a new reply stays empty.
func suffixed(f *frontend.Form, id int64, fields ...string) *frontend.Form {
	out := frontend.NewForm()
	sfx := "-" + strconv.FormatInt(id, 10)
	for _, name := range fields {
		out.Set(name+sfx, f.Get(name))
	}
	for _, e := range f.ErrorList() {
		out.Fail(e.Field+sfx, e.Key)
	}
	return out
}

func (s *Service) renderAdmin(c *fiber.Ctx, form *frontend.Form, edit adminEdit) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	replies, err := s.store.Replies(ctx, "")
	if err != nil {
		return err
	}
	rs, err := s.regions.List(ctx)
	if err != nil {
		return err
	}
	own, err := s.store.RegionHours(ctx)
	if err != nil {
		return err
	}
	d := adminData{Replies: replies, Langs: langOptions(), DefaultHours: s.hours.String(), DefaultCapacity: s.cfg.Capacity,
		EditReply: edit.reply, EditRegion: edit.region, EditAdvisor: edit.advisor}
	names := make(map[int64]string, len(rs))
	for _, r := range rs {
		names[r.ID] = r.Name(lang)
		row := adminHours{RegionID: r.ID, Region: r.Name(lang)}
		if w, ok := own[r.ID]; ok {
			row.Spec = w.String()
		}
		d.Hours = append(d.Hours, row)
	}
	if d.Advisors, err = s.adminAdvisors(ctx, names); err != nil {
		return err
	}
	status := fiber.StatusOK
	if form.HasErrors() {
		status = fiber.StatusUnprocessableEntity
	}
	return s.fe.Render(c, status, "chat/admin", frontend.Page{TitleKey: "chat.admin.title", Data: d, Form: form})
}

func (s *Service) handleReplySave(c *fiber.Ctx) error {
	f := frontend.ReadForm(c, "id", "lang", "title").ReadText(c, "body")
	var id int64
	if v := f.Get("id"); v != "" {
		var err error
		if id, err = strconv.ParseInt(v, 10, 64); err != nil || id <= 0 {
			return errNotFound
		}
	}
	if l := f.Get("lang"); l != "fi" && l != "sv" && l != "en" {
		f.Fail("lang", "form.error.required")
	}
	if t := f.Get("title"); t == "" {
		f.Fail("title", "form.error.required")
	} else if len([]rune(t)) > 100 {
		f.Fail("title", "form.error.too_long")
	}
	body, code := cleanBody(f.Get("body"), s.cfg.Limits.MaxMessage)
	switch code {
	case codeEmpty, codeBadFrame:
		f.Fail("body", "form.error.required")
	case codeTooLong:
		f.Fail("body", "form.error.too_long")
	}
	if f.HasErrors() {
		if id != 0 {
			return s.renderAdmin(c, suffixed(f, id, "lang", "title", "body"), adminEdit{reply: id})
		}
		return s.renderAdmin(c, f, adminEdit{})
	}
	u := auth.CurrentUser(c)
	r := &reply{ID: id, Lang: f.Get("lang"), Title: f.Get("title"), Body: body, UpdatedBy: &u.ID}
	if err := s.store.SaveReply(c.UserContext(), r); errors.Is(err, errNotFound) {
		return errNotFound
	} else if err != nil {
		return err
	}
	s.fe.Flash(c, "notice.saved")
	return c.Redirect("/chat/admin", fiber.StatusSeeOther)
}

func (s *Service) handleReplyDelete(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("rid"), 10, 64)
	if err != nil {
		return errNotFound
	}
	if err := s.store.DeleteReply(c.UserContext(), id); err != nil {
		return err
	}
	s.fe.Flash(c, "notice.saved")
	return c.Redirect("/chat/admin", fiber.StatusSeeOther)
}

func (s *Service) handleHoursSave(c *fiber.Ctx) error {
	f := frontend.ReadForm(c, "region", "hours")
	id, err := strconv.ParseInt(f.Get("region"), 10, 64)
	if err != nil {
		return problem.E(problem.Invalid, "")
	}
	if _, err := s.regions.ByID(c.UserContext(), id); err != nil {
		return errNotFound
	}
	var w *week
	if spec := f.Get("hours"); spec != "" {
		parsed, err := parseHours(spec)
		if err != nil {
			f.Fail("hours", "chat.admin.hours_invalid")
			return s.renderAdmin(c, suffixed(f, id, "hours"), adminEdit{region: id})
		}
		w = &parsed
	}
	if err := s.store.SetHours(c.UserContext(), id, w); err != nil {
		return err
	}
	s.fe.Flash(c, "notice.saved")
	return c.Redirect("/chat/admin", fiber.StatusSeeOther)
}

// adminAdvisors lists the staff with their region's name, status, load
// and capacity.
func (s *Service) adminAdvisors(ctx context.Context, regionNames map[int64]string) ([]adminAdvisor, error) {
	staff, err := s.store.Staff(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(staff))
	for i, m := range staff {
		ids[i] = m.ID
	}
	states, err := s.store.Advisors(ctx, ids, s.cfg.Capacity)
	if err != nil {
		return nil, err
	}
	out := make([]adminAdvisor, len(staff))
	for i, m := range staff {
		a := states[m.ID]
		out[i] = adminAdvisor{UserID: m.ID, Name: m.Name, Status: a.Status, Active: a.Active, Capacity: a.Capacity}
		if m.RegionID != nil {
			out[i].Region = regionNames[*m.RegionID]
		}
		if a.OwnCapacity {
			out[i].Own = strconv.Itoa(a.Capacity)
		}
	}
	return out, nil
}

// handleCapacitySave sets an advisor's own chat capacity, or (empty)
// returns them to the default, without touching their status. Desks on
// every instance then show the new "open / capacity".
func (s *Service) handleCapacitySave(c *fiber.Ctx) error {
	f := frontend.ReadForm(c, "user", "capacity")
	id, err := strconv.ParseInt(f.Get("user"), 10, 64)
	if err != nil {
		return problem.E(problem.Invalid, "")
	}
	ctx := c.UserContext()
	staff, err := s.store.Staff(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(staff, func(m staffMember) bool { return m.ID == id }) {
		return errNotFound
	}
	var capacity *int
	if v := f.Get("capacity"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCapacity {
			f.Fail("capacity", "chat.admin.capacity_invalid")
			return s.renderAdmin(c, suffixed(f, id, "capacity"), adminEdit{advisor: id})
		}
		capacity = &n
	}
	if err := s.store.SetCapacity(ctx, id, capacity); err != nil {
		return err
	}
	s.hub.queueChanged()
	s.fe.Flash(c, "notice.saved")
	return c.Redirect("/chat/admin", fiber.StatusSeeOther)
}

var shortDays = [8]string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// String writes the week back in the form parseHours reads.
func (w week) String() string {
	var parts []string
	for d := 1; d <= 7; {
		sp := w[d]
		if sp == nil {
			d++
			continue
		}
		e := d
		for e+1 <= 7 && w[e+1] != nil && *w[e+1] == *sp {
			e++
		}
		days := shortDays[d]
		if e > d {
			days += "-" + shortDays[e]
		}
		parts = append(parts, days+" "+clock(sp.open)+"-"+clock(sp.close))
		d = e + 1
	}
	return strings.Join(parts, "; ")
}
