package cases

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// The crisis-accommodation path (kriisimajoitus): when a resident loses
// their home, the responsible worker checks whether the emergency housing
// service for single people was considered, whether the resident's own
// network of relatives or friends was explored and whether the criteria
// for crisis accommodation are met; then the resident moves through the
// stages: crisis accommodation (1–3 months), an interim rental flat
// (välivuokra-asunto, 3–6 months) and a permanent rental flat. Network
// partners (a property manager, social work, Kela…) may be involved in
// any case. Their words are cases.crisis.<list>.<code> in fi, sv and en.
var (
	CrisisChecks = []string{"emergency_service", "own_network", "criteria_met"}
	CrisisStages = []string{"crisis", "interim", "permanent"}
	PartnerKinds = []string{"property_manager", "maintenance", "elderly_social_work", "disability_social_work",
		"adult_social_work", "child_protection", "home_care", "kela"}
)

// crisisMonths is how long a stage is meant to last at most; a stay
// beyond it is an overstay the desk flags. A permanent flat has no limit.
var crisisMonths = map[string]int{"crisis": 3, "interim": 6}

// MaxPartnerContact is the longest organisation or contact of a partner,
// in characters.
const MaxPartnerContact = 200

// CrisisCheck is the latest answer to one check of the path: who made it
// and on which day. The timeline keeps the earlier answers.
type CrisisCheck struct {
	ID        int64
	CaseID    int64
	Item      string // of CrisisChecks
	Answer    bool
	CheckedOn string // YYYY-MM-DD
	CheckedBy *int64
	CreatedAt time.Time
}

// TableName keeps gorm on the migrated table.
func (CrisisCheck) TableName() string { return "case_crisis_checks" }

// CrisisStage is one stage of the path; EndDate is "" while it goes on.
type CrisisStage struct {
	ID        int64
	CaseID    int64
	Stage     string // of CrisisStages
	StartDate string
	EndDate   string
	CreatedBy *int64
	CreatedAt time.Time
}

// TableName keeps gorm on the migrated table.
func (CrisisStage) TableName() string { return "case_crisis_stages" }

// Partner is a network partner involved in a case.
type Partner struct {
	ID        int64
	CaseID    int64
	Kind      string // of PartnerKinds
	Contact   string // the organisation or person, as typed; may be ""
	OnDate    string
	CreatedBy *int64
	CreatedAt time.Time
}

// TableName keeps gorm on the migrated table.
func (Partner) TableName() string { return "case_partners" }

// pastDay reads a day that has come: a valid date from 2000 on, not after
// today in the service's zone.
func (s *Service) pastDay(v string) (Date, bool) {
	d, err := ParseDate(v)
	if err != nil || d.Year < 2000 || d.After(DateOf(s.now().In(s.loc))) {
		return Date{}, false
	}
	return d, true
}

// RecordCrisisCheck records the answer ("yes" or "no") to a check of the
// path, made on onDate by the acting worker; answering again replaces it.
func (s *Service) RecordCrisisCheck(ctx context.Context, caseID int64, item, answer, onDate string) error {
	bad := map[string]string{}
	if !slices.Contains(CrisisChecks, item) {
		bad["crisis_check"] = "cases.error.choose"
	}
	if answer != "yes" && answer != "no" {
		bad["crisis_answer"] = "cases.error.choose"
	}
	d, ok := s.pastDay(onDate)
	if !ok {
		bad["crisis_check_date"] = "cases.crisis.error.date"
	}
	if len(bad) > 0 {
		return problem.Fields(bad)
	}
	act := auth.ActorFrom(ctx)
	return s.change(ctx, caseID, func(tx *gorm.DB, c *Case, now time.Time) ([]Event, error) {
		var old []CrisisCheck
		if err := tx.Where("case_id = ? AND item = ?", c.ID, item).Find(&old).Error; err != nil {
			return nil, fmt.Errorf("cases: crisis check of %d: %w", c.ID, err)
		}
		previous := ""
		if len(old) > 0 {
			previous = yesNo(old[0].Answer)
		}
		row := CrisisCheck{CaseID: c.ID, Item: item, Answer: answer == "yes", CheckedOn: d.String(), CheckedBy: &act.UserID, CreatedAt: now}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "case_id"}, {Name: "item"}},
			DoUpdates: clause.AssignmentColumns([]string{"answer", "checked_on", "checked_by", "created_at"}),
		}).Create(&row).Error
		if err != nil {
			return nil, fmt.Errorf("cases: save crisis check: %w", err)
		}
		return []Event{{Kind: "crisis_check", Field: item, OldValue: previous, NewValue: answer, OnDate: d.String()}}, nil
	})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// stagesOf loads a case's stages in the order of the path.
