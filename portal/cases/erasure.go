package cases

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// DefaultRetention is how long a closed case keeps its personal data
// (Options.Retention): six years.
const DefaultRetention = 6 * 365 * 24 * time.Hour

// ErasedIssuer is the issuer of the empty user an erased case is pointed
// at: a users row with a random subject and no name, e-mail, phone,
// postal code or identity code, one per erased case, so that the case keeps
// a resident (the column is NOT NULL) without keeping the person. No
// provider issues it, so nobody can log in as it.
const ErasedIssuer = "erased"

// maxErasable is how many cases the erasure page lists and "erase all"
// erases at a time.
const maxErasable = 500

// codedKinds are the timeline events whose field and values are codes of
// the service's lists (an intervention, a status, an outcome, a check's
// yes or no): they are statistics and stay. Other kinds' values, and every
// body, are free text and go.
var codedKinds = []string{"change", "intervention", "opened", "closed", "crisis_check", "crisis_stage"}

// erasedFields are the changes whose values are personal though their kind
// is coded: the court and eviction dates.
var erasedFields = []string{"court_date", "eviction_date"}

// erasureRow is what erasure reads of a case.
type erasureRow struct {
	ID         int64
	ResidentID int64
	RegionID   *int64
	Status     Status
	ClosedAt   *time.Time
	ErasedAt   *time.Time
}

// TableName keeps gorm on the migrated table.
func (erasureRow) TableName() string { return "cases" }

// ErasableCase is a closed case past its retention, as the erasure page
// lists it: no names, nothing of the person.
type ErasableCase struct {
	ID       int64
	RegionID *int64
	ClosedAt time.Time
}

// errErasureAdmin refuses anyone but an admin.
var errErasureAdmin = problem.E(problem.Forbidden, "")

// errNotDue refuses a case that is not closed or is still inside its
// retention period.
var errNotDue = problem.E(problem.Conflict, "cases.erasure.error.not_due")

func (s *Service) eraseBefore() time.Time { return s.now().UTC().Add(-s.retention) }

// Erasable lists, for an admin, the closed cases not yet erased whose
// closing is older than the retention period, oldest first.
func (s *Service) Erasable(ctx context.Context) ([]ErasableCase, error) {
	if auth.ActorFrom(ctx).Role != auth.RoleAdmin {
		return nil, errErasureAdmin
	}
	var out []ErasableCase
	err := s.db.WithContext(ctx).Model(&erasureRow{}).Select("id, region_id, closed_at").
		Where("status = ? AND erased_at IS NULL AND closed_at IS NOT NULL AND closed_at < ?", StatusClosed, s.eraseBefore()).
		Order("closed_at, id").Limit(maxErasable).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("cases: erasable cases: %w", err)
	}
	return out, nil
}

// Erase erases a closed case's personal data once its retention period
// has passed, in one transaction: the timeline's notes and other free
// text, the court and eviction dates, the payment plan's reference and
// its payments' import keys (hashes of the reference), the network
// partners' contacts; and it detaches the case from the person by
// pointing it at an empty user of its own (ErasedIssuer). What the
// statistics count stays: region, reason, household, children, referrer,
// debt, the court flag, the interventions and their dates, the crisis
// stages, the outcome, the opening and closing times. The timeline says it
// was erased; the access log of the person says who erased it.
//
// Erasing an erased case again does nothing. A case that is not closed,
// or was closed within the retention period, is refused
// (cases.erasure.error.not_due) and nothing changes. Only an admin may.
func (s *Service) Erase(ctx context.Context, id int64) error {
	act := auth.ActorFrom(ctx)
	if act.Role != auth.RoleAdmin {
		return errErasureAdmin
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		c, err := database.ByID[erasureRow](ctx, tx, id, true, errNotFound)
		if err != nil {
			return err
		}
		if c.ErasedAt != nil {
			return nil
		}
		if c.Status != StatusClosed || c.ClosedAt == nil || !c.ClosedAt.Before(s.eraseBefore()) {
			return errNotDue
		}
		now := s.now().UTC()
		subject, err := randomUUID()
		if err != nil {
			return err
		}
		// The users table is auth's; auth has no call for an empty user
		// that nobody logs in as, so the row is written here, through
		// auth's own type, inside this transaction.
		anon := &auth.User{Issuer: ErasedIssuer, Subject: subject, Role: auth.RoleResident, PreferredLang: "fi", CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(anon).Error; err != nil {
			return fmt.Errorf("cases: erase %d: anonymous user: %w", id, err)
		}
		steps := []struct {
			what string
			q    *gorm.DB
		}{
			{"texts", tx.Model(&Event{}).Where("case_id = ?", id).Update("body", "")},
			{"values", tx.Model(&Event{}).Where("case_id = ? AND (kind NOT IN ? OR field IN ?)", id, codedKinds, erasedFields).
				Updates(map[string]any{"old_value": "", "new_value": ""})},
			{"payments", tx.Model(&StoredPayment{}).Where("plan_id IN (?)", tx.Model(&StoredPlan{}).Select("id").Where("case_id = ?", id)).
				Update("import_key", nil)},
			{"plan", tx.Model(&StoredPlan{}).Where("case_id = ?", id).Update("reference", "")},
			{"partners", tx.Model(&Partner{}).Where("case_id = ?", id).Update("contact", "")},
			// The landlord's outreach tasks linked to the case name the
			// person: they lose the names, addresses, notes and the link,
			// and a done task its tenant reference too.
			{"outreach references", tx.Model(&OutreachTask{}).Where("case_id = ? AND status = ?", id, OutreachDone).Update("tenant_ref", "")},
			{"outreach", tx.Model(&OutreachTask{}).Where("case_id = ?", id).Updates(map[string]any{
				"name": "", "address": "", "note": "", "case_id": nil, "redacted_at": now, "updated_at": now})},
			{"case", tx.Model(&erasureRow{}).Where("id = ?", id).Updates(map[string]any{
				"resident_id": anon.ID, "court_date": "", "eviction_date": "", "erased_at": now, "updated_at": now})},
		}
		for _, st := range steps {
			if err := st.q.Error; err != nil {
				return fmt.Errorf("cases: erase %d: %s: %w", id, st.what, err)
			}
		}
		if err := tx.Create(&Event{CaseID: id, Kind: "erased", ActorID: &act.UserID, CreatedAt: now}).Error; err != nil {
			return fmt.Errorf("cases: erase %d: event: %w", id, err)
		}
		return s.audit.RecordTx(ctx, tx, c.ResidentID, audit.CaseErase, resource(id), audit.ReasonCaseRetention)
	})
}

