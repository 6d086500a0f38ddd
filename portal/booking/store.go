package booking

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
)

// Store keeps bookings, windows and exceptions.
type Store struct {
	db      *gorm.DB
	dialect database.Dialect

	// claimHold, in tests, keeps each reminder claim transaction open this
	// long after its SELECT, so that racing instances surely overlap.
	claimHold time.Duration
}

// NewStore returns the booking store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db.Gorm, dialect: db.Dialect} }

// Windows returns the weekly windows of the advisors.
func (s *Store) Windows(ctx context.Context, advisorIDs ...int64) ([]Window, error) {
	var out []Window
	err := s.db.WithContext(ctx).Where("advisor_id IN ?", advisorIDs).
		Order("advisor_id, weekday, start_minute, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("booking: windows: %w", err)
	}
	return out, nil
}

// AddWindow stores a new weekly window.
func (s *Store) AddWindow(ctx context.Context, w *Window) error {
	w.ID = 0
	if err := s.db.WithContext(ctx).Create(w).Error; err != nil {
		return fmt.Errorf("booking: add window: %w", err)
	}
	return nil
}

// DeleteWindow removes an advisor's window. Booked appointments in it stay.
func (s *Store) DeleteWindow(ctx context.Context, advisorID, id int64) error {
	return s.deleteOwn(ctx, &Window{}, "window", advisorID, id)
}

