package cases

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// RegisterStats mounts the statistics: the page and its CSV, for staff
// (an advisor sees her own region's).
func (s *Service) RegisterStats(r fiber.Router) {
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	r.Get("/desk/stats", staff, s.handleStats)
	r.Get("/desk/stats.csv", staff, s.handleStatsCSV)
}

// StatsData is the Data of cases/stats.
type StatsData struct {
	// Admin chooses the region; an advisor's is fixed.
	Admin   bool
	Regions []frontend.Option
	// Ready is false when the filter was wrong and nothing was counted.
	Ready bool
	// Region names the region counted (or says all); From and Last are
	// the period's first and last day.
	Region     string
	From, Last time.Time
	Key        StatsTable
	Tables     []StatsTable
	CSV        string // the CSV export of the same figures
}

// StatsTable is one table of figures with its chart (none for the key
// figures).
type StatsTable struct {
	ID           string
	Title        string
	Column, Unit string // the headers of the label and figure columns
	Rows         []StatsRow
	Chart        template.HTML
}

// StatsRow is one line of a table: its label and the figure as shown.
type StatsRow struct {
	Label, Value string
}

// statsQuery reads the filter (GET from, to, region): from and to are the
// first and last day, this year so far by default. Wrong input fails
// the form.
func (s *Service) statsQuery(c *fiber.Ctx) (StatsQuery, *frontend.Form) {
	form := frontend.ReadForm(c, "from", "to", "region")
	today := s.now().In(s.loc)
	if form.Get("from") == "" {
		form.Set("from", time.Date(today.Year(), 1, 1, 0, 0, 0, 0, s.loc).Format(time.DateOnly))
	}
	if form.Get("to") == "" {
		form.Set("to", today.Format(time.DateOnly))
	}
	var q StatsQuery
	from, err := time.ParseInLocation(time.DateOnly, form.Get("from"), s.loc)
	if err != nil {
		form.Fail("from", "form.error.date")
	}
	last, err := time.ParseInLocation(time.DateOnly, form.Get("to"), s.loc)
	if err != nil {
		form.Fail("to", "form.error.date")
	} else if !form.HasErrors() && last.Before(from) {
		form.Fail("to", "cases.stats.error.period")
	}
	q.From, q.To = from, last.AddDate(0, 0, 1)
	if v := form.Get("region"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			form.Fail("region", "cases.error.choose")
		}
		q.RegionID = id
	}
	return q, form
}

func (s *Service) handleStats(c *fiber.Ctx) error {
	ctx := c.UserContext()
	lang := frontend.Lang(c)
	q, form := s.statsQuery(c)
	d := StatsData{Admin: auth.CurrentUser(c).Role == auth.RoleAdmin}
	if d.Admin {
		list, err := s.regions.List(ctx)
		if err != nil {
			return err
		}
		for _, r := range list {
			d.Regions = append(d.Regions, frontend.Option{Value: itoa(r.ID), Label: r.Name(lang)})
		}
	}
	status := fiber.StatusUnprocessableEntity
	if !form.HasErrors() {
		st, err := s.Stats(ctx, q)
		if err != nil {
			if status, err = failFields(form, err); err != nil {
				return err
			}
		} else {
			status = fiber.StatusOK
			if err := s.fillStats(c, &d, st); err != nil {
				return err
			}
		}
	}
	return s.fe.Render(c, status, "cases/stats", frontend.Page{TitleKey: "cases.stats.title", Data: d, Form: form})
}

// fillStats puts the figures into the page's data.
func (s *Service) fillStats(c *fiber.Ctx, d *StatsData, st *Stats) error {
	lang := frontend.Lang(c)
	d.Ready = true
	d.From, d.Last = dayOf(st.Query.From.In(s.loc)), dayOf(st.Query.To.In(s.loc).AddDate(0, 0, -1))
	name, err := s.regionName(c, st.Query.RegionID, lang)
	if err != nil {
		return err
	}
	d.Region = name
	d.Key, d.Tables = s.statsTables(st, lang)
	v := url.Values{"from": {d.From.Format(time.DateOnly)}, "to": {d.Last.Format(time.DateOnly)}}
	if d.Admin && st.Query.RegionID != 0 {
		v.Set("region", itoa(st.Query.RegionID))
	}
	d.CSV = "/desk/stats.csv?" + v.Encode()
	return nil
}

// dayOf is t's calendar day as noon UTC, which View.Date shows as that
// day whatever the page's time zone (all are within 12 hours of UTC).
func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, time.UTC)
}

// regionName names a region in lang, or all regions for 0.
func (s *Service) regionName(c *fiber.Ctx, id int64, lang string) (string, error) {
	if id == 0 {
		return s.fe.T(lang, "cases.stats.all_regions"), nil
	}
	r, err := s.regions.ByID(c.UserContext(), id)
	if err != nil {
		return "", err
	}
	return r.Name(lang), nil
}

