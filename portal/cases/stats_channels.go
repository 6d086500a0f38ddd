package cases

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ChannelStats answers the statistics that need the other channels' data:
// chats, appointments and contact requests, which cases does not read
// itself (cmd/portal wires it from the features' stores). Times are
// compared as UTC instants; a region of 0 means every region.
type ChannelStats interface {
	// Chats counts the chats started in [q.From, q.To) in q.RegionID's
	// region and returns the whole seconds each one an advisor answered
	// waited, from the request to the first accepting, in ascending order.
	Chats(ctx context.Context, q StatsQuery) (ChatWaits, error)
	// Appointments counts by status (AppointmentStatuses) the
	// appointments whose time began in [q.From, q.To) in the region.
	Appointments(ctx context.Context, q StatsQuery) ([]Count, error)
	// FirstContacts returns, of the residents named, each one's earliest
	// contact in the other channels, in any region: a chat started, an
	// appointment booked, a contact request linked to them. One with none
	// is absent.
	FirstContacts(ctx context.Context, residentIDs []int64) (map[int64]time.Time, error)
	// Meetings returns, of the residents named, the starts of their
	// appointments that took place (marked done) at or after since, in any
	// region, each one's in ascending order. One with none is absent.
	Meetings(ctx context.Context, residentIDs []int64, since time.Time) (map[int64][]time.Time, error)
}

// ChatWaits are the chats of a period: how many started, and the waits of
// those answered in seconds, ascending.
type ChatWaits struct {
	Started int64
	Seconds []int64
}

// ChannelFigures are the figures that need the other channels' data.
type ChannelFigures struct {
	// FirstMeeting counts the cases opened in the period by the days from
	// the first contact to the first meeting (dayRanges, then NoMeeting);
	// MedianDays is the median of the cases met.
	FirstMeeting []Count
	MedianDays   Median
	// ChatsByWait counts the chats started in the period by their wait for
	// an advisor (waitRanges, then Unanswered); MedianWait is the median
	// wait in seconds of those answered.
	ChatsByWait []Count
	MedianWait  Median
	// Appointments counts by status the appointments whose time was in
	// the period; NoShows is, of those that took place or should have
	// (done and no-show), the no-shows.
	Appointments []Count
	NoShows      Share
}

// Median is the middle of Of values: the middle one, or the mean of the
// two middle ones (so a whole number or a half).
type Median struct {
	Value float64
	Of    int64
}

// Published reports whether the median may be shown: its group has
// MinGroup values or more.
func (m Median) Published() bool { return m.Of >= MinGroup }

// median takes the median of sorted values in Go: neither dialect has a
// median both share (PostgreSQL's percentile_cont, SQLite nothing), and
// the values of a period are few enough to send.
func median(sorted []int64) Median {
	n := len(sorted)
	if n == 0 {
		return Median{}
	}
	m := Median{Of: int64(n), Value: float64(sorted[n/2])}
	if n%2 == 0 {
		m.Value = float64(sorted[n/2-1]+sorted[n/2]) / 2
	}
	return m
}

// valueRange is a code for the values under its limit (and not under the
// previous range's).
type valueRange struct {
	Code  string
	Under int64
}

// dayRanges are the ranges of days from the first contact to the first
// meeting, and waitRanges those of the seconds a chat waited, in order.
var (
	dayRanges  = []valueRange{{"days_0_7", 8}, {"days_8_30", 31}, {"days_31_90", 91}, {"days_over_90", math.MaxInt64}}
	waitRanges = []valueRange{{"wait_under_1", 60}, {"wait_1_5", 5 * 60}, {"wait_5_15", 15 * 60}, {"wait_over_15", math.MaxInt64}}
)

// The codes of the cases not met yet and the chats never answered.
const (
	NoMeeting  = "no_meeting"
	Unanswered = "unanswered"
)

// AppointmentStatuses are the appointments' statuses in the figures'
// order: took place, did not come, cancelled, still booked.
var AppointmentStatuses = []string{"done", "no_show", "cancelled", "booked"}

// inRanges counts sorted values by ranges, then rest as the last code.
func inRanges(ranges []valueRange, sorted []int64, restCode string, rest int64) []Count {
	out := make([]Count, 0, len(ranges)+1)
	i := 0
	for _, r := range ranges {
		n := int64(0)
		for ; i < len(sorted) && sorted[i] < r.Under; i++ {
			n++
		}
		out = append(out, Count{Code: r.Code, N: n})
	}
	return append(out, Count{Code: restCode, N: rest})
}

