package cases

import (
	"context"
	"fmt"
	"hash/fnv"
	"html/template"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// StatsQuery is the period and region the statistics count.
type StatsQuery struct {
	// From and To bound the period, [From, To): From is counted, To is
	// not. The page makes them local midnights; interventions, whose
	// date is a day, count from From's local day up to To's.
	From, To time.Time
	// RegionID is the region counted; 0 means every region (an admin's
	// choice; an advisor's 0 means her own region).
	RegionID int64
}

// Count is how many cases (or interventions) have one code.
type Count struct {
	Code string
	N    int64
}

// Share is a part of a whole: N of Of cases.
type Share struct {
	N, Of int64
}

// Percent is N as a whole percentage of Of, rounded half up; ok is false
// when Of is under MinGroup and the share is not published.
func (s Share) Percent() (pct int64, ok bool) {
	if s.Of < MinGroup {
		return 0, false
	}
	return (200*s.N + s.Of) / (2 * s.Of), true
}

// Stats are the figures of a period and region, the counts of the
// service's effectiveness study. Every list follows its code list, with
// 0 for codes nobody had.
type Stats struct {
	// Query is what was counted, an advisor's region filled in.
	Query StatsQuery
	// NewByReason and NewByReferrer count the cases opened in the period
	// (an empty referrer is "unknown").
	NewByReason, NewByReferrer []Count
	// RentDebtByHousehold counts the rent-debt cases opened in the period
	// by household type (an empty one is "unknown").
	RentDebtByHousehold []Count
	// Interventions counts the interventions dated in the period.
	Interventions []Count
	// ClosedByOutcome counts the cases closed in the period.
	ClosedByOutcome []Count
	// HousingContinued is, of the rent-debt cases closed in the period,
	// those whose housing continued.
	HousingContinued Share
	// EvictionsPrevented counts the cases with an eviction cancelled or a
	// rent debt kept out of court, dated in the period.
	EvictionsPrevented int64
	// CrisisByStage counts the people in each stage of the
	// crisis-accommodation path during the period: the stage started by
	// its last day and had not ended before its first.
	CrisisByStage []Count
	// Channels are the figures that need the other channels' data (days
	// to the first meeting, chats, appointments); nil when the service has
	// no ChannelStats.
	Channels *ChannelFigures
}

// Unknown is the code of an empty referrer or household in the figures.
const Unknown = "unknown"

// MinGroup is the smallest group whose size is published: 1–4 cases
// could point at a person.
const MinGroup = 5

// ShownCount is how a count is published, in tables, charts and the CSV
// alike: 0 as it is, 1–4 as "< 5", larger counts as they are.
func ShownCount(n int64) string {
	if suppressed(n) {
		return "< " + strconv.Itoa(MinGroup)
	}
	return strconv.FormatInt(n, 10)
}

// suppressed reports whether a count is too small to publish.
func suppressed(n int64) bool { return n > 0 && n < MinGroup }

var errStatsRegion = problem.E(problem.Forbidden, "cases.stats.error.region")

// statsScope decides the region counted: an admin (the supervisor: auth
// has no role of its own for one yet) any region or all; an advisor her
// own region only, 0 meaning it, another region forbidden rather than
// silently swapped, so a figure is never shown under the wrong name.
func (s *Service) statsScope(ctx context.Context, region int64) (int64, error) {
	act := auth.ActorFrom(ctx)
	switch {
	case act.UserID == 0:
		return 0, problem.E(problem.Forbidden, "")
	case act.Role == auth.RoleAdmin:
		return region, nil
	case act.Role != auth.RoleAdvisor:
		return 0, problem.E(problem.Forbidden, "")
	}
	me, err := s.users.ByID(ctx, act.UserID)
	if err != nil {
		return 0, fmt.Errorf("cases: stats: load %d: %w", act.UserID, err)
	}
	if me.RegionID == nil || (region != 0 && region != *me.RegionID) {
		return 0, errStatsRegion
	}
	return *me.RegionID, nil
}

// Stats counts the period's cases with one GROUP BY query per table, in
// SQL that SQLite and PostgreSQL answer alike. Timestamps are compared as
// UTC instants; an intervention's date, text YYYY-MM-DD, with the
// period's local dates as text.
func (s *Service) Stats(ctx context.Context, q StatsQuery) (*Stats, error) {
	if !q.From.Before(q.To) {
		return nil, problem.Field("to", "cases.stats.error.period")
	}
	region, err := s.statsScope(ctx, q.RegionID)
	if err != nil {
		return nil, err
	}
	q.RegionID = region
	from, to := q.From.UTC(), q.To.UTC()
	fromDay, toDay := q.From.In(s.loc).Format(time.DateOnly), q.To.In(s.loc).Format(time.DateOnly)
	db := s.db.WithContext(ctx)
	// cases are the region's cases; events their interventions in the
	// period. The unary plus on e.case_id (a no-op in both dialects)
	// keeps SQLite off the case_id index: walking every event of the
	// region's cases through it, row by row, is three times slower than
	// reading the events once.
	cases := func() *gorm.DB {
		d := db.Table("cases")
		if region != 0 {
			d = d.Where("region_id = ?", region)
		}
		return d
	}
	events := func() *gorm.DB {
		d := db.Table("case_events e").Where("e.kind = ? AND e.on_date >= ? AND e.on_date < ?", "intervention", fromDay, toDay)
		if region != 0 {
			d = d.Where("+e.case_id IN (?)", db.Table("cases").Select("id").Where("region_id = ?", region))
		}
		return d
	}
	// crisisStages are the people in each stage of the path during the
	// period, a person with two cases once.
	crisisStages := func() *gorm.DB {
		d := db.Table("case_crisis_stages st").Joins("JOIN cases c ON c.id = st.case_id").
			Select("st.stage AS code, COUNT(DISTINCT c.resident_id) AS n").
			Where("st.start_date < ? AND (st.end_date = '' OR st.end_date >= ?)", toDay, fromDay).Group("st.stage")
		if region != 0 {
			d = d.Where("c.region_id = ?", region)
		}
		return d
	}
	st := &Stats{Query: q}
	groups := []struct {
		what  string
		query *gorm.DB
		list  []string
		into  *[]Count
	}{
		{"reasons", cases().Select("reason AS code, COUNT(*) AS n").
			Where("created_at >= ? AND created_at < ?", from, to).Group("reason"), Reasons, &st.NewByReason},
		{"referrers", cases().Select("CASE WHEN referrer = '' THEN ? ELSE referrer END AS code, COUNT(*) AS n", Unknown).
			Where("created_at >= ? AND created_at < ?", from, to).Group("referrer"), append(slices.Clone(Referrers), Unknown), &st.NewByReferrer},
		{"households", cases().Select("CASE WHEN household = '' THEN ? ELSE household END AS code, COUNT(*) AS n", Unknown).
			Where("reason = ? AND created_at >= ? AND created_at < ?", "rent_debt", from, to).Group("household"), append(slices.Clone(Households), Unknown), &st.RentDebtByHousehold},
		{"interventions", events().Select("e.field AS code, COUNT(*) AS n").Group("e.field"), Interventions, &st.Interventions},
		{"outcomes", cases().Select("outcome AS code, COUNT(*) AS n").
			Where("closed_at >= ? AND closed_at < ?", from, to).Group("outcome"), Outcomes, &st.ClosedByOutcome},
		{"crisis stages", crisisStages(), CrisisStages, &st.CrisisByStage},
	}
	for _, g := range groups {
		var rows []Count
		if err := g.query.Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("cases: stats: %s: %w", g.what, err)
		}
		*g.into = inListOrder(g.list, rows)
	}
	var share struct {
		N  int64 `gorm:"column:n"`
		Of int64 `gorm:"column:whole"`
	}
	err = cases().Select("COALESCE(SUM(CASE WHEN outcome = ? THEN 1 ELSE 0 END), 0) AS n, COUNT(*) AS whole", "housing_continues").
		Where("reason = ? AND closed_at >= ? AND closed_at < ?", "rent_debt", from, to).Scan(&share).Error
	if err != nil {
		return nil, fmt.Errorf("cases: stats: housing continued: %w", err)
	}
	st.HousingContinued = Share(share)
	err = events().Select("COUNT(DISTINCT +e.case_id)").
		Where("e.field IN ?", []string{"eviction_cancelled", "kept_out_of_court"}).Scan(&st.EvictionsPrevented).Error
	if err != nil {
		return nil, fmt.Errorf("cases: stats: evictions prevented: %w", err)
	}
	if st.Channels, err = s.channelFigures(ctx, q); err != nil {
		return nil, err
	}
	return st, nil
}