// statsTables lays the figures out as the page and the CSV show them:
// the key figures, then one table per code list, each with its chart.
func (s *Service) statsTables(st *Stats, lang string) (StatsTable, []StatsTable) {
	t := func(key string) string { return s.fe.T(lang, key) }
	hc := st.HousingContinued
	share := "–"
	if pct, ok := hc.Percent(); ok {
		share = s.fe.T(lang, "cases.stats.percent", map[string]any{"Pct": pct})
	} else if hc.Of > 0 {
		share = ShownCount(hc.Of)
	}
	key := StatsTable{ID: "key", Title: t("cases.stats.key.title"), Column: t("cases.stats.col.figure"), Unit: t("cases.stats.col.value"),
		Rows: []StatsRow{
			{t("cases.stats.key.closed_rent_debt"), ShownCount(hc.Of)},
			{t("cases.stats.key.housing_continued"), ShownCount(hc.N)},
			{t("cases.stats.key.share"), share},
			{t("cases.stats.key.prevented"), ShownCount(st.EvictionsPrevented)},
		}}
	cases, interventions := t("cases.stats.col.cases"), t("cases.stats.col.interventions")
	specs := []struct {
		id, title, column, unit, prefix string
		counts                          []Count
	}{
		{"reason", t("cases.stats.table.new_by_reason"), t("cases.field.reason"), cases, "cases.reason.", st.NewByReason},
		{"referrer", t("cases.stats.table.new_by_referrer"), t("cases.field.referrer"), cases, "cases.referrer.", st.NewByReferrer},
		{"household", t("cases.stats.table.rent_debt_by_household"), t("cases.field.household"), cases, "cases.household.", st.RentDebtByHousehold},
		{"intervention", t("cases.stats.table.interventions"), t("cases.intervention.kind"), interventions, "cases.intervention_kind.", st.Interventions},
		{"outcome", t("cases.stats.table.closed_by_outcome"), t("cases.field.outcome"), cases, "cases.outcome.", st.ClosedByOutcome},
		{"crisis", t("cases.crisis.stats.title"), t("cases.crisis.stage_label"), t("cases.crisis.stats.people"), "cases.crisis.stage.", st.CrisisByStage},
	}
	tables := make([]StatsTable, 0, len(specs))
	for _, sp := range specs {
		tb := StatsTable{ID: sp.id, Title: sp.title, Column: sp.column, Unit: sp.unit}
		bars := make([]Bar, 0, len(sp.counts))
		for _, n := range sp.counts {
			label := n.Code
			switch {
			case n.Code == Unknown:
				label = t("cases.stats.unknown")
			case s.fe.Has(sp.prefix + n.Code):
				label = t(sp.prefix + n.Code)
			}
			tb.Rows = append(tb.Rows, StatsRow{label, ShownCount(n.N)})
			bars = append(bars, Bar{label, n.N})
		}
		tb.Chart = barChart(s.fe.T(lang, "cases.stats.chart", map[string]any{"Title": sp.title}), bars)
		tables = append(tables, tb)
	}
	return key, append(tables, s.channelTables(st, lang)...)
}

// handleStatsCSV sends the page's figures as a CSV file Excel opens as it
// is: UTF-8 with a byte-order mark, semicolons, one section per table.
func (s *Service) handleStatsCSV(c *fiber.Ctx) error {
	lang := frontend.Lang(c)
	q, form := s.statsQuery(c)
	if form.HasErrors() {
		return problem.Fields(form.Errors)
	}
	st, err := s.Stats(c.UserContext(), q)
	if err != nil {
		return err
	}
	region, err := s.regionName(c, st.Query.RegionID, lang)
	if err != nil {
		return err
	}
	from, last := st.Query.From.In(s.loc), st.Query.To.In(s.loc).AddDate(0, 0, -1)
	key, tables := s.statsTables(st, lang)
	var records [][]string
	add := func(cells ...string) {
		for i := range cells {
			cells[i] = csvCell(cells[i])
		}
		records = append(records, cells)
	}
	add(s.fe.T(lang, "cases.stats.title"))
	add(s.fe.T(lang, "cases.stats.filter.from"), from.Format(time.DateOnly))
	add(s.fe.T(lang, "cases.stats.filter.to"), last.Format(time.DateOnly))
	add(s.fe.T(lang, "cases.stats.filter.region"), region)
	for _, tb := range append([]StatsTable{key}, tables...) {
		add()
		add(tb.Title)
		add(tb.Column, tb.Unit)
		for _, r := range tb.Rows {
			add(r.Label, r.Value)
		}
	}
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	w := csv.NewWriter(&buf)
	w.Comma, w.UseCRLF = ';', true
	if err := w.WriteAll(records); err != nil {
		return fmt.Errorf("cases: stats CSV: %w", err)
	}
	name := "stats-" + from.Format(time.DateOnly) + "-" + last.Format(time.DateOnly) + ".csv"
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

// csvCell keeps a cell from being read as a formula by a spreadsheet: a
// region's name is typed by people.
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
