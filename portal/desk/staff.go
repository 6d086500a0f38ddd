package desk

import (
	"errors"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// StaffRow is one staff member on pages/staff.
type StaffRow struct {
	ID          int64
	Name, Email string
	Role        auth.Role
	RegionID    string // "" when none
	LastLoginAt *time.Time
}

// StaffData is the Data of pages/staff.
type StaffData struct {
	Staff   []StaffRow
	Regions []frontend.Option
}

// staff lists advisors and admins with their region, role and last login;
// each row has a form that assigns the region (when the staff provider
// sends no region claim, this is where regions come from).
func (d *Desk) staff(c *fiber.Ctx) error {
	ctx := c.UserContext()
	users, err := d.users.WithRole(ctx, auth.RoleAdvisor, auth.RoleAdmin)
	if err != nil {
		return err
	}
	regs, err := d.regions.List(ctx)
	if err != nil {
		return err
	}
	lang := frontend.Lang(c)
	data := StaffData{}
	for _, r := range regs {
		data.Regions = append(data.Regions, frontend.Option{Value: strconv.FormatInt(r.ID, 10), Label: r.Name(lang)})
	}
	for _, u := range users {
		row := StaffRow{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, LastLoginAt: u.LastLoginAt}
		if u.RegionID != nil {
			row.RegionID = strconv.FormatInt(*u.RegionID, 10)
		}
		data.Staff = append(data.Staff, row)
	}
	return d.fe.Render(c, fiber.StatusOK, "pages/staff", frontend.Page{TitleKey: "staffadmin.title", Data: data})
}

// setRegion assigns a staff member's region ("" for none).
func (d *Desk) setRegion(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil {
		return problem.E(problem.NotFound, "error.404.body")
	}
	u, err := d.users.ByID(ctx, id)
	if errors.Is(err, auth.ErrNotFound) || err == nil && !u.Role.Staff() {
		return problem.E(problem.NotFound, "error.404.body")
	}
	if err != nil {
		return err
	}
	var region *int64
	if v := c.FormValue("region"); v != "" {
		rid, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			_, err = d.regions.ByID(ctx, rid)
		}
		if errors.Is(err, regions.ErrNotFound) || rid <= 0 {
			return problem.Field("region", "staffadmin.error.region")
		}
		if err != nil {
			return err
		}
		region = &rid
	}
	if err := d.users.SetRegion(ctx, u.ID, region); err != nil {
		return err
	}
	d.fe.Flash(c, "staffadmin.saved")
	return c.Redirect("/admin/staff", fiber.StatusSeeOther)
}
