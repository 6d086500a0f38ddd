package cases

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/regions"
)

// The landlord's early warning (vuokranantajan varhainen varoitus): an
// admin imports the rental company's arrears list, and each tenant at or
// over the threshold becomes an outreach task (ota yhteyttä) for the
// advisors of the tenant's region, linked to the resident's open case
// when there is one.

// Defaults of the outreach threshold (Options.OutreachMinCents and
// OutreachMinMonths): 500 € of arrears, or two months behind.
const (
	DefaultOutreachMinCents  = 50000
	DefaultOutreachMinMonths = 2
)

// OutreachRetentionMonths is how long a done task keeps the tenant's name
// and address and the advisor's note: SweepOutreach empties them after.
const OutreachRetentionMonths = 12

// maxOutreachNote is the longest note on a done task, in characters.
const maxOutreachNote = 500

// maxOutreachBytes bounds an imported file (the web edge bounds it lower).
const maxOutreachBytes = 8 << 20

// maxOutreachList is how many tasks the list shows at a time.
const maxOutreachList = 500

// OutreachOutcomes are how an advisor ends an outreach task; their words
// are cases.outreach.outcome.<code>.
var OutreachOutcomes = []string{"reached_case_opened", "reached_no_need", "not_reached", "moved_away"}

// The statuses of an outreach task.
const (
	OutreachOpen = "open"
	OutreachDone = "done"
)

// OutreachRule decides which rows of the arrears list become tasks: a
// tenant qualifies with arrears of at least MinCents, or at least
// MinMonths months behind, whichever comes first.
type OutreachRule struct {
	MinCents  int64
	MinMonths int
}

// Qualifies reports whether a tenant with these arrears becomes a task.
func (r OutreachRule) Qualifies(arrearsCents int64, monthsBehind int) bool {
	return arrearsCents >= r.MinCents || monthsBehind >= r.MinMonths
}

// outreachRule is the rule of the options, with the defaults for zeros.
func (o Options) outreachRule() OutreachRule {
	r := OutreachRule{MinCents: o.OutreachMinCents, MinMonths: o.OutreachMinMonths}
	if r.MinCents <= 0 {
		r.MinCents = DefaultOutreachMinCents
	}
	if r.MinMonths <= 0 {
		r.MinMonths = DefaultOutreachMinMonths
	}
	return r
}

// OutreachTask is one tenant of the arrears list the advisors should
// contact.
type OutreachTask struct {
	ID        int64
	TenantRef string
	// Name and Address are the landlord's; emptied 12 months after the
	// task was done (RedactedAt).
	Name, Address string
	PostalCode    string
	RegionID      *int64 // nil: no region has the postal code; admins see it
	ArrearsCents  int64
	MonthsBehind  int
	CaseID        *int64 // the resident's open case, when one was found
	ImportID      int64  // the import that created the task
	LastImportID  int64  // the latest import that named the tenant
	Status        string // open, done
	Outcome       string
	Note          string
	DoneBy        *int64
	DoneAt        *time.Time
	RedactedAt    *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time `gorm:"autoUpdateTime:false"`
}

// TableName keeps gorm on the migrated table.
func (OutreachTask) TableName() string { return "outreach_tasks" }

// OutreachImport is one imported arrears list and what its import did.
// Rows = Created + Updated + Below; Matched and NoRegion count among the
// tasks created or updated.
type OutreachImport struct {
	ID            int64
	SHA256        string `gorm:"column:sha256"`
	ActorID       *int64
	RowsCount     int
	CreatedCount  int // new tasks
	UpdatedCount  int // tenants with an open task already: updated, not duplicated
	MatchedCount  int // tasks linked to an open case
	BelowCount    int // rows under the threshold, no task
	NoRegionCount int // tasks whose postal code is in no region
	MinCents      int64
	MinMonths     int
	CreatedAt     time.Time
}

// TableName keeps gorm on the migrated table.
func (OutreachImport) TableName() string { return "outreach_imports" }

// OutreachReport is what an import did, or, when Already, what the
// earlier import of the same file did.
type OutreachReport struct {
	OutreachImport
	Already bool
	// UnknownPostalCodes are the postal codes of the import's tasks that
	// no region has, for the admin to add to a region.
	UnknownPostalCodes []string
}