func stagesOf(ctx context.Context, db *gorm.DB, caseID int64) ([]CrisisStage, error) {
	var out []CrisisStage
	if err := db.WithContext(ctx).Where("case_id = ?", caseID).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("cases: crisis stages of %d: %w", caseID, err)
	}
	return out, nil
}

// StartCrisisStage starts a stage of the path on startDate. The path only
// goes forward (a stage may be skipped, not repeated); a stage does not
// start before the previous one started or ended, and the previous one,
// if it goes on, ends that day. Crisis accommodation needs its criteria
// checked as met first.
func (s *Service) StartCrisisStage(ctx context.Context, caseID int64, stage, startDate string) error {
	bad := map[string]string{}
	if !slices.Contains(CrisisStages, stage) {
		bad["crisis_stage"] = "cases.error.choose"
	}
	d, ok := s.pastDay(startDate)
	if !ok {
		bad["crisis_stage_start"] = "cases.crisis.error.date"
	}
	if len(bad) > 0 {
		return problem.Fields(bad)
	}
	start := d.String()
	act := auth.ActorFrom(ctx)
	return s.change(ctx, caseID, func(tx *gorm.DB, c *Case, now time.Time) ([]Event, error) {
		stages, err := stagesOf(ctx, tx, c.ID)
		if err != nil {
			return nil, err
		}
		if stage == "crisis" {
			var met int64
			if err := tx.Model(&CrisisCheck{}).Where("case_id = ? AND item = ? AND answer = ?", c.ID, "criteria_met", true).Count(&met).Error; err != nil {
				return nil, fmt.Errorf("cases: crisis criteria of %d: %w", c.ID, err)
			}
			if met == 0 {
				return nil, problem.Field("crisis_stage", "cases.crisis.error.criteria")
			}
		}
		var evs []Event
		if n := len(stages); n > 0 {
			last := stages[n-1]
			if slices.Index(CrisisStages, stage) <= slices.Index(CrisisStages, last.Stage) {
				return nil, problem.Field("crisis_stage", "cases.crisis.error.order")
			}
			if start < last.StartDate || (last.EndDate != "" && start < last.EndDate) {
				return nil, problem.Field("crisis_stage_start", "cases.crisis.error.before_previous")
			}
			if last.EndDate == "" {
				if err := tx.Model(&CrisisStage{}).Where("id = ?", last.ID).Update("end_date", start).Error; err != nil {
					return nil, fmt.Errorf("cases: end crisis stage %d: %w", last.ID, err)
				}
				evs = append(evs, Event{Kind: "crisis_stage", Field: last.Stage, NewValue: "ended", OnDate: start})
			}
		}
		if err := tx.Create(&CrisisStage{CaseID: c.ID, Stage: stage, StartDate: start, CreatedBy: &act.UserID, CreatedAt: now}).Error; err != nil {
			return nil, fmt.Errorf("cases: start crisis stage: %w", err)
		}
		return append(evs, Event{Kind: "crisis_stage", Field: stage, NewValue: "started", OnDate: start}), nil
	})
}