// deleteOwn deletes the row id of model if it is advisorID's: ErrNotFound
// when there is none.
func (s *Store) deleteOwn(ctx context.Context, model any, what string, advisorID, id int64) error {
	res := s.db.WithContext(ctx).Where("id = ? AND advisor_id = ?", id, advisorID).Delete(model)
	if res.Error != nil {
		return fmt.Errorf("booking: delete %s %d: %w", what, id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// Exceptions returns the advisors' exceptions that overlap from..to.
func (s *Store) Exceptions(ctx context.Context, from, to time.Time, advisorIDs ...int64) ([]Exception, error) {
	var out []Exception
	err := s.db.WithContext(ctx).
		Where("advisor_id IN ? AND ends_at > ? AND starts_at < ?", advisorIDs, from.UTC(), to.UTC()).
		Order("starts_at, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("booking: exceptions: %w", err)
	}
	return out, nil
}

// DeleteException removes an advisor's exception.
func (s *Store) DeleteException(ctx context.Context, advisorID, id int64) error {
	return s.deleteOwn(ctx, &Exception{}, "exception", advisorID, id)
}

// maxSlot bounds a booking's length (the schema allows 240 minutes), so
// that range queries can use the (advisor_id, starts_at) index.
const maxSlot = 4 * time.Hour

// The free-slot search's busy time: live bookings and exceptions in one
// round trip. The bookings half reads only the covering index
// bookings_busy_idx. PostgreSQL returns Unix seconds; SQLite returns its
// stored text as plain text (appending an empty string drops the column
// type, so the driver does not try its list of layouts on it), which
// sqliteTime reads.
// This is the hot query of every search: both scan several times faster
// than driver-parsed timestamps.
const (
	busySQLite = `SELECT advisor_id, starts_at || '', ends_at || ''
		FROM bookings WHERE advisor_id IN @ids AND status <> 'cancelled' AND starts_at >= @early AND starts_at < @to AND ends_at > @from
		UNION ALL
		SELECT advisor_id, starts_at || '', ends_at || ''
		FROM booking_exceptions WHERE advisor_id IN @ids AND ends_at > @from AND starts_at < @to`
	busyPostgres = `SELECT advisor_id, EXTRACT(EPOCH FROM starts_at)::bigint, EXTRACT(EPOCH FROM ends_at)::bigint
		FROM bookings WHERE advisor_id IN @ids AND status <> 'cancelled' AND starts_at >= @early AND starts_at < @to AND ends_at > @from
		UNION ALL
		SELECT advisor_id, EXTRACT(EPOCH FROM starts_at)::bigint, EXTRACT(EPOCH FROM ends_at)::bigint
		FROM booking_exceptions WHERE advisor_id IN @ids AND ends_at > @from AND starts_at < @to`
)

// busyTime returns, per advisor, the live bookings and exceptions that
// overlap from..to.
func (s *Store) busyTime(ctx context.Context, from, to time.Time, advisorIDs ...int64) (map[int64][]interval, error) {
	out := make(map[int64][]interval, len(advisorIDs))
	q := busySQLite
	pg := s.dialect == database.Postgres
	if pg {
		q = busyPostgres
	}
	rows, err := s.db.WithContext(ctx).Raw(q, map[string]any{
		"ids": advisorIDs, "early": from.UTC().Add(-maxSlot), "from": from.UTC(), "to": to.UTC(),
	}).Rows()
	if err != nil {
		return nil, fmt.Errorf("booking: busy time: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var iv interval
		if pg {
			var start, end int64
			if err := rows.Scan(&id, &start, &end); err != nil {
				return nil, fmt.Errorf("booking: busy time: %w", err)
			}
			iv = interval{time.Unix(start, 0), time.Unix(end, 0)}
		} else {
			var start, end string
			if err := rows.Scan(&id, &start, &end); err != nil {
				return nil, fmt.Errorf("booking: busy time: %w", err)
			}
			if iv.start, err = sqliteTime(start); err != nil {
				return nil, fmt.Errorf("booking: busy time: %w", err)
			}
			if iv.end, err = sqliteTime(end); err != nil {
				return nil, fmt.Errorf("booking: busy time: %w", err)
			}
		}
		out[id] = append(out[id], iv)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("booking: busy time: %w", err)
	}
	return out, nil
}

// sqliteLayout is how the SQLite driver stores a time.Time.
const sqliteLayout = "2006-01-02 15:04:05.999999999-07:00"

// sqliteTime reads a timestamp as the SQLite driver stores it. The common
// case, whole seconds in UTC ("2026-03-24 08:00:00+00:00", all this
// package writes), is read digit by digit; anything else by time.Parse.
func sqliteTime(s string) (time.Time, error) {
	if len(s) == 25 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' && s[19:] == "+00:00" {
		n := func(i, j int) (int, bool) {
			v := 0
			for _, c := range s[i:j] {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := n(0, 4)
		mo, ok2 := n(5, 7)
		d, ok3 := n(8, 10)
		h, ok4 := n(11, 13)
		mi, ok5 := n(14, 16)
		sec, ok6 := n(17, 19)
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 {
			return time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC), nil
		}
	}
	return time.Parse(sqliteLayout, s)
}

// isUniqueViolation reports whether err is the database refusing a
// duplicate key, in either dialect.
func (s *Store) isUniqueViolation(err error) bool { return database.IsUniqueViolation(s.db, err) }

// lockAdvisor serialises, on PostgreSQL, the transactions that place
// bookings in one advisor's calendar, so the overlap check after the
// insert sees every competitor. The unique index alone decides races for
// the same start; this covers bookings of different lengths that overlap
// without sharing a start. SQLite's immediate transactions already run
// one writer at a time.
func (s *Store) lockAdvisor(tx *gorm.DB, advisorID int64) error {
	if s.dialect != database.Postgres {
		return nil
	}
	// Two-key form: 0x424b ("BK") keeps these apart from other advisory locks.
	return tx.Exec("SELECT pg_advisory_xact_lock(?, ?)", 0x424b, int32(advisorID)).Error
}

// overlaps reports whether a live booking of the advisor other than id
// overlaps start..end.
func overlaps(tx *gorm.DB, advisorID, id int64, start, end time.Time) (bool, error) {
	var n int64
	err := tx.Raw(`SELECT COUNT(*) FROM bookings WHERE advisor_id = ? AND id <> ? AND status <> 'cancelled'
		AND starts_at >= ? AND starts_at < ? AND ends_at > ?`,
		advisorID, id, start.UTC().Add(-maxSlot), end.UTC(), start.UTC()).Scan(&n).Error
	return n > 0, err
}

// Create inserts b and, in the same transaction, runs after (mail,
// access log). The database refuses a second live booking of the advisor
// at the same start: that, or an overlap, is ErrSlotTaken. A resident who
// already holds maxUpcoming upcoming bookings gets ErrTooMany (0: no limit).
func (s *Store) Create(ctx context.Context, b *Booking, now time.Time, maxUpcoming int, after func(tx *gorm.DB) error) error {
	b.ID = 0
	// SQLite compares timestamps as text: store every one in UTC.
	b.StartsAt, b.EndsAt, b.RemindAt = b.StartsAt.UTC(), b.EndsAt.UTC(), utcPtr(b.RemindAt)
	b.CreatedAt, b.UpdatedAt = now.UTC(), now.UTC()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockAdvisor(tx, b.AdvisorID); err != nil {
			return err
		}
		if maxUpcoming > 0 {
			var n int64
			if err := tx.Model(&Booking{}).Where("resident_id = ? AND status = ? AND starts_at > ?",
				b.ResidentID, StatusBooked, now.UTC()).Count(&n).Error; err != nil {
				return err
			}
			if n >= int64(maxUpcoming) {
				return ErrTooMany
			}
		}
		if err := tx.Create(b).Error; err != nil {
			if s.isUniqueViolation(err) {
				return ErrSlotTaken
			}
			return err
		}
		clash, err := overlaps(tx, b.AdvisorID, b.ID, b.StartsAt, b.EndsAt)
		if err != nil {
			return err
		}
		if clash {
			return ErrSlotTaken
		}
		if after != nil {
			return after(tx)
		}
		return nil
	})
	if err != nil {
		b.ID = 0
		if errors.Is(err, ErrSlotTaken) || errors.Is(err, ErrTooMany) {
			return err
		}
		return fmt.Errorf("booking: create: %w", err)
	}
	return nil
}

// ByID loads one booking, whoever it belongs to; callers check access.
func (s *Store) ByID(ctx context.Context, id int64) (*Booking, error) {
	var b Booking
	err := s.db.WithContext(ctx).First(&b, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("booking: load %d: %w", id, err)
	}
	return &b, nil
}

// LiveOf returns the resident's live booking with the advisor at start, or
// nil when there is none.
func (s *Store) LiveOf(ctx context.Context, residentID, advisorID int64, start time.Time) (*Booking, error) {
	var bs []Booking
	err := s.db.WithContext(ctx).Where("resident_id = ? AND advisor_id = ? AND starts_at = ? AND status <> ?",
		residentID, advisorID, start.UTC(), StatusCancelled).Limit(1).Find(&bs).Error
	if err != nil {
		return nil, fmt.Errorf("booking: live booking of %d: %w", residentID, err)
	}
	if len(bs) == 0 {
		return nil, nil
	}
	return &bs[0], nil
}

// Move puts the booked appointment b at slot (possibly another advisor's),
// raises its sequence and runs after in the same transaction. The same
// rules as Create decide a race.
func (s *Store) Move(ctx context.Context, b *Booking, to Slot, regionID, by int64, message string, remindAt *time.Time, now time.Time, after func(tx *gorm.DB) error) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockAdvisor(tx, to.AdvisorID); err != nil {
			return err
		}
		res := tx.Exec(`UPDATE bookings SET advisor_id = ?, region_id = ?, starts_at = ?, ends_at = ?, service_point_id = ?,
			sequence = sequence + 1, staff_message = ?, changed_by = ?, remind_at = ?, reminded_at = NULL, updated_at = ?
			WHERE id = ? AND status = 'booked'`,
			to.AdvisorID, regionID, to.Start.UTC(), to.End.UTC(), to.ServicePointID,
			message, by, utcPtr(remindAt), now.UTC(), b.ID)
		if res.Error != nil && s.isUniqueViolation(res.Error) {
			return ErrSlotTaken
		}
		if err := updated(res); err != nil {
			return err
		}
		clash, err := overlaps(tx, to.AdvisorID, b.ID, to.Start, to.End)
		if err != nil {
			return err
		}
		if clash {
			return ErrSlotTaken
		}
		return reload(tx, b, after)
	})
	if err != nil {
		if errors.Is(err, ErrSlotTaken) || errors.Is(err, ErrNotChangeable) {
			return err
		}
		return fmt.Errorf("booking: move %d: %w", b.ID, err)
	}
	return nil
}