var (
	errOutreachNotFound = problem.E(problem.NotFound, "cases.outreach.error.not_found")
	errOutreachAdmin    = problem.E(problem.Forbidden, "")
	errOutreachDone     = problem.E(problem.Conflict, "cases.outreach.error.done")
	errAlreadyImported  = errors.New("cases: arrears list imported before")
)

func outreachResource(id int64) string { return "outreach/" + itoa(id) }

// ImportOutreach imports the rental company's arrears list (see
// ParseOutreachCSV); only an admin may. A file with any bad row imports
// nothing (a *CSVError names every line). A file imported before, byte for
// byte, imports nothing again: the earlier report comes back with Already.
// Otherwise each tenant with an open task has it updated (arrears, months,
// name, address, region), whatever the amounts; each other tenant who
// qualifies under the rule gets a new task in the region of the postal
// code (none when no region has it); the rest are counted below the
// threshold. A task without a case is linked to an open case of a
// resident with the same name (letter case, extra spaces and the order of
// the names aside) and postal code, or else to the still-open case an
// earlier task of the same tenant reference was linked to.
func (s *Service) ImportOutreach(ctx context.Context, r io.Reader) (*OutreachReport, error) {
	act := auth.ActorFrom(ctx)
	if act.Role != auth.RoleAdmin {
		return nil, errOutreachAdmin
	}
	data, err := io.ReadAll(io.LimitReader(r, maxOutreachBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cases: read arrears list: %w", err)
	}
	if len(data) > maxOutreachBytes {
		return nil, &CSVError{Lines: []LineError{{Line: 0, Key: "cases.csv.error.too_many"}}}
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if rep, err := s.earlierImport(ctx, digest); rep != nil || err != nil {
		return rep, err
	}
	rows, err := ParseOutreachCSV(bytes.NewReader(data), 0)
	if err != nil {
		return nil, err
	}
	refs := make([]string, len(rows))
	for i, row := range rows {
		refs[i] = row.TenantRef
	}
	m, err := s.outreachMatcher(ctx, refs)
	if err != nil {
		return nil, err
	}
	regionOf := map[string]*int64{}
	for _, row := range rows {
		if _, ok := regionOf[row.PostalCode]; ok {
			continue
		}
		reg, err := s.regions.ForPostalCode(ctx, row.PostalCode)
		switch {
		case err == nil:
			regionOf[row.PostalCode] = &reg.ID
		case errors.Is(err, regions.ErrNotFound):
			regionOf[row.PostalCode] = nil
		default:
			return nil, err
		}
	}
	rule := s.outreach
	now := s.now().UTC()
	imp := &OutreachImport{SHA256: digest, ActorID: &act.UserID, RowsCount: len(rows), MinCents: rule.MinCents, MinMonths: rule.MinMonths, CreatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(imp).Error; err != nil {
			if database.IsUniqueViolation(tx, err) {
				return errAlreadyImported // the same file, imported a moment ago
			}
			return fmt.Errorf("cases: record arrears import: %w", err)
		}
		open := map[string]*OutreachTask{}
		for chunk := range slices.Chunk(refs, 500) {
			var list []OutreachTask
			if err := tx.Where("status = ? AND tenant_ref IN ?", OutreachOpen, chunk).Find(&list).Error; err != nil {
				return fmt.Errorf("cases: open outreach tasks: %w", err)
			}
			for i := range list {
				open[list[i].TenantRef] = &list[i]
			}
		}
		for _, row := range rows {
			t := open[row.TenantRef]
			if t == nil && !rule.Qualifies(row.ArrearsCents, row.MonthsBehind) {
				imp.BelowCount++
				continue
			}
			if t == nil {
				t = &OutreachTask{TenantRef: row.TenantRef, ImportID: imp.ID, Status: OutreachOpen, CreatedAt: now}
			}
			t.Name, t.Address, t.PostalCode, t.RegionID = row.Name, row.Address, row.PostalCode, regionOf[row.PostalCode]
			t.ArrearsCents, t.MonthsBehind, t.LastImportID, t.UpdatedAt = row.ArrearsCents, row.MonthsBehind, imp.ID, now
			var linked int64 // the resident of a case linked now
			if t.CaseID == nil {
				if caseID, residentID, ok := m.match(row); ok {
					t.CaseID, linked = &caseID, residentID
				}
			}
			if t.ID == 0 {
				imp.CreatedCount++
				if err := tx.Create(t).Error; err != nil {
					return fmt.Errorf("cases: create outreach task: %w", err)
				}
			} else {
				imp.UpdatedCount++
				if err := tx.Save(t).Error; err != nil {
					return fmt.Errorf("cases: update outreach task %d: %w", t.ID, err)
				}
			}
			if t.CaseID != nil {
				imp.MatchedCount++
			}
			if t.RegionID == nil {
				imp.NoRegionCount++
			}
			if linked != 0 {
				if err := s.audit.RecordTx(ctx, tx, linked, audit.CaseChange, outreachResource(t.ID), audit.ReasonCaseWork); err != nil {
					return err
				}
			}
		}
		if err := tx.Save(imp).Error; err != nil {
			return fmt.Errorf("cases: record arrears import %d: %w", imp.ID, err)
		}
		return nil
	})
	if errors.Is(err, errAlreadyImported) {
		return s.earlierImport(ctx, digest)
	}
	if err != nil {
		return nil, err
	}
	return s.outreachReport(ctx, imp, false)
}

// earlierImport is the report of the import of the file with the digest,
// nil when there was none.
func (s *Service) earlierImport(ctx context.Context, digest string) (*OutreachReport, error) {
	var list []OutreachImport
	if err := s.db.WithContext(ctx).Where("sha256 = ?", digest).Limit(1).Find(&list).Error; err != nil {
		return nil, fmt.Errorf("cases: earlier arrears import: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return s.outreachReport(ctx, &list[0], true)
}

// OutreachImportReport returns the report of an earlier import, for an
// admin.
func (s *Service) OutreachImportReport(ctx context.Context, id int64) (*OutreachReport, error) {
	if auth.ActorFrom(ctx).Role != auth.RoleAdmin {
		return nil, errOutreachAdmin
	}
	imp, err := database.ByID[OutreachImport](ctx, s.db, id, false, errOutreachNotFound)
	if err != nil {
		return nil, err
	}
	return s.outreachReport(ctx, imp, false)
}

// OutreachImports lists the latest imports, newest first, for an admin.
func (s *Service) OutreachImports(ctx context.Context, limit int) ([]OutreachImport, error) {
	if auth.ActorFrom(ctx).Role != auth.RoleAdmin {
		return nil, errOutreachAdmin
	}
	var out []OutreachImport
	if err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("cases: arrears imports: %w", err)
	}
	return out, nil
}

func (s *Service) outreachReport(ctx context.Context, imp *OutreachImport, already bool) (*OutreachReport, error) {
	rep := &OutreachReport{OutreachImport: *imp, Already: already}
	err := s.db.WithContext(ctx).Model(&OutreachTask{}).Where("last_import_id = ? AND region_id IS NULL", imp.ID).
		Distinct("postal_code").Order("postal_code").Pluck("postal_code", &rep.UnknownPostalCodes).Error
	if err != nil {
		return nil, fmt.Errorf("cases: postal codes without region: %w", err)
	}
	return rep, nil
}

// caseMatcher finds the open case a tenant of the arrears list is linked
// to.
type caseMatcher struct {
	byPerson map[string][]int64 // personKey → open cases
	resident map[int64]int64    // open case → its resident
	byRef    map[string]int64   // tenant reference → the open case an earlier task was linked to
}

// personKey is a name and postal code as matching compares them: letter
// case, white space and the order of the names do not matter ("Virtanen
// Aino" is "aino  VIRTANEN").
func personKey(name, postalCode string) string {
	parts := strings.Fields(strings.ToLower(name))
	if len(parts) == 0 || postalCode == "" {
		return ""
	}
	slices.Sort(parts)
	return strings.Join(parts, " ") + "|" + strings.TrimSpace(postalCode)
}

// outreachMatcher reads the open cases with their residents' names and
// postal codes (through auth), and the cases earlier tasks of refs were
// linked to.
func (s *Service) outreachMatcher(ctx context.Context, refs []string) (*caseMatcher, error) {
	m := &caseMatcher{byPerson: map[string][]int64{}, resident: map[int64]int64{}, byRef: map[string]int64{}}
	var open []struct{ ID, ResidentID int64 }
	if err := s.db.WithContext(ctx).Model(&Case{}).Where("status <> ?", StatusClosed).Select("id, resident_id").Order("id").Scan(&open).Error; err != nil {
		return nil, fmt.Errorf("cases: open cases to match: %w", err)
	}
	residents := make([]int64, len(open))
	for i, c := range open {
		m.resident[c.ID] = c.ResidentID
		residents[i] = c.ResidentID
	}
	for chunk := range slices.Chunk(residents, 500) {
		people, err := s.users.ByIDs(ctx, chunk)
		if err != nil {
			return nil, err
		}
		for _, c := range open {
			if p := people[c.ResidentID]; p != nil {
				if k := personKey(p.Name, p.PostalCode); k != "" {
					m.byPerson[k] = append(m.byPerson[k], c.ID)
				}
			}
		}
	}
	for chunk := range slices.Chunk(refs, 500) {
		var links []struct {
			TenantRef string
			CaseID    int64
		}
		err := s.db.WithContext(ctx).Model(&OutreachTask{}).Where("tenant_ref IN ? AND case_id IS NOT NULL", chunk).
			Select("tenant_ref, case_id").Order("id").Scan(&links).Error
		if err != nil {
			return nil, fmt.Errorf("cases: earlier outreach links: %w", err)
		}
		for _, l := range links { // the latest link wins
			if _, ok := m.resident[l.CaseID]; ok {
				m.byRef[l.TenantRef] = l.CaseID
			}
		}
	}
	return m, nil
}

// match finds the row's open case: one resident's of the same name and
// postal code (two such cases are ambiguous: none), else the one an
// earlier task of the tenant reference was linked to.
func (m *caseMatcher) match(row OutreachRow) (caseID, residentID int64, ok bool) {
	if ids := m.byPerson[personKey(row.Name, row.PostalCode)]; len(ids) == 1 {
		return ids[0], m.resident[ids[0]], true
	}
	if id, found := m.byRef[row.TenantRef]; found {
		return id, m.resident[id], true
	}
	return 0, 0, false
}

// OutreachFilter chooses the tasks of the list.
type OutreachFilter struct {
	Done bool // done tasks, latest first, instead of the open ones
	// Region is, for an admin, a region's id, "none" for the tasks of no
	// region, "" for all; an advisor always sees her region's.
	Region string
}

// myRegion is the acting advisor's region; nil for none.
func (s *Service) myRegion(ctx context.Context) (*int64, error) {
	me, err := s.users.ByID(ctx, auth.ActorFrom(ctx).UserID)
	if err != nil {
		return nil, err
	}
	return me.RegionID, nil
}

// outreachScope narrows q to the tasks the actor may see, or says there
// are none.
func (s *Service) outreachScope(ctx context.Context, q *gorm.DB, region string) (*gorm.DB, bool, error) {
	switch auth.ActorFrom(ctx).Role {
	case auth.RoleAdmin:
		switch region {
		case "":
			return q, true, nil
		case "none":
			return q.Where("region_id IS NULL"), true, nil
		}
		id, err := strconv.ParseInt(region, 10, 64)
		if err != nil {
			return q, false, nil
		}
		return q.Where("region_id = ?", id), true, nil
	case auth.RoleAdvisor:
		mine, err := s.myRegion(ctx)
		if err != nil || mine == nil {
			return q, false, err
		}
		return q.Where("region_id = ?", *mine), true, nil
	}
	return q, false, nil
}

// OutreachTasks lists the tasks the actor may see: an advisor her
// region's, an admin all (or one region's, or those of no region). Open
// tasks come largest arrears first; done ones latest first. It returns at
// most maxOutreachList tasks and how many there are in all.
func (s *Service) OutreachTasks(ctx context.Context, f OutreachFilter) ([]OutreachTask, int64, error) {
	status, order := OutreachOpen, "arrears_cents DESC, months_behind DESC, id"
	if f.Done {
		status, order = OutreachDone, "done_at DESC, id DESC"
	}
	q, ok, err := s.outreachScope(ctx, s.db.WithContext(ctx).Model(&OutreachTask{}).Where("status = ?", status), f.Region)
	if err != nil || !ok {
		return nil, 0, err
	}
	var n int64
	if err := q.Session(&gorm.Session{}).Count(&n).Error; err != nil {
		return nil, 0, fmt.Errorf("cases: count outreach tasks: %w", err)
	}
	var out []OutreachTask
	if err := q.Order(order).Limit(maxOutreachList).Find(&out).Error; err != nil {
		return nil, 0, fmt.Errorf("cases: outreach tasks: %w", err)
	}
	return out, n, nil
}

// OpenOutreachCount counts the open tasks the actor sees, and among them
// those of no region (only an admin sees them).
func (s *Service) OpenOutreachCount(ctx context.Context) (open, noRegion int64, err error) {
	q, ok, err := s.outreachScope(ctx, s.db.WithContext(ctx).Model(&OutreachTask{}).Where("status = ?", OutreachOpen), "")
	if err != nil || !ok {
		return 0, 0, err
	}
	if err := q.Session(&gorm.Session{}).Count(&open).Error; err != nil {
		return 0, 0, fmt.Errorf("cases: count open outreach tasks: %w", err)
	}
	if auth.ActorFrom(ctx).Role == auth.RoleAdmin {
		if err := q.Where("region_id IS NULL").Count(&noRegion).Error; err != nil {
			return 0, 0, fmt.Errorf("cases: count outreach tasks of no region: %w", err)
		}
	}
	return open, noRegion, nil
}

// outreachVisible loads a task the actor may see: an advisor those of her
// region, an admin all; everyone else not found.
func (s *Service) outreachVisible(ctx context.Context, db *gorm.DB, id int64, lock bool) (*OutreachTask, error) {
	t, err := database.ByID[OutreachTask](ctx, db, id, lock, errOutreachNotFound)
	if err != nil {
		return nil, err
	}
	switch auth.ActorFrom(ctx).Role {
	case auth.RoleAdmin:
		return t, nil
	case auth.RoleAdvisor:
		mine, err := s.myRegion(ctx)
		if err != nil {
			return nil, err
		}
		if mine != nil && t.RegionID != nil && *mine == *t.RegionID {
			return t, nil
		}
	}
	return nil, errOutreachNotFound
}

// caseResidents maps cases to their residents.
func caseResidents(ctx context.Context, db *gorm.DB, caseIDs []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	for chunk := range slices.Chunk(caseIDs, 500) {
		var rows []struct{ ID, ResidentID int64 }
		if err := db.WithContext(ctx).Model(&Case{}).Where("id IN ?", chunk).Select("id, resident_id").Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("cases: residents of cases: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r.ResidentID
		}
	}
	return out, nil
}

// OutreachTask opens a task for staff; when it is linked to a case, the
// read of the resident's data goes to the access log.
func (s *Service) OutreachTask(ctx context.Context, id int64) (*OutreachTask, error) {
	t, err := s.outreachVisible(ctx, s.db, id, false)
	if err != nil {
		return nil, err
	}
	if t.CaseID != nil {
		res, err := caseResidents(ctx, s.db, []int64{*t.CaseID})
		if err != nil {
			return nil, err
		}
		if err := s.audit.Record(ctx, res[*t.CaseID], audit.CaseView, outreachResource(t.ID), audit.ReasonCaseWork); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// CompleteOutreach marks a task done with its outcome and an optional
// note (at most 500 characters); the task leaves the open list. A task
// done already is a conflict; bad input changes nothing.
func (s *Service) CompleteOutreach(ctx context.Context, id int64, outcome, note string) error {
	bad := map[string]string{}
	if !slices.Contains(OutreachOutcomes, outcome) {
		bad["outcome"] = "cases.error.choose"
	}
	if utf8.RuneCountInString(note) > maxOutreachNote {
		bad["note"] = "cases.outreach.error.note"
	}
	if len(bad) > 0 {
		return problem.Fields(bad)
	}
	act := auth.ActorFrom(ctx)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		t, err := s.outreachVisible(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if t.Status != OutreachOpen {
			return errOutreachDone
		}
		now := s.now().UTC()
		err = tx.Model(&OutreachTask{}).Where("id = ? AND status = ?", id, OutreachOpen).Updates(map[string]any{
			"status": OutreachDone, "outcome": outcome, "note": note, "done_by": act.UserID, "done_at": now, "updated_at": now}).Error
		if err != nil {
			return fmt.Errorf("cases: outreach task %d done: %w", id, err)
		}
		if t.CaseID == nil {
			return nil
		}
		res, err := caseResidents(ctx, tx, []int64{*t.CaseID})
		if err != nil {
			return err
		}
		return s.audit.RecordTx(ctx, tx, res[*t.CaseID], audit.CaseChange, outreachResource(id), audit.ReasonCaseWork)
	})
}

// SweepOutreach empties the name, address and note of the tasks done more
// than OutreachRetentionMonths ago, and returns how many it emptied. The
// tenant reference, postal code, region, amounts, outcome and case link
// stay: they name nobody by themselves, and a later list of the same
// tenant still finds the case. Run it daily (RunOutreachSweep).
func (s *Service) SweepOutreach(ctx context.Context) (int64, error) {
	now := s.now().UTC()
	q := s.db.WithContext(ctx).Model(&OutreachTask{}).
		Where("status = ? AND done_at < ? AND redacted_at IS NULL", OutreachDone, now.AddDate(0, -OutreachRetentionMonths, 0)).
		Updates(map[string]any{"name": "", "address": "", "note": "", "redacted_at": now})
	if q.Error != nil {
		return 0, fmt.Errorf("cases: sweep outreach tasks: %w", q.Error)
	}
	return q.RowsAffected, nil
}

// RunOutreachSweep runs SweepOutreach every interval until ctx ends.
func (s *Service) RunOutreachSweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.SweepOutreach(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("cases: outreach retention", "err", err)
		} else if n > 0 {
			s.log.Info("cases: outreach tasks emptied after retention", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// registerOutreach mounts the outreach tasks: the advisors' list and
// task pages, and the admins' import of the arrears list.
func (s *Service) registerOutreach(r fiber.Router) {
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	admin := auth.RequireRole(auth.RoleAdmin)
	r.Get("/desk/cases/outreach", staff, s.handleOutreachList)
	r.Get("/desk/cases/outreach/import", admin, s.handleOutreachImportForm)
	r.Post("/desk/cases/outreach/import", admin, s.handleOutreachImport)
	r.Get("/desk/cases/outreach/:id<int>", staff, s.handleOutreachTask)
	r.Post("/desk/cases/outreach/:id<int>/done", staff, s.handleOutreachDone)
}

// OutreachListData is the Data of cases/outreach.
type OutreachListData struct {
	Rows  []OutreachRowView
	Total int64 // all the tasks the filter finds; Rows are the first maxOutreachList
	Done  bool
	Admin bool
	// Regions are the admin's filter's choices; Region the chosen one
	// ("", "none" or an id), RegionQuery it as a query string for links.
	Regions     []frontend.Option
	Region      string
	RegionQuery string
	Rule        RuleView
}

// RuleView is the threshold as the pages state it.
type RuleView struct {
	Min    string
	Months int
}

// OutreachRowView is a task as the list and its page show it.
type OutreachRowView struct {
	ID                        int64
	Name, Address, PostalCode string
	Region                    string // "" for none
	Arrears                   string
	Months                    int
	CaseID                    int64 // 0: no case
	Updated                   string
	Outcome, Done             string
}

func (s *Service) ruleView(lang string) RuleView {
	return RuleView{Min: FormatCents(s.outreach.MinCents, lang), Months: s.outreach.MinMonths}
}

// regionNames maps region ids to their names in lang.
func (s *Service) regionNames(ctx context.Context, lang string) (map[int64]string, []frontend.Option, error) {
	all, err := s.regions.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := map[int64]string{}
	var opts []frontend.Option
	for _, r := range all {
		names[r.ID] = r.Name(lang)
		opts = append(opts, frontend.Option{Value: itoa(r.ID), Label: r.Name(lang)})
	}
	return names, opts, nil
}

func (s *Service) handleOutreachList(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	admin := auth.CurrentUser(c).Role == auth.RoleAdmin
	f := OutreachFilter{Done: c.Query("done") == "1"}
	if admin {
		f.Region = strings.Clone(c.Query("region"))
		if _, err := strconv.ParseInt(f.Region, 10, 64); err != nil && f.Region != "none" {
			f.Region = ""
		}
	}
	list, total, err := s.OutreachTasks(ctx, f)
	if err != nil {
		return err
	}
	var caseIDs []int64
	for _, t := range list {
		if t.CaseID != nil {
			caseIDs = append(caseIDs, *t.CaseID)
		}
	}
	residents, err := caseResidents(ctx, s.db, caseIDs)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(residents))
	for _, id := range caseIDs {
		ids = append(ids, residents[id])
	}
	if err := s.audit.RecordList(ctx, ids, audit.CaseView, "cases/outreach", audit.ReasonDeskList); err != nil {
		return err
	}
	names, opts, err := s.regionNames(ctx, lang)
	if err != nil {
		return err
	}
	d := OutreachListData{Total: total, Done: f.Done, Admin: admin, Region: f.Region, Rule: s.ruleView(lang)}
	if admin {
		d.Regions = append(opts, frontend.Option{Value: "none", LabelKey: "cases.outreach.no_region"})
		if f.Region != "" {
			d.RegionQuery = "&region=" + f.Region
		}
	}
	for _, t := range list {
		d.Rows = append(d.Rows, s.outreachRowView(t, names, lang))
	}
	form := frontend.NewForm()
	form.Set("region", f.Region)
	return s.fe.Render(c, fiber.StatusOK, "cases/outreach", frontend.Page{TitleKey: "cases.outreach.title", Data: d, Form: form})
}

func (s *Service) outreachRowView(t OutreachTask, names map[int64]string, lang string) OutreachRowView {
	v := OutreachRowView{ID: t.ID, Name: t.Name, Address: t.Address, PostalCode: t.PostalCode, Arrears: FormatCents(t.ArrearsCents, lang),
		Months: t.MonthsBehind, Updated: s.fe.DateTime(lang, t.UpdatedAt), Outcome: t.Outcome}
	if t.RegionID != nil {
		v.Region = names[*t.RegionID]
	}
	if t.CaseID != nil {
		v.CaseID = *t.CaseID
	}
	if t.DoneAt != nil {
		v.Done = s.fe.DateTime(lang, *t.DoneAt)
	}
	return v
}

// OutreachTaskData is the Data of cases/outreach-task.
type OutreachTaskData struct {
	Task      OutreachRowView
	TenantRef string
	Created   string
	Done      bool
	Note      string
	Redacted  bool
	Outcomes  []string
}

func (s *Service) handleOutreachTask(c *fiber.Ctx) error {
	return s.renderOutreachTask(c, fiber.StatusOK, frontend.NewForm())
}

func (s *Service) renderOutreachTask(c *fiber.Ctx, status int, form *frontend.Form) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return errOutreachNotFound
	}
	ctx := c.UserContext()
	t, err := s.OutreachTask(ctx, int64(id))
	if err != nil {
		return err
	}
	lang := frontend.Lang(c)
	names, _, err := s.regionNames(ctx, lang)
	if err != nil {
		return err
	}
	d := OutreachTaskData{Task: s.outreachRowView(*t, names, lang), TenantRef: t.TenantRef, Created: s.fe.DateTime(lang, t.CreatedAt),
		Done: t.Status == OutreachDone, Note: t.Note, Redacted: t.RedactedAt != nil, Outcomes: OutreachOutcomes}
	return s.fe.Render(c, status, "cases/outreach-task", frontend.Page{TitleKey: "cases.outreach.task.title", Data: d, Form: form})
}

func (s *Service) handleOutreachDone(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id") // the route's constraint made it a number
	form := frontend.ReadForm(c, "outcome").ReadText(c, "note")
	var err error
	if !form.HasErrors() {
		err = s.CompleteOutreach(c.UserContext(), int64(id), form.Get("outcome"), form.Get("note"))
	}
	if err == nil && !form.HasErrors() {
		s.fe.Flash(c, "cases.outreach.flash.done")
		return c.Redirect("/desk/cases/outreach", fiber.StatusSeeOther)
	}
	status := fiber.StatusUnprocessableEntity
	if err != nil {
		if status, err = failFields(form, err); err != nil {
			return err
		}
	}
	return s.renderOutreachTask(c, status, form)
}

// OutreachImportData is the Data of cases/outreach-import.
type OutreachImportData struct {
	Report  *OutreachReport
	When    string // the report's import time
	Lines   []LineError
	Bad     int // rows with something wrong
	Rule    RuleView
	Imports []ImportView
}

// ImportView is an earlier import in the list of imports.
type ImportView struct {
	ID   int64
	When string
	OutreachImport
}

func (s *Service) handleOutreachImportForm(c *fiber.Ctx) error {
	var rep *OutreachReport
	if v := c.Query("report"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return errOutreachNotFound
		}
		if rep, err = s.OutreachImportReport(c.UserContext(), id); err != nil {
			return err
		}
	}
	return s.renderOutreachImport(c, fiber.StatusOK, OutreachImportData{Report: rep}, nil)
}

func (s *Service) renderOutreachImport(c *fiber.Ctx, status int, d OutreachImportData, form *frontend.Form) error {
	lang := frontend.Lang(c)
	d.Rule = s.ruleView(lang)
	if d.Report != nil {
		d.When = s.fe.DateTime(lang, d.Report.CreatedAt)
	}
	list, err := s.OutreachImports(c.UserContext(), 10)
	if err != nil {
		return err
	}
	for _, imp := range list {
		d.Imports = append(d.Imports, ImportView{ID: imp.ID, When: s.fe.DateTime(lang, imp.CreatedAt), OutreachImport: imp})
	}
	return s.fe.Render(c, status, "cases/outreach-import", frontend.Page{TitleKey: "cases.outreach.import.title", Data: d, Form: form})
}

// handleOutreachImport reads the uploaded arrears list (small: the body
// guard's limit) and shows its report, or every bad line.
func (s *Service) handleOutreachImport(c *fiber.Ctx) error {
	form := frontend.NewForm()
	fh, err := c.FormFile("file")
	if err != nil {
		form.Fail("file", "cases.import.error.no_file")
		return s.renderOutreachImport(c, fiber.StatusUnprocessableEntity, OutreachImportData{}, form)
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // read-only
	rep, err := s.ImportOutreach(c.UserContext(), f)
	var ce *CSVError
	if errors.As(err, &ce) {
		form.Fail("file", "cases.import.error.bad_lines")
		return s.renderOutreachImport(c, fiber.StatusUnprocessableEntity, OutreachImportData{Lines: ce.Lines, Bad: countLines(ce.Lines)}, form)
	}
	if err != nil {
		return err
	}
	if rep.Already {
		s.fe.Flash(c, "cases.outreach.flash.already") // the report below is the earlier import's
	} else {
		s.fe.Flash(c, "cases.outreach.flash.imported")
	}
	return c.Redirect("/desk/cases/outreach/import?report="+itoa(rep.ID), fiber.StatusSeeOther)
}

// OutreachDeskSection is the desk's block of the landlord's early
// warning: how many open outreach tasks the advisor's region has (an
// admin: all, and those of no region), linking to the list. It names
// nobody.
func (s *Service) OutreachDeskSection(c *fiber.Ctx) (frontend.Section, error) {
	lang := frontend.Lang(c)
	d := &OutreachSectionData{Translator: s.fe.Translator(lang)}
	sec := frontend.Section{TitleKey: "cases.outreach.desk.title", Template: "cases/outreach-desk-section", Lang: lang, Data: d}
	u := auth.CurrentUser(c)
	if u == nil || !u.Role.Staff() {
		return sec, nil
	}
	d.Admin = u.Role == auth.RoleAdmin
	var err error
	d.Count, d.NoRegion, err = s.OpenOutreachCount(c.UserContext())
	return sec, err
}

// OutreachSectionData is the Data of cases/outreach-desk-section.
type OutreachSectionData struct {
	frontend.Translator
	Count, NoRegion int64
	Admin           bool
}
