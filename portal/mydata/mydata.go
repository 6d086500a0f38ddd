// Package mydata is the resident's "Download my data" (GDPR Art. 15): what
// the service holds about them, from every feature, as JSON and as a PDF
// in their language. It imports no feature: each feature's part comes
// through a Source, built in cmd/portal from the feature's exported stores.
package mydata

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
)

// Source gives one part of a resident's data: only that resident's, read
// without side effects (nothing marked read, no access log: the resident
// reads their own). An error fails the whole download.
type Source func(ctx context.Context, residentID int64) (Part, error)

// Part is what one feature holds: its heading's translation key,
// mydata.part.<name>, whose last word is also the part's name in the JSON.
type Part struct {
	Key   string
	Items []Item
}

// Name is the part's name in the JSON: the last word of Key.
func (p Part) Name() string { return p.Key[strings.LastIndexByte(p.Key, '.')+1:] }

// Item is one thing of a part (an appointment, a chat): its facts, and
// the lists it holds (a chat's messages).
type Item struct {
	Fields []Field
	Lists  []List
}

// List is a list inside an item; its heading is mydata.list.<Name>, its
// name in the JSON Name.
type List struct {
	Name  string
	Items []Item
}

// kind is how a field's value is shown in the PDF.
type kind int

const (
	kindText  kind = iota // as it is
	kindCode              // a code, shown as the text of its key
	kindTime              // a time, shown in the resident's language
	kindMoney             // cents, shown in euros
	kindBool              // yes or no
	kindSize              // bytes
	kindRaw               // a JSON document; the PDF shows its text
)

// Field is one fact. Name is its stable English name: the key in the
// JSON, and mydata.field.<Name> its label in the PDF. Make fields with
// the constructors (Text, Code, Time…).
type Field struct {
	Name  string
	Value any // string, int64, bool, time.Time, json.RawMessage or nil
	// Key is the translation key of a code's text in the PDF.
	Key  string
	kind kind
	// text is the PDF's text of a raw JSON document in a language.
	text func(lang string) string
}

// Text is a fact as written (a message, a name); "" is left out.
func Text(name, v string) Field { return Field{Name: name, Value: v} }

// Code is a code of a list (a status, a topic): the JSON has the code, the
// PDF the text of key.
func Code(name, code, key string) Field {
	return Field{Name: name, Value: code, Key: key, kind: kindCode}
}

// Time is an instant; zero is left out. The JSON has it in RFC 3339, UTC.
func Time(name string, t time.Time) Field {
	if t.IsZero() {
		return Field{Name: name, kind: kindTime}
	}
	return Field{Name: name, Value: t.UTC(), kind: kindTime}
}

// TimePtr is Time of a time that may be missing.
func TimePtr(name string, t *time.Time) Field {
	if t == nil {
		return Field{Name: name, kind: kindTime}
	}
	return Time(name, *t)
}

// Int is a count.
func Int(name string, n int64) Field { return Field{Name: name, Value: n} }

// Money is an amount in cents: the JSON has cents (name it …_cents), the
// PDF euros.
func Money(name string, cents int64) Field { return Field{Name: name, Value: cents, kind: kindMoney} }

// Bool is a yes or no.
func Bool(name string, v bool) Field { return Field{Name: name, Value: v, kind: kindBool} }

// Size is a file's size in bytes.
func Size(name string, bytes int64) Field { return Field{Name: name, Value: bytes, kind: kindSize} }

// Raw is a JSON document kept as it is stored (its field names are
// English), with its text in a language for the PDF.
func Raw(name string, doc []byte, text func(lang string) string) Field {
	if !json.Valid(doc) {
		doc = []byte("null")
	}
	return Field{Name: name, Value: json.RawMessage(doc), kind: kindRaw, text: text}
}

// empty reports whether the field has nothing to show.
func (f Field) empty() bool {
	switch v := f.Value.(type) {
	case nil:
		return true
	case string:
		return v == ""
	}
	return false
}

// Export is a resident's data: who, when and every part.
type Export struct {
	ResidentID  int64
	Lang        string
	GeneratedAt time.Time
	Parts       []Part
}

// Collect reads every part for a resident, in the order of sources.
func Collect(ctx context.Context, residentID int64, sources []Source) ([]Part, error) {
	out := make([]Part, 0, len(sources))
	for _, src := range sources {
		p, err := src(ctx, residentID)
		if err != nil {
			return nil, fmt.Errorf("mydata: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Profile is the source of the person's own users row.
func Profile(users *auth.Users) Source {
	return func(ctx context.Context, residentID int64) (Part, error) {
		u, err := users.ByID(ctx, residentID)
		if err != nil {
			return Part{}, fmt.Errorf("profile of %d: %w", residentID, err)
		}
		return Part{Key: "mydata.part.profile", Items: []Item{{Fields: []Field{
			Text("name", u.Name),
			Text("given_name", u.GivenName),
			Text("family_name", u.FamilyName),
			Text("email", u.Email),
			Text("phone", u.Phone),
			Text("street_address", u.StreetAddress),
			Text("postal_code", u.PostalCode),
			Text("identity_code", auth.MaskIdentityCode(u.IdentityCode)),
			Code("language", u.PreferredLang, "mydata.language."+u.PreferredLang),
			Time("created_at", u.CreatedAt),
			TimePtr("last_login_at", u.LastLoginAt),
		}}}}, nil
	}
}

// maxLog is how many access log entries the download holds.
const maxLog = 10000

// AccessLog is the source of who among staff has looked at or changed the
// person's data, newest first.
func AccessLog(log *audit.Log) Source {
	return func(ctx context.Context, residentID int64) (Part, error) {
		rows, err := log.OfResident(ctx, residentID, maxLog)
		if err != nil {
			return Part{}, err
		}
		p := Part{Key: "mydata.part.access_log"}
		for _, r := range rows {
			it := Item{Fields: []Field{
				Time("at", r.At),
				Text("staff_member", r.ActorName),
				Code("staff_role", r.ActorRole, "role."+r.ActorRole),
				Code("action", r.Action, "accesslog.action."+r.Action),
			}}
			if r.Reason != "" {
				it.Fields = append(it.Fields, Code("reason", r.Reason, "accesslog.reason."+r.Reason))
			}
			p.Items = append(p.Items, it)
		}
		return p, nil
	}
}
