package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// DBSessions keeps sessions in the database.
type DBSessions struct {
	db *gorm.DB
}

var _ SessionStore = (*DBSessions)(nil)

// NewDBSessions returns a database session store.
func NewDBSessions(db *gorm.DB) *DBSessions { return &DBSessions{db: db} }

// Create stores a new session.
func (s *DBSessions) Create(ctx context.Context, sess *Session) error {
	if err := s.db.WithContext(ctx).Create(sess).Error; err != nil {
		return fmt.Errorf("auth: create session: %w", err)
	}
	return nil
}

// Get loads a session.
func (s *DBSessions) Get(ctx context.Context, id string) (*Session, error) {
	var sess Session
	err := s.db.WithContext(ctx).Where("id = ?", id).First(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("auth: load session: %w", err)
	}
	return &sess, nil
}

// Touch records activity.
func (s *DBSessions) Touch(ctx context.Context, id string, at time.Time) error {
	err := s.db.WithContext(ctx).Model(&Session{}).Where("id = ?", id).Update("last_seen_at", at).Error
	if err != nil {
		return fmt.Errorf("auth: touch session: %w", err)
	}
	return nil
}

// Delete removes a session.
func (s *DBSessions) Delete(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Where("id = ?", id).Delete(&Session{}).Error; err != nil {
		return fmt.Errorf("auth: delete session: %w", err)
	}
	return nil
}

// DeleteMatching removes the sessions m names.
func (s *DBSessions) DeleteMatching(ctx context.Context, m SessionMatch) ([]string, error) {
	q := s.db.WithContext(ctx).Clauses(clause.Returning{Columns: []clause.Column{{Name: "id"}}}).Where("provider = ?", m.Provider)
	if m.SID != "" {
		q = q.Where("provider_sid = ?", m.SID)
	} else {
		q = q.Where("user_id = ?", m.UserID)
	}
	var gone []Session
	if err := q.Delete(&gone).Error; err != nil {
		return nil, fmt.Errorf("auth: delete sessions of %s: %w", m.Provider, err)
	}
	ids := make([]string, len(gone))
	for i, g := range gone {
		ids[i] = g.ID
	}
	return ids, nil
}

// DeleteExpired removes sessions past their absolute or idle end, and
// abandoned login attempts; the server runs it periodically.
func (s *DBSessions) DeleteExpired(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ? OR last_seen_at < ?", now, now.Add(-idle)).Delete(&Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("auth: delete expired sessions: %w", res.Error)
	}
	if err := s.db.WithContext(ctx).Where("expires_at < ?", now).Delete(&loginAttempt{}).Error; err != nil {
		return res.RowsAffected, fmt.Errorf("auth: delete expired login attempts: %w", err)
	}
	if err := s.db.WithContext(ctx).Where("expires_at < ?", now).Delete(&usedLogoutToken{}).Error; err != nil {
		return res.RowsAffected, fmt.Errorf("auth: delete expired logout tokens: %w", err)
	}
	return res.RowsAffected, nil
}