// channelFigures counts the period's figures of the other channels; nil
// without ChannelStats. q's region is already scoped.
func (s *Service) channelFigures(ctx context.Context, q StatsQuery) (*ChannelFigures, error) {
	if s.channels == nil {
		return nil, nil
	}
	f := &ChannelFigures{}
	days, notMet, err := s.daysToFirstMeeting(ctx, q)
	if err != nil {
		return nil, err
	}
	f.FirstMeeting, f.MedianDays = inRanges(dayRanges, days, NoMeeting, notMet), median(days)

	chats, err := s.channels.Chats(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("cases: stats: chats: %w", err)
	}
	waits := slices.Clone(chats.Seconds)
	slices.Sort(waits)
	f.ChatsByWait, f.MedianWait = inRanges(waitRanges, waits, Unanswered, chats.Started-int64(len(waits))), median(waits)

	rows, err := s.channels.Appointments(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("cases: stats: appointments: %w", err)
	}
	f.Appointments = inListOrder(AppointmentStatuses, rows)
	var done, noShow int64
	for _, c := range f.Appointments {
		switch c.Code {
		case "done":
			done = c.N
		case "no_show":
			noShow = c.N
		}
	}
	f.NoShows = Share{N: noShow, Of: done + noShow}
	return f, nil
}

// daysToFirstMeeting returns, of the cases opened in the period in the
// region, the days from the first contact to the first meeting of those
// met, ascending, and how many have not met yet. The first contact is the
// earliest of the case's opening and its resident's first chat, booking or
// contact request; the first meeting the resident's first appointment that
// took place at or after it. Days are counted between local calendar
// days: contacted on Monday evening, met on Tuesday morning is one day.
func (s *Service) daysToFirstMeeting(ctx context.Context, q StatsQuery) (days []int64, notMet int64, err error) {
	d := s.db.WithContext(ctx).Table("cases c").Select("c.resident_id, c.created_at").
		Where("c.created_at >= ? AND c.created_at < ?", q.From.UTC(), q.To.UTC())
	if q.RegionID != 0 {
		d = d.Where("c.region_id = ?", q.RegionID)
	}
	var opened []struct {
		ResidentID int64
		CreatedAt  time.Time
	}
	if err := d.Scan(&opened).Error; err != nil {
		return nil, 0, fmt.Errorf("cases: stats: cases opened: %w", err)
	}
	if len(opened) == 0 {
		return nil, 0, nil
	}
	residents := make([]int64, 0, len(opened))
	for _, c := range opened {
		residents = append(residents, c.ResidentID)
	}
	slices.Sort(residents)
	residents = slices.Compact(residents)
	contacts, err := s.channels.FirstContacts(ctx, residents)
	if err != nil {
		return nil, 0, fmt.Errorf("cases: stats: first contacts: %w", err)
	}
	first := make([]time.Time, len(opened))
	since := opened[0].CreatedAt
	for i, c := range opened {
		first[i] = c.CreatedAt
		if t, ok := contacts[c.ResidentID]; ok && t.Before(first[i]) {
			first[i] = t
		}
		if first[i].Before(since) {
			since = first[i]
		}
	}
	meetings, err := s.channels.Meetings(ctx, residents, since)
	if err != nil {
		return nil, 0, fmt.Errorf("cases: stats: meetings: %w", err)
	}
	for i, c := range opened {
		met := meetings[c.ResidentID]
		j := sort.Search(len(met), func(j int) bool { return !met[j].Before(first[i]) })
		if j == len(met) {
			notMet++
			continue
		}
		days = append(days, s.daysBetween(first[i], met[j]))
	}
	slices.Sort(days)
	return days, notMet, nil
}