// EndCrisisStage ends the stage that goes on, on endDate: the resident
// left it, or the path ends there.
func (s *Service) EndCrisisStage(ctx context.Context, caseID int64, endDate string) error {
	d, ok := s.pastDay(endDate)
	if !ok {
		return problem.Field("crisis_stage_end", "cases.crisis.error.date")
	}
	end := d.String()
	return s.change(ctx, caseID, func(tx *gorm.DB, c *Case, _ time.Time) ([]Event, error) {
		stages, err := stagesOf(ctx, tx, c.ID)
		if err != nil {
			return nil, err
		}
		if len(stages) == 0 || stages[len(stages)-1].EndDate != "" {
			return nil, problem.Field("crisis_stage_end", "cases.crisis.error.no_stage")
		}
		last := stages[len(stages)-1]
		if end < last.StartDate {
			return nil, problem.Field("crisis_stage_end", "cases.crisis.error.end_before_start")
		}
		if err := tx.Model(&CrisisStage{}).Where("id = ?", last.ID).Update("end_date", end).Error; err != nil {
			return nil, fmt.Errorf("cases: end crisis stage %d: %w", last.ID, err)
		}
		return []Event{{Kind: "crisis_stage", Field: last.Stage, NewValue: "ended", OnDate: end}}, nil
	})
}

// AddPartner records a network partner involved in the case since onDate,
// with an optional organisation or contact.
func (s *Service) AddPartner(ctx context.Context, caseID int64, kind, contact, onDate string) error {
	bad := map[string]string{}
	if !slices.Contains(PartnerKinds, kind) {
		bad["partner_kind"] = "cases.error.choose"
	}
	if len([]rune(contact)) > MaxPartnerContact {
		bad["partner_contact"] = "cases.crisis.error.contact"
	}
	d, ok := s.pastDay(onDate)
	if !ok {
		bad["partner_date"] = "cases.crisis.error.date"
	}
	if len(bad) > 0 {
		return problem.Fields(bad)
	}
	act := auth.ActorFrom(ctx)
	return s.change(ctx, caseID, func(tx *gorm.DB, c *Case, now time.Time) ([]Event, error) {
		p := Partner{CaseID: c.ID, Kind: kind, Contact: contact, OnDate: d.String(), CreatedBy: &act.UserID, CreatedAt: now}
		if err := tx.Create(&p).Error; err != nil {
			return nil, fmt.Errorf("cases: partner: %w", err)
		}
		return []Event{{Kind: "partner", Field: kind, Body: contact, OnDate: p.OnDate}}, nil
	})
}

// stayDays is how many days a stage from start has lasted until until.
func stayDays(start, until Date) int {
	return int(until.Time().Sub(start.Time()).Hours() / 24)
}

// overstay reports whether a stage from start has lasted, until until,
// longer than it is meant to.
func overstay(stage string, start, until Date) bool {
	months, ok := crisisMonths[stage]
	return ok && until.After(start.AddMonths(months))
}

// Stay is a resident in a stage of the path that goes on, as the desk
// lists them.
type Stay struct {
	CaseID, ResidentID int64
	Stage              string
	Start              Date
	Days               int
	Over               bool // longer than the stage is meant to last
}

// CrisisStays lists the stages going on in the user's own open cases (she
// is responsible or the colleague): overstays first, then the longest.
func (s *Service) CrisisStays(ctx context.Context, userID int64) ([]Stay, error) {
	var rows []struct {
		CaseID, ResidentID int64
		Stage, StartDate   string
	}
	err := s.db.WithContext(ctx).Table("case_crisis_stages st").Joins("JOIN cases c ON c.id = st.case_id").
		Select("st.case_id, c.resident_id, st.stage, st.start_date").
		Where("st.end_date = '' AND c.status <> ? AND (c.advisor_id = ? OR c.colleague_id = ?)", StatusClosed, userID, userID).
		Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("cases: crisis stays of %d: %w", userID, err)
	}
	today := DateOf(s.now().In(s.loc))
	out := make([]Stay, 0, len(rows))
	for _, r := range rows {
		start, err := ParseDate(r.StartDate)
		if err != nil {
			return nil, fmt.Errorf("cases: crisis stage of case %d: %w", r.CaseID, err)
		}
		out = append(out, Stay{CaseID: r.CaseID, ResidentID: r.ResidentID, Stage: r.Stage, Start: start,
			Days: stayDays(start, today), Over: overstay(r.Stage, start, today)})
	}
	slices.SortFunc(out, func(a, b Stay) int {
		if a.Over != b.Over {
			if a.Over {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.Days, a.Days), cmp.Compare(a.CaseID, b.CaseID))
	})
	return out, nil
}