// inListOrder puts counts into the code list's order with 0 for the codes
// missing; a code the list lacks (a retired one) follows, alphabetically.
func inListOrder(list []string, rows []Count) []Count {
	got := make(map[string]int64, len(rows))
	for _, r := range rows {
		got[r.Code] += r.N
	}
	out := make([]Count, 0, len(list)+len(rows))
	for _, code := range list {
		out = append(out, Count{Code: code, N: got[code]})
		delete(got, code)
	}
	rest := make([]string, 0, len(got))
	for code := range got {
		rest = append(rest, code)
	}
	sort.Strings(rest)
	for _, code := range rest {
		out = append(out, Count{Code: code, N: got[code]})
	}
	return out
}

// Bar is one row of a bar chart: its label and count.
type Bar struct {
	Label string
	N     int64
}

// The chart's geometry in viewBox units; the SVG scales to its box.
const (
	chartWidth  = 640
	chartFont   = 18 // the texts' size: about 14 px where the chart is 500 px wide
	chartLabelH = 24 // the label's line above its bar
	chartBarH   = 20
	chartRowH   = chartLabelH + chartBarH + 12
	chartBarMax = 560       // the longest bar; its count follows it
	chartBarHex = "#0000bf" // HDS bus: tokens do not reach SVG attributes
)

