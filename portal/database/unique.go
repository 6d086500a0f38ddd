package database

import (
	"errors"

	"gorm.io/gorm"
)

// IsUniqueViolation reports whether err is the database refusing a
// duplicate key, in either dialect.
func IsUniqueViolation(db *gorm.DB, err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	if t, ok := db.Dialector.(gorm.ErrorTranslator); ok && errors.Is(t.Translate(err), gorm.ErrDuplicatedKey) {
		return true
	}
	var u interface{ Unwrap() error }
	if errors.As(err, &u) {
		if inner := u.Unwrap(); inner != nil && inner != err {
			return IsUniqueViolation(db, inner)
		}
	}
	return false
}
