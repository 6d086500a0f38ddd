package cases

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// StoredPlan is a case's payment plan as stored.
type StoredPlan struct {
	ID              int64
	CaseID          int64
	TotalCents      int64
	InstalmentCents int64
	DueDay          int
	StartDate       string
	Reference       string // the tenant's payment reference at the rental company
	CreatedBy       *int64
	CreatedAt       time.Time
}

// TableName keeps gorm on the migrated table.
func (StoredPlan) TableName() string { return "payment_plans" }

// Plan is the stored plan as arithmetic.
func (p *StoredPlan) Plan() Plan {
	start, _ := ParseDate(p.StartDate) // written by SetPlan from a valid date
	return Plan{TotalCents: p.TotalCents, InstalmentCents: p.InstalmentCents, DueDay: p.DueDay, Start: start}
}

// StoredPayment is a payment toward a plan.
type StoredPayment struct {
	ID          int64
	PlanID      int64
	PaidOn      string
	AmountCents int64
	Source      string // hand, import
	ImportKey   *string
	CreatedBy   *int64
	CreatedAt   time.Time
}

// TableName keeps gorm on the migrated table.
func (StoredPayment) TableName() string { return "plan_payments" }

// normalReference is a payment reference as the CSV import reads it.
func normalReference(r string) string {
	return strings.ToUpper(strings.Join(strings.Fields(r), ""))
}

// SetPlan makes (or replaces) a case's payment plan; it is an intervention
// on the timeline and puts the case into follow-up.
func (s *Service) SetPlan(ctx context.Context, caseID int64, p Plan, reference string) error {
	if err := p.Validate(); err != nil {
		return err
	}
	reference = normalReference(reference)
	if len(reference) > 40 {
		return problem.Field("plan_reference", "cases.plan.error.reference")
	}
	act := auth.ActorFrom(ctx)
	return s.change(ctx, caseID, func(tx *gorm.DB, c *Case, now time.Time) ([]Event, error) {
		sp := StoredPlan{CaseID: c.ID, TotalCents: p.TotalCents, InstalmentCents: p.InstalmentCents, DueDay: p.DueDay,
			StartDate: p.Start.String(), Reference: reference, CreatedBy: &act.UserID, CreatedAt: now}
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "case_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"total_cents", "instalment_cents", "due_day", "start_date", "reference", "created_by", "created_at"}),
		}).Create(&sp).Error
		if err != nil {
			return nil, fmt.Errorf("cases: save plan: %w", err)
		}
		evs := []Event{{Kind: "intervention", Field: "payment_plan", OnDate: DateOf(now.In(s.loc)).String(),
			Body: FormatCents(p.TotalCents, "fi") + " / " + FormatCents(p.InstalmentCents, "fi")}}
		if c.Status == StatusOpen {
			evs = append(evs, Event{Kind: "change", Field: "status", OldValue: string(c.Status), NewValue: string(StatusFollowUp)})
			c.Status = StatusFollowUp
		}
		return evs, nil
	})
}

// planOf loads a case's plan; nil when it has none.
func (s *Service) planOf(ctx context.Context, db *gorm.DB, caseID int64) (*StoredPlan, error) {
	var sp StoredPlan
	err := db.WithContext(ctx).Where("case_id = ?", caseID).First(&sp).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cases: plan of %d: %w", caseID, err)
	}
	return &sp, nil
}

// AddPayment records a payment by hand.
func (s *Service) AddPayment(ctx context.Context, caseID int64, paidOn string, amountCents int64) error {
	d, err := ParseDate(paidOn)
	bad := map[string]string{}
	if err != nil || d.After(DateOf(s.now().In(s.loc))) {
		bad["paid_on"] = "cases.plan.error.paid_on"
	}
	if amountCents <= 0 || amountCents > MaxTotalCents {
		bad["amount"] = "cases.plan.error.amount"
	}
	if len(bad) > 0 {
		return problem.Fields(bad)
	}
	act := auth.ActorFrom(ctx)
	return s.change(ctx, caseID, func(tx *gorm.DB, c *Case, now time.Time) ([]Event, error) {
		sp, err := s.planOf(ctx, tx, c.ID)
		if err != nil {
			return nil, err
		}
		if sp == nil {
			return nil, problem.E(problem.Conflict, "cases.plan.error.no_plan")
		}
		p := StoredPayment{PlanID: sp.ID, PaidOn: d.String(), AmountCents: amountCents, Source: "hand", CreatedBy: &act.UserID, CreatedAt: now}
		if err := tx.Create(&p).Error; err != nil {
			return nil, fmt.Errorf("cases: payment: %w", err)
		}
		return []Event{{Kind: "payment", OnDate: d.String(), Body: FormatCents(amountCents, "fi")}}, nil
	})
}

// PlanView is a plan with its state today.
type PlanView struct {
	Plan      *StoredPlan
	Status    PlanStatus
	Payments  []StoredPayment
	NextDue   *InstalmentStatus
	Overdue   int
	Completed bool
}

// planView computes a case's plan on today's date; nil without a plan.
func (s *Service) planView(ctx context.Context, caseID int64) (*PlanView, error) {
	sp, err := s.planOf(ctx, s.db, caseID)
	if err != nil || sp == nil {
		return nil, err
	}
	var pays []StoredPayment
	if err := s.db.WithContext(ctx).Where("plan_id = ?", sp.ID).Order("paid_on, id").Find(&pays).Error; err != nil {
		return nil, fmt.Errorf("cases: payments of plan %d: %w", sp.ID, err)
	}
	return s.viewOf(sp, pays), nil
}