// daysBetween counts the local calendar days from a to b.
func (s *Service) daysBetween(a, b time.Time) int64 {
	day := func(t time.Time) time.Time {
		t = t.In(s.loc)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return int64(day(b).Sub(day(a)) / (24 * time.Hour))
}

// channelTables lays out the other channels' figures: their key figures,
// then the cases by days to the first meeting, the chats by wait and the
// appointments by status, each with its chart. Without ChannelStats the
// same tables say the figures are not available, and have no chart.
func (s *Service) channelTables(st *Stats, lang string) []StatsTable {
	t := func(key string) string { return s.fe.T(lang, key) }
	f := st.Channels
	na := t("cases.stats_channels.not_available")
	key := StatsTable{ID: "channels", Title: t("cases.stats_channels.key.title"), Column: t("cases.stats.col.figure"), Unit: t("cases.stats.col.value")}
	labels := []string{
		t("cases.stats_channels.key.median_days"), t("cases.stats_channels.key.chats_started"), t("cases.stats_channels.key.chats_unanswered"),
		t("cases.stats_channels.key.median_wait"), t("cases.stats_channels.key.appointments_due"), t("cases.stats_channels.key.no_shows"),
		t("cases.stats_channels.key.no_show_rate"),
	}
	values := slices.Repeat([]string{na}, len(labels))
	if f != nil {
		var started int64
		for _, c := range f.ChatsByWait {
			started += c.N
		}
		values = []string{
			s.shownMedian(f.MedianDays, func(v float64) string { return decimal(lang, v) }),
			ShownCount(started),
			ShownCount(f.ChatsByWait[len(f.ChatsByWait)-1].N),
			s.shownMedian(f.MedianWait, func(v float64) string {
				sec := int64(math.Floor(v + 0.5))
				return s.fe.T(lang, "cases.stats_channels.wait", map[string]any{"Min": sec / 60, "Sec": sec % 60})
			}),
			ShownCount(f.NoShows.Of),
			ShownCount(f.NoShows.N),
			s.shownShare(f.NoShows, lang),
		}
	}
	for i := range labels {
		key.Rows = append(key.Rows, StatsRow{labels[i], values[i]})
	}

	specs := []struct {
		id, title, column, unit, prefix string
		codes                           []string
		counts                          func(*ChannelFigures) []Count
	}{
		{"first-meeting", t("cases.stats_channels.table.first_meeting"), t("cases.stats_channels.col.days"), t("cases.stats.col.cases"), "cases.stats_channels.range.",
			append(rangeCodes(dayRanges), NoMeeting), func(f *ChannelFigures) []Count { return f.FirstMeeting }},
		{"chat-wait", t("cases.stats_channels.table.chat_wait"), t("cases.stats_channels.col.wait"), t("cases.stats_channels.col.chats"), "cases.stats_channels.range.",
			append(rangeCodes(waitRanges), Unanswered), func(f *ChannelFigures) []Count { return f.ChatsByWait }},
		{"appointments", t("cases.stats_channels.table.appointments"), t("cases.stats_channels.col.status"), t("cases.stats_channels.col.appointments"), "cases.stats_channels.status.",
			AppointmentStatuses, func(f *ChannelFigures) []Count { return f.Appointments }},
	}
	tables := []StatsTable{key}
	for _, sp := range specs {
		tb := StatsTable{ID: sp.id, Title: sp.title, Column: sp.column, Unit: sp.unit}
		label := func(code string) string {
			if s.fe.Has(sp.prefix + code) {
				return t(sp.prefix + code)
			}
			return code
		}
		if f == nil {
			for _, code := range sp.codes {
				tb.Rows = append(tb.Rows, StatsRow{label(code), na})
			}
			tables = append(tables, tb)
			continue
		}
		counts := sp.counts(f)
		bars := make([]Bar, 0, len(counts))
		for _, n := range counts {
			tb.Rows = append(tb.Rows, StatsRow{label(n.Code), ShownCount(n.N)})
			bars = append(bars, Bar{label(n.Code), n.N})
		}
		tb.Chart = barChart(s.fe.T(lang, "cases.stats.chart", map[string]any{"Title": sp.title}), bars)
		tables = append(tables, tb)
	}
	return tables
}

func rangeCodes(rs []valueRange) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Code
	}
	return out
}

// shownMedian publishes a median as the key figures do a share: "–" for
// no values, "< 5" for a group too small, else the value as format says.
func (s *Service) shownMedian(m Median, format func(float64) string) string {
	switch {
	case m.Of == 0:
		return "–"
	case !m.Published():
		return ShownCount(m.Of)
	}
	return format(m.Value)
}

// shownShare publishes a share as a percentage, as the key figures do.
func (s *Service) shownShare(sh Share, lang string) string {
	if pct, ok := sh.Percent(); ok {
		return s.fe.T(lang, "cases.stats.percent", map[string]any{"Pct": pct})
	}
	if sh.Of > 0 {
		return ShownCount(sh.Of)
	}
	return "–"
}

// decimal writes a whole number or a half as people of lang read it: 8,
// 8,5 in Finnish and Swedish, 8.5 in English.
func decimal(lang string, v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	out := strconv.FormatFloat(v, 'f', 1, 64)
	if lang != "en" {
		out = strings.Replace(out, ".", ",", 1)
	}
	return out
}