// barChart draws rows as an accessible inline SVG of horizontal bars,
// each under its label and followed by its count. A suppressed count
// (1–4) draws no bar and says "< 5", as the table beside it does. Every
// text is escaped.
func barChart(title string, rows []Bar) template.HTML {
	var top int64
	for _, r := range rows {
		if !suppressed(r.N) && r.N > top {
			top = r.N
		}
	}
	h := fnv.New32a()
	h.Write([]byte(title))
	for _, r := range rows {
		fmt.Fprintf(h, "\x00%s\x00%d", r.Label, r.N)
	}
	id := fmt.Sprintf("chart-%08x", h.Sum32())
	height := len(rows)*chartRowH + 4
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="stats-chart" role="img" aria-labelledby="%s" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">`, id, chartWidth, height)
	fmt.Fprintf(&b, `<title id="%s">%s</title>`, id, esc(title))
	for i, r := range rows {
		y := i * chartRowH
		fmt.Fprintf(&b, `<g><text x="0" y="%d" font-size="%d" fill="currentColor">%s</text>`, y+chartFont, chartFont, esc(r.Label))
		w := 0
		if top > 0 && !suppressed(r.N) && r.N > 0 {
			w = int((r.N*chartBarMax + top - 1) / top) // at least one unit for any count
			fmt.Fprintf(&b, `<rect x="0" y="%d" width="%d" height="%d" fill="%s"></rect>`, y+chartLabelH, w, chartBarH, chartBarHex)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="%d" font-weight="700" fill="currentColor">%s</text></g>`,
			w+8, y+chartLabelH+chartBarH-4, chartFont, esc(ShownCount(r.N)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}