// registerCrisis mounts the crisis-accommodation path and the partners of
// a case.
func (s *Service) registerCrisis(r fiber.Router) {
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	r.Post("/desk/cases/:id<int>/crisis/checks", staff, s.handleCrisisCheck)
	r.Post("/desk/cases/:id<int>/crisis/stages", staff, s.handleCrisisStage)
	r.Post("/desk/cases/:id<int>/crisis/end", staff, s.handleCrisisEnd)
	r.Post("/desk/cases/:id<int>/partners", staff, s.handlePartner)
}

func (s *Service) handleCrisisCheck(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id") // the route's constraint made it a number
	form := frontend.ReadForm(c, "crisis_check", "crisis_answer", "crisis_check_date")
	var err error
	if !form.HasErrors() {
		err = s.RecordCrisisCheck(c.UserContext(), int64(id), form.Get("crisis_check"), form.Get("crisis_answer"), form.Get("crisis_check_date"))
	}
	return s.afterChange(c, form, err, "cases.crisis.flash.check")
}

func (s *Service) handleCrisisStage(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.ReadForm(c, "crisis_stage", "crisis_stage_start")
	var err error
	if !form.HasErrors() {
		err = s.StartCrisisStage(c.UserContext(), int64(id), form.Get("crisis_stage"), form.Get("crisis_stage_start"))
	}
	return s.afterChange(c, form, err, "cases.crisis.flash.stage")
}

func (s *Service) handleCrisisEnd(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.ReadForm(c, "crisis_stage_end")
	var err error
	if !form.HasErrors() {
		err = s.EndCrisisStage(c.UserContext(), int64(id), form.Get("crisis_stage_end"))
	}
	return s.afterChange(c, form, err, "cases.crisis.flash.ended")
}

func (s *Service) handlePartner(c *fiber.Ctx) error {
	id, _ := c.ParamsInt("id")
	form := frontend.ReadForm(c, "partner_kind", "partner_contact", "partner_date")
	var err error
	if !form.HasErrors() {
		err = s.AddPartner(c.UserContext(), int64(id), form.Get("partner_kind"), form.Get("partner_contact"), form.Get("partner_date"))
	}
	return s.afterChange(c, form, err, "cases.crisis.flash.partner")
}

// CrisisPage is the crisis-accommodation path and the partners of a case
// as its page shows them, with the code lists of its forms.
type CrisisPage struct {
	Checks   []CheckView // every check, answered or not
	Stages   []StageView // in the order of the path
	Ongoing  bool        // the last stage goes on: it can be ended
	Next     []string    // the stages that may start next
	Partners []PartnerView
	Items    []string // CrisisChecks
	Answers  []string // yes, no
	Kinds    []string // PartnerKinds
}

// CheckView is one check: its answer, on which day and by whom.
type CheckView struct {
	Item, Answer, On, Who string // Answer "" when not yet checked
}

// StageView is one stage with how long it has lasted.
type StageView struct {
	Stage, Start, End string
	Days              int
	Months            int  // the stage's limit, 0 for none
	Over              bool // it has lasted longer than the limit
}

// PartnerView is one partner involved.
type PartnerView struct {
	Kind, Contact, On, Who string
}