// viewOf computes a plan on today's date from its payments, in the order
// they were paid.
func (s *Service) viewOf(sp *StoredPlan, pays []StoredPayment) *PlanView {
	in := make([]Payment, 0, len(pays))
	for _, p := range pays {
		d, err := ParseDate(p.PaidOn)
		if err != nil {
			continue // written by this package from valid dates
		}
		in = append(in, Payment{Date: d, AmountCents: p.AmountCents})
	}
	st := Allocate(sp.Plan().Schedule(), in, DateOf(s.now().In(s.loc)))
	v := &PlanView{Plan: sp, Status: st, Payments: pays}
	for _, i := range st.Instalments {
		if i.Overdue {
			v.Overdue++
		}
	}
	if next, ok := st.Next(); ok {
		v.NextDue = &next
	} else {
		v.Completed = true
	}
	return v
}

// ImportResult is what a payments import did.
type ImportResult struct {
	Rows      int      // rows in the file
	Recorded  int      // payments recorded now
	Already   int      // rows imported before (the same file again)
	Unmatched []string // references of no plan the importer may see
}

// ImportPayments records the rental company's payment list: each row goes
// to the plan with its reference, among the cases the actor may see; rows
// imported before are skipped. A file with any bad row records nothing.
func (s *Service) ImportPayments(ctx context.Context, r io.Reader) (*ImportResult, error) {
	rows, err := ParsePaymentsCSV(r, 0)
	if err != nil {
		return nil, err
	}
	visible, err := s.Region(ctx, false, 100000)
	if err != nil {
		return nil, err
	}
	caseIDs := make([]int64, len(visible))
	residents := map[int64]int64{}
	for i, c := range visible {
		caseIDs[i] = c.ID
		residents[c.ID] = c.ResidentID
	}
	var plans []StoredPlan
	if len(caseIDs) > 0 {
		if err := s.db.WithContext(ctx).Where("case_id IN ? AND reference <> ''", caseIDs).Find(&plans).Error; err != nil {
			return nil, fmt.Errorf("cases: plans for import: %w", err)
		}
	}
	byRef := map[string]*StoredPlan{}
	for i := range plans {
		byRef[plans[i].Reference] = &plans[i]
	}
	act := auth.ActorFrom(ctx)
	res := &ImportResult{Rows: len(rows)}
	now := s.now().UTC()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		touched := map[int64]bool{}
		for _, row := range rows {
			sp := byRef[row.Reference]
			if sp == nil {
				res.Unmatched = append(res.Unmatched, row.Reference)
				continue
			}
			key := ImportKey(row)
			p := StoredPayment{PlanID: sp.ID, PaidOn: row.Date.String(), AmountCents: row.AmountCents, Source: "import", ImportKey: &key, CreatedBy: &act.UserID, CreatedAt: now}
			q := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "plan_id"}, {Name: "import_key"}}, DoNothing: true}).Create(&p)
			if q.Error != nil {
				return fmt.Errorf("cases: import payment: %w", q.Error)
			}
			if q.RowsAffected == 0 {
				res.Already++
				continue
			}
			res.Recorded++
			if !touched[sp.CaseID] {
				touched[sp.CaseID] = true
				if err := tx.Create(&Event{CaseID: sp.CaseID, Kind: "payment", ActorID: &act.UserID, Body: "CSV", OnDate: row.Date.String(), CreatedAt: now}).Error; err != nil {
					return fmt.Errorf("cases: import event: %w", err)
				}
				if err := s.audit.RecordTx(ctx, tx, residents[sp.CaseID], audit.CaseChange, resource(sp.CaseID), audit.ReasonCaseWork); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// OverdueCases counts the actor's own open cases whose plan has an overdue
// instalment: the desk's flag.
func (s *Service) OverdueCases(ctx context.Context, userID int64) (int, error) {
	ids, err := s.overdueCaseIDs(ctx, userID)
	return len(ids), err
}

// overdueCaseIDs lists the actor's own open cases whose plan has an
// overdue instalment.
func (s *Service) overdueCaseIDs(ctx context.Context, userID int64) ([]int64, error) {
	// Two queries for all her plans, not two per plan: the desk asks on
	// every load.
	mine := s.db.Model(&Case{}).Select("id").
		Where("status <> ? AND (advisor_id = ? OR colleague_id = ?)", StatusClosed, userID, userID)
	var plans []StoredPlan
	if err := s.db.WithContext(ctx).Where("case_id IN (?)", mine).Order("case_id").Find(&plans).Error; err != nil {
		return nil, fmt.Errorf("cases: plans of %d: %w", userID, err)
	}
	if len(plans) == 0 {
		return nil, nil
	}
	var pays []StoredPayment
	err := s.db.WithContext(ctx).Where("plan_id IN (?)", s.db.Model(&StoredPlan{}).Select("id").Where("case_id IN (?)", mine)).
		Order("plan_id, paid_on, id").Find(&pays).Error
	if err != nil {
		return nil, fmt.Errorf("cases: payments of %d's plans: %w", userID, err)
	}
	byPlan := map[int64][]StoredPayment{}
	for _, p := range pays {
		byPlan[p.PlanID] = append(byPlan[p.PlanID], p)
	}
	var out []int64
	for i := range plans {
		if v := s.viewOf(&plans[i], byPlan[plans[i].ID]); v.Overdue > 0 {
			out = append(out, plans[i].CaseID)
		}
	}
	return out, nil
}