// EraseAll erases every case Erasable lists, each in its own transaction,
// and returns how many were erased.
func (s *Service) EraseAll(ctx context.Context) (int, error) {
	list, err := s.Erasable(ctx)
	if err != nil {
		return 0, err
	}
	for i, c := range list {
		if err := s.Erase(ctx, c.ID); err != nil {
			return i, err
		}
	}
	return len(list), nil
}

// randomUUID returns a random (version 4) UUID.
func randomUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cases: random id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// registerErasure mounts the admin's erasure page.
func (s *Service) registerErasure(r fiber.Router) {
	admin := auth.RequireRole(auth.RoleAdmin)
	r.Get("/admin/erasure", admin, s.handleErasure)
	r.Post("/admin/erasure", admin, s.handleEraseAll)
	r.Post("/admin/erasure/:id<int>", admin, s.handleErase)
}

// ErasureData is the Data of cases/erasure.
type ErasureData struct {
	Rows []ErasureRow
	// Years is the retention period in whole years, Days in days, for
	// the page's explanation.
	Years, Days int
	// Error is the translation key of a refusal, "" for none.
	Error string
	// ConfirmAll asks to confirm erasing every listed case; ConfirmID
	// (not 0) erasing that one (?confirm=all, ?confirm=<id>).
	ConfirmAll bool
	ConfirmID  int64
}

// ErasureRow is a case on the erasure page.
type ErasureRow struct {
	ID             int64
	Region, Closed string
}

func (s *Service) handleErasure(c *fiber.Ctx) error {
	return s.renderErasure(c, fiber.StatusOK, "")
}

func (s *Service) renderErasure(c *fiber.Ctx, status int, errKey string) error {
	ctx := c.UserContext()
	list, err := s.Erasable(ctx)
	if err != nil {
		return err
	}
	lang := frontend.Lang(c)
	names := map[int64]string{}
	if all, err := s.regions.List(ctx); err == nil {
		for _, r := range all {
			names[r.ID] = r.Name(lang)
		}
	} else {
		return err
	}
	hours := int(s.retention / time.Hour)
	d := ErasureData{Years: hours / (365 * 24), Days: hours / 24, Error: errKey}
	confirm := c.Query("confirm")
	d.ConfirmAll = confirm == "all" && len(list) > 0
	for _, e := range list {
		if confirm == itoa(e.ID) {
			d.ConfirmID = e.ID
		}
		row := ErasureRow{ID: e.ID, Closed: e.ClosedAt.In(s.loc).Format("2006-01-02")}
		if e.RegionID != nil {
			row.Region = names[*e.RegionID]
		}
		d.Rows = append(d.Rows, row)
	}
	return s.fe.Render(c, status, "cases/erasure", frontend.Page{TitleKey: "cases.erasure.title", Data: d})
}

func (s *Service) handleErase(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errNotFound
	}
	if c.FormValue("confirm") != "yes" {
		return s.renderErasure(c, fiber.StatusUnprocessableEntity, "cases.erasure.error.confirm")
	}
	if err := s.Erase(c.UserContext(), int64(id)); err != nil {
		status, key := frontend.Problem(err)
		if key == "" || status == fiber.StatusNotFound {
			return err
		}
		return s.renderErasure(c, status, key)
	}
	s.fe.Flash(c, "cases.erasure.flash.erased")
	return c.Redirect("/admin/erasure", fiber.StatusSeeOther)
}

func (s *Service) handleEraseAll(c *fiber.Ctx) error {
	if c.FormValue("confirm") != "yes" {
		return s.renderErasure(c, fiber.StatusUnprocessableEntity, "cases.erasure.error.confirm")
	}
	n, err := s.EraseAll(c.UserContext())
	if err != nil {
		return err
	}
	s.log.Info("cases: erased after retention", "count", n)
	s.fe.Flash(c, "cases.erasure.flash.erased_all")
	return c.Redirect("/admin/erasure", fiber.StatusSeeOther)
}