// crisisPage reads a case's path and partners for its page; the case was
// loaded through Get, which checked the rights and wrote the access log.
func (s *Service) crisisPage(ctx context.Context, caseID int64) (*CrisisPage, error) {
	db := s.db.WithContext(ctx)
	var checks []CrisisCheck
	if err := db.Where("case_id = ?", caseID).Find(&checks).Error; err != nil {
		return nil, fmt.Errorf("cases: crisis checks of %d: %w", caseID, err)
	}
	stages, err := stagesOf(ctx, s.db, caseID)
	if err != nil {
		return nil, err
	}
	var partners []Partner
	if err := db.Where("case_id = ?", caseID).Order("on_date, id").Find(&partners).Error; err != nil {
		return nil, fmt.Errorf("cases: partners of %d: %w", caseID, err)
	}
	var ids []int64
	for _, ch := range checks {
		if ch.CheckedBy != nil {
			ids = append(ids, *ch.CheckedBy)
		}
	}
	for _, p := range partners {
		if p.CreatedBy != nil {
			ids = append(ids, *p.CreatedBy)
		}
	}
	people, err := s.users.ByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	name := func(id *int64) string {
		if id != nil && people[*id] != nil {
			return people[*id].Name
		}
		return ""
	}
	p := &CrisisPage{Items: CrisisChecks, Answers: []string{"yes", "no"}, Kinds: PartnerKinds}
	for _, item := range CrisisChecks {
		v := CheckView{Item: item}
		if i := slices.IndexFunc(checks, func(ch CrisisCheck) bool { return ch.Item == item }); i >= 0 {
			v.Answer, v.On, v.Who = yesNo(checks[i].Answer), checks[i].CheckedOn, name(checks[i].CheckedBy)
		}
		p.Checks = append(p.Checks, v)
	}
	today := DateOf(s.now().In(s.loc))
	for _, st := range stages {
		start, err := ParseDate(st.StartDate)
		if err != nil {
			return nil, fmt.Errorf("cases: crisis stage %d: %w", st.ID, err)
		}
		until := today
		if st.EndDate != "" {
			if until, err = ParseDate(st.EndDate); err != nil {
				return nil, fmt.Errorf("cases: crisis stage %d: %w", st.ID, err)
			}
		}
		p.Stages = append(p.Stages, StageView{Stage: st.Stage, Start: st.StartDate, End: st.EndDate,
			Days: stayDays(start, until), Months: crisisMonths[st.Stage], Over: overstay(st.Stage, start, until)})
	}
	next := 0
	if n := len(stages); n > 0 {
		p.Ongoing = stages[n-1].EndDate == ""
		next = slices.Index(CrisisStages, stages[n-1].Stage) + 1
	}
	p.Next = CrisisStages[next:]
	for _, pt := range partners {
		p.Partners = append(p.Partners, PartnerView{Kind: pt.Kind, Contact: pt.Contact, On: pt.OnDate, Who: name(pt.CreatedBy)})
	}
	return p, nil
}

// CrisisSectionData is the Data of cases/crisis-desk-section.
type CrisisSectionData struct {
	frontend.Translator
	Rows []StayRow
}

// StayRow is a resident's ongoing stage on the desk.
type StayRow struct {
	CaseID          int64
	Resident, Stage string
	Start           string
	Days, Months    int
	Over            bool
}

// CrisisDeskSection is the desk's block of the crisis-accommodation path:
// who of the advisor's own clients is in which stage, for how long, with
// overstays flagged. It names residents, so it writes the access log.
func (s *Service) CrisisDeskSection(c *fiber.Ctx) (frontend.Section, error) {
	lang := frontend.Lang(c)
	d := &CrisisSectionData{Translator: s.fe.Translator(lang)}
	sec := frontend.Section{TitleKey: "cases.crisis.desk.title", Template: "cases/crisis-desk-section", Lang: lang, Data: d}
	u := auth.CurrentUser(c)
	if u == nil || !u.Role.Staff() {
		return sec, nil
	}
	ctx := c.UserContext()
	stays, err := s.CrisisStays(ctx, u.ID)
	if err != nil || len(stays) == 0 {
		return sec, err
	}
	ids := make([]int64, len(stays))
	for i, st := range stays {
		ids[i] = st.ResidentID
	}
	if err := s.audit.RecordList(ctx, ids, audit.CaseView, "cases/crisis", audit.ReasonDeskList); err != nil {
		return sec, err
	}
	people, err := s.users.ByIDs(ctx, ids)
	if err != nil {
		return sec, err
	}
	for _, st := range stays {
		r := StayRow{CaseID: st.CaseID, Stage: st.Stage, Start: st.Start.String(), Days: st.Days, Months: crisisMonths[st.Stage], Over: st.Over}
		if p := people[st.ResidentID]; p != nil {
			r.Resident = p.Name
		}
		d.Rows = append(d.Rows, r)
	}
	return sec, nil
}
