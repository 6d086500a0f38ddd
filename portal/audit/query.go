package audit

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Filter narrows the access log listing. Zero fields do not filter.
type Filter struct {
	Actor    string // part of the staff member's name
	Resident string // part of the resident's name
	Action   string // prefix, e.g. "booking."
	From, To time.Time
}

// Row is an entry with the names of the people involved.
type Row struct {
	Entry
	ActorName    string
	ResidentName string
}

// PageSize is how many rows a page of the listing holds.
const PageSize = 50

// List returns page (from 1) of the entries matching f, newest first, and
// whether a further page exists.
func (l *Log) List(ctx context.Context, f Filter, page int) ([]Row, bool, error) {
	if page < 1 {
		page = 1
	}
	q := l.db.WithContext(ctx).Table("access_log AS a").
		Select("a.*, actor.name AS actor_name, COALESCE(res.name, '') AS resident_name").
		Joins("JOIN users AS actor ON actor.id = a.actor_id").
		Joins("LEFT JOIN users AS res ON res.id = a.resident_id")
	if f.Actor != "" {
		q = q.Where(`LOWER(actor.name) LIKE ? ESCAPE '\'`, "%"+strings.ToLower(escapeLike(f.Actor))+"%")
	}
	if f.Resident != "" {
		q = q.Where(`LOWER(res.name) LIKE ? ESCAPE '\'`, "%"+strings.ToLower(escapeLike(f.Resident))+"%")
	}
	if f.Action != "" {
		q = q.Where(`a.action LIKE ? ESCAPE '\'`, escapeLike(f.Action)+"%")
	}
	if !f.From.IsZero() {
		q = q.Where("a.at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("a.at < ?", f.To.UTC())
	}
	var rows []Row
	err := q.Order("a.at DESC, a.id DESC").Limit(PageSize + 1).Offset((page - 1) * PageSize).Scan(&rows).Error
	if err != nil {
		return nil, false, fmt.Errorf("audit: list: %w", err)
	}
	more := len(rows) > PageSize
	if more {
		rows = rows[:PageSize]
	}
	return rows, more, nil
}

// escapeLike makes s match literally inside a LIKE pattern that declares
// ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// OfResident returns the newest entries about one resident, with the staff
// member's name: what the resident is shown of who has looked at their
// data (Act 703/2023 on client data, §11).
func (l *Log) OfResident(ctx context.Context, residentID int64, limit int) ([]Row, error) {
	var out []Row
	err := l.db.WithContext(ctx).Table("access_log AS a").
		Select("a.*, actor.name AS actor_name, '' AS resident_name").
		Joins("JOIN users AS actor ON actor.id = a.actor_id").
		Where("a.resident_id = ?", residentID).Order("a.at DESC, a.id DESC").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("audit: entries of resident %d: %w", residentID, err)
	}
	return out, nil
}
