package booking

import (
	"slices"
	"time"
)

// Slot is a bookable time of one advisor.
type Slot struct {
	AdvisorID      int64
	Start, End     time.Time
	ServicePointID *int64
	WindowID       int64
}

// interval is a stretch of an advisor's time that is taken: a live
// booking or an exception.
type interval struct {
	start, end time.Time
}

// slotFilter says which windows can serve a request.
type slotFilter struct {
	meetingType    MeetingType
	servicePointID int64 // 0: any
}

func (f slotFilter) accepts(w *Window) bool {
	if f.meetingType != "" && !w.Offers(f.meetingType) {
		return false
	}
	if f.servicePointID != 0 && (w.ServicePointID == nil || *w.ServicePointID != f.servicePointID) {
		return false
	}
	return true
}

// generateSlots returns one advisor's free slots whose start lies in the
// local days from..to (from inclusive, to exclusive, both local
// midnights), from the advisor's windows that pass filter, minus busy
// time, none starting before earliest.
//
// Slots are laid out on the wall clock of loc: a window 9:00–12:00 gives
// 9:00, 10:00 and 11:00 local time on every date, whatever the UTC offset
// that day. On the spring-forward night, wall times that do not exist are
// skipped; on the fall-back night the repeated hour is offered once (at the
// occurrence time.Date resolves it to). Where an advisor's windows overlap, the slot that
// starts first wins and later overlapping ones are dropped, so an advisor
// is never offered twice at once.
func generateSlots(loc *time.Location, windows []Window, filter slotFilter, from, to time.Time, busy []interval, earliest time.Time) []Slot {
	var cands []Slot
	for day := from; day.Before(to); day = nextDay(day, loc) {
		y, m, d := day.Date()
		wd := int(day.Weekday())
		if wd == 0 {
			wd = 7
		}
		for i := range windows {
			w := &windows[i]
			if w.Weekday != wd || w.SlotMinutes <= 0 || !filter.accepts(w) {
				continue
			}
			// time.Date carries minutes past 59 into hours on the wall
			// clock; 1440 is the next midnight.
			windowEnd := time.Date(y, m, d, 0, w.EndMinute, 0, 0, loc)
			length := time.Duration(w.SlotMinutes) * time.Minute
			for min := w.StartMinute; min+w.SlotMinutes <= w.EndMinute; min += w.SlotMinutes {
				start := wallTime(y, m, d, min, loc)
				if start.IsZero() {
					continue // this wall time does not exist tonight
				}
				end := start.Add(length)
				if end.After(windowEnd) {
					continue
				}
				cands = append(cands, Slot{AdvisorID: w.AdvisorID, Start: start, End: end, ServicePointID: w.ServicePointID, WindowID: w.ID})
			}
		}
	}
	slices.SortStableFunc(cands, func(a, b Slot) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return int(a.WindowID - b.WindowID)
	})
	busy = mergeIntervals(busy)
	out := cands[:0]
	var lastEnd time.Time
	j := 0
	for _, s := range cands {
		if s.Start.Before(lastEnd) {
			continue // overlaps a slot of an earlier window
		}
		lastEnd = s.End
		if s.Start.Before(earliest) {
			continue
		}
		for j < len(busy) && !busy[j].end.After(s.Start) {
			j++
		}
		if j < len(busy) && busy[j].start.Before(s.End) {
			continue // taken or away
		}
		out = append(out, s)
	}
	return out
}

// wallTime is minute past midnight of the date in loc, or the zero time
// when that wall-clock time does not exist (the spring-forward gap).
func wallTime(y int, m time.Month, d, minute int, loc *time.Location) time.Time {
	h, mm := minute/60, minute%60
	t := time.Date(y, m, d, h, mm, 0, 0, loc)
	if t.Hour() != h || t.Minute() != mm {
		return time.Time{}
	}
	return t
}

// nextDay is the local midnight after day, which is not always 24 hours
// later.
func nextDay(day time.Time, loc *time.Location) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// mergeIntervals sorts busy time and merges what overlaps or touches, so
// one forward pass can test slots against it.
func mergeIntervals(in []interval) []interval {
	if len(in) == 0 {
		return nil
	}
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b interval) int { return a.start.Compare(b.start) })
	out := []interval{s[0]}
	for _, iv := range s[1:] {
		last := &out[len(out)-1]
		if !iv.start.After(last.end) {
			if iv.end.After(last.end) {
				last.end = iv.end
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// dayStart is the local midnight that begins t's day.
func dayStart(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