// Cancel cancels booked appointment b, which frees its slot, and runs
// after in the same transaction.
func (s *Store) Cancel(ctx context.Context, b *Booking, by int64, message string, now time.Time, after func(tx *gorm.DB) error) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.cancelTx(tx, b, by, message, now, after)
	})
	if err != nil {
		if errors.Is(err, ErrNotChangeable) {
			return err
		}
		return fmt.Errorf("booking: cancel %d: %w", b.ID, err)
	}
	return nil
}

func (s *Store) cancelTx(tx *gorm.DB, b *Booking, by int64, message string, now time.Time, after func(tx *gorm.DB) error) error {
	res := tx.Exec(`UPDATE bookings SET status = 'cancelled', sequence = sequence + 1, staff_message = ?,
		changed_by = ?, cancelled_at = ?, updated_at = ? WHERE id = ? AND status = 'booked'`,
		message, by, now.UTC(), now.UTC(), b.ID)
	if err := updated(res); err != nil {
		return err
	}
	return reload(tx, b, after)
}

// updated is the outcome of an UPDATE of one booking that is allowed only
// in some statuses: ErrNotChangeable when no row matched.
func updated(res *gorm.DB) error {
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotChangeable
	}
	return nil
}

// reload reads b back after it changed in tx, then runs after there.
func reload(tx *gorm.DB, b *Booking, after func(tx *gorm.DB) error) error {
	if err := tx.First(b, b.ID).Error; err != nil {
		return err
	}
	if after != nil {
		return after(tx)
	}
	return nil
}

