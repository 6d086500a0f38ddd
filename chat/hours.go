package chat

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// span is one day's opening time, minutes after midnight.
type span struct{ open, close int }

// week holds the opening time of each ISO weekday (1 = Monday … 7 = Sunday);
// nil means closed.
type week [8]*span

// dayNames are the day abbreviations opening hours may use: English (as in
// PORTAL_CHAT_HOURS), Finnish and Swedish, so admins write them in their
// own language.
var dayNames = map[string]int{
	"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
	"ma": 1, "ti": 2, "ke": 3, "to": 4, "pe": 5, "la": 6, "su": 7,
	"mån": 1, "tis": 2, "ons": 3, "tor": 4, "fre": 5, "lör": 6, "sön": 7,
}

// parseHours reads "Mon-Fri 09:00-15:00; Sat 10:00-12:00"; a day ends
// at 24:00.
func parseHours(spec string) (week, error) {
	var w week
	for part := range strings.SplitSeq(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		days, times, ok := strings.Cut(part, " ")
		if !ok {
			return w, fmt.Errorf("chat: opening hours %q: want days and times, such as Mon-Fri 09:00-15:00", part)
		}
		from, to, _ := strings.Cut(strings.ToLower(days), "-")
		if to == "" {
			to = from
		}
		d1, ok1 := dayNames[from]
		d2, ok2 := dayNames[to]
		if !ok1 || !ok2 || d2 < d1 {
			return w, fmt.Errorf("chat: opening hours %q: days are Mon…Sun, ma…su or mån…sön", part)
		}
		sp, err := parseSpan(strings.TrimSpace(times))
		if err != nil {
			return w, fmt.Errorf("chat: opening hours %q: %w", part, err)
		}
		for d := d1; d <= d2; d++ {
			w[d] = &sp
		}
	}
	return w, nil
}

func parseSpan(s string) (span, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return span{}, fmt.Errorf("want HH:MM-HH:MM")
	}
	o, err1 := parseClock(a)
	c, err2 := parseClock(b)
	if err1 != nil || err2 != nil || c <= o {
		return span{}, fmt.Errorf("want HH:MM-HH:MM with the end after the start")
	}
	return span{o, c}, nil
}

func parseClock(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "24:00" {
		return 24 * 60, nil // the end of the day: "Mon-Sun 00:00-24:00" is always open
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func isoDay(t time.Time) int {
	if d := int(t.Weekday()); d != 0 {
		return d
	}
	return 7
}

// openAt reports whether the week is open at t (in the hours' zone).
func (w week) openAt(t time.Time) bool {
	sp := w[isoDay(t)]
	m := t.Hour()*60 + t.Minute()
	return sp != nil && m >= sp.open && m < sp.close
}

// nextOpening is the next time the week opens after t; zero if never.
func (w week) nextOpening(t time.Time) time.Time {
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	for i := 0; i < 8; i++ {
		d := day.AddDate(0, 0, i)
		if sp := w[isoDay(d)]; sp != nil {
			at := d.Add(time.Duration(sp.open) * time.Minute)
			if at.After(t) {
				return at
			}
		}
	}
	return time.Time{}
}

type hoursRow struct {
	RegionID int64 `gorm:"primaryKey;autoIncrement:false"`
	Weekday  int   `gorm:"primaryKey;autoIncrement:false"`
	Opens    string
	Closes   string
}

func (hoursRow) TableName() string { return "chat_hours" }

// RegionHours returns each region's own opening hours; regions without
// rows use the configured default.
func (s *Store) RegionHours(ctx context.Context) (map[int64]week, error) {
	var rows []hoursRow
	if err := s.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("chat: opening hours: %w", err)
	}
	out := map[int64]week{}
	for _, r := range rows {
		sp, err := parseSpan(r.Opens + "-" + r.Closes)
		if err != nil || r.Weekday < 1 || r.Weekday > 7 {
			continue
		}
		w := out[r.RegionID]
		w[r.Weekday] = &sp
		out[r.RegionID] = w
	}
	return out, nil
}

// SetHours replaces one region's opening hours; nil deletes them, and the
// region follows the configured default again.
func (s *Store) SetHours(ctx context.Context, regionID int64, w *week) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("region_id = ?", regionID).Delete(&hoursRow{}).Error; err != nil {
			return fmt.Errorf("chat: clear hours: %w", err)
		}
		if w == nil {
			return nil
		}
		for d := 1; d <= 7; d++ {
			sp := w[d]
			if sp == nil {
				continue // closed that day
			}
			row := hoursRow{RegionID: regionID, Weekday: d, Opens: clock(sp.open), Closes: clock(sp.close)}
			if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
				return fmt.Errorf("chat: save hours: %w", err)
			}
		}
		return nil
	})
}

// CheckHours reports whether spec is valid opening hours, such as
// "Mon-Fri 09:00-15:00; Sat 10:00-12:00".
func CheckHours(spec string) error {
	_, err := parseHours(spec)
	return err
}