// SetOutcome records that an appointment that has begun was held (done)
// or missed (no-show). It can be corrected between the two afterwards.
func (s *Store) SetOutcome(ctx context.Context, b *Booking, status Status, by int64, now time.Time, after func(tx *gorm.DB) error) error {
	if status != StatusDone && status != StatusNoShow {
		return fmt.Errorf("booking: %q is not an outcome", status)
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE bookings SET status = ?, changed_by = ?, updated_at = ?
			WHERE id = ? AND status IN ('booked', 'done', 'no_show') AND starts_at <= ?`,
			status, by, now.UTC(), b.ID, now.UTC())
		if err := updated(res); err != nil {
			return err
		}
		return reload(tx, b, after)
	})
	if err != nil {
		if errors.Is(err, ErrNotChangeable) {
			return err
		}
		return fmt.Errorf("booking: outcome of %d: %w", b.ID, err)
	}
	return nil
}

// ForResident returns the resident's bookings that end after `after`
// (upcoming, soonest first) or before it (past, latest first).
func (s *Store) ForResident(ctx context.Context, residentID int64, now time.Time, upcoming bool, limit int) ([]Booking, error) {
	q := s.db.WithContext(ctx).Where("resident_id = ?", residentID)
	if upcoming {
		q = q.Where("ends_at > ? AND status = ?", now.UTC(), StatusBooked).Order("starts_at, id")
	} else {
		q = q.Where("ends_at <= ? OR status <> ?", now.UTC(), StatusBooked).Order("starts_at DESC, id DESC")
	}
	var out []Booking
	if err := q.Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("booking: resident's bookings: %w", err)
	}
	return out, nil
}

// CalendarEntry is a booking with the names staff see in the calendar.
type CalendarEntry struct {
	Booking
	ResidentName string
	AdvisorName  string
}

// Calendar returns the advisors' bookings that start in from..to, in time
// order, names not yet filled in (Service.calendar asks auth for them).
// Cancelled ones are included only when withCancelled.
func (s *Store) Calendar(ctx context.Context, from, to time.Time, withCancelled bool, advisorIDs ...int64) ([]CalendarEntry, error) {
	q := s.db.WithContext(ctx).Table("bookings b").Select("b.*").
		Where("b.advisor_id IN ? AND b.starts_at >= ? AND b.starts_at < ?", advisorIDs, from.UTC(), to.UTC())
	if !withCancelled {
		q = q.Where("b.status <> ?", StatusCancelled)
	}
	var out []CalendarEntry
	if err := q.Order("b.starts_at, b.advisor_id").Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("booking: calendar: %w", err)
	}
	return out, nil
}

// Conflicts returns the advisor's booked appointments that overlap
// from..to: the ones an exception over that time would cancel.
func (s *Store) Conflicts(ctx context.Context, advisorID int64, from, to time.Time) ([]CalendarEntry, error) {
	var out []CalendarEntry
	err := s.db.WithContext(ctx).Table("bookings b").Select("b.*").
		Where("b.advisor_id = ? AND b.status = ? AND b.starts_at >= ? AND b.starts_at < ? AND b.ends_at > ?",
			advisorID, StatusBooked, from.UTC().Add(-maxSlot), to.UTC(), from.UTC()).
		Order("b.starts_at").Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("booking: conflicts: %w", err)
	}
	return out, nil
}

// AddException stores e and cancels the booked appointments it covers,
// running cancelled for each inside the same transaction (to queue the
// residents' mail). It returns the cancelled bookings.
func (s *Store) AddException(ctx context.Context, e *Exception, message string, now time.Time, cancelled func(tx *gorm.DB, b *Booking) error) ([]Booking, error) {
	e.ID = 0
	e.StartsAt, e.EndsAt, e.CreatedAt = e.StartsAt.UTC(), e.EndsAt.UTC(), now.UTC()
	var out []Booking
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockAdvisor(tx, e.AdvisorID); err != nil {
			return err
		}
		if err := tx.Create(e).Error; err != nil {
			return err
		}
		var hit []Booking
		if err := tx.Where("advisor_id = ? AND status = ? AND starts_at >= ? AND starts_at < ? AND ends_at > ?",
			e.AdvisorID, StatusBooked, e.StartsAt.Add(-maxSlot), e.EndsAt, e.StartsAt).
			Order("starts_at").Find(&hit).Error; err != nil {
			return err
		}
		for i := range hit {
			b := &hit[i]
			err := s.cancelTx(tx, b, e.CreatedBy, message, now, func(tx *gorm.DB) error { return cancelled(tx, b) })
			if err != nil {
				return err
			}
		}
		out = hit
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("booking: add exception: %w", err)
	}
	return out, nil
}

// ReminderDue is a booking whose reminder is due, with what the mail needs.
type ReminderDue struct {
	Booking
}

const (
	reminderPostgres = `SELECT b.id FROM bookings b WHERE b.status = 'booked' AND b.reminded_at IS NULL
		AND b.remind_at <= ? AND b.starts_at > ? ORDER BY b.remind_at, b.id LIMIT ? FOR UPDATE SKIP LOCKED`
	reminderSQLite = `SELECT b.id FROM bookings b WHERE b.status = 'booked' AND b.reminded_at IS NULL
		AND b.remind_at <= ? AND b.starts_at > ? ORDER BY b.remind_at, b.id LIMIT ?`
)

// ClaimReminders marks up to limit due reminders as sent and, in the same
// transaction, hands each to send (which queues its mail). On PostgreSQL
// the rows are claimed with FOR UPDATE SKIP LOCKED, on SQLite under the
// single writer lock, so each reminder goes out once however many
// instances run this at the same moment.
func (s *Store) ClaimReminders(ctx context.Context, now time.Time, limit int, send func(tx *gorm.DB, r *ReminderDue) error) (int, error) {
	q := reminderSQLite
	if s.dialect == database.Postgres {
		q = reminderPostgres
	}
	n := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []int64
		if err := tx.Raw(q, now.UTC(), now.UTC(), limit).Scan(&ids).Error; err != nil {
			return err
		}
		time.Sleep(s.claimHold)
		if len(ids) == 0 {
			return nil
		}
		var due []ReminderDue
		if err := tx.Table("bookings b").Select("b.*").Where("b.id IN ?", ids).Order("b.id").Scan(&due).Error; err != nil {
			return err
		}
		if err := tx.Exec("UPDATE bookings SET reminded_at = ? WHERE id IN ?", now.UTC(), ids).Error; err != nil {
			return err
		}
		for i := range due {
			if err := send(tx, &due[i]); err != nil {
				return err
			}
		}
		n = len(due)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("booking: claim reminders: %w", err)
	}
	return n, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// ReceivingPoints returns the service points where some advisor has weekly
// reception hours for office visits.
func (s *Store) ReceivingPoints(ctx context.Context) (map[int64]bool, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Model(&Window{}).
		Where("service_point_id IS NOT NULL AND meeting_types LIKE ?", "%"+string(Office)+"%").
		Distinct().Pluck("service_point_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("booking: receiving service points: %w", err)
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}
