package frontend

import (
	"sort"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"
)

// Form carries what a person submitted and what was wrong with it back into
// the page, so the form is shown again with their input and translated
// messages next to the fields and in an error summary. The methods accept a
// nil *Form, which reads as an empty form.
type Form struct {
	// Values are the submitted values by field name.
	Values map[string]string
	// Errors are translation keys of the validation messages by field name.
	Errors map[string]string

	order []string // fields in the order Fail was called, for the summary
}

// FieldError is one entry of the error summary.
type FieldError struct {
	Field string // the field's name, also its element id
	Key   string // translation key of the message
}

// NewForm returns an empty form.
func NewForm() *Form {
	return &Form{Values: map[string]string{}, Errors: map[string]string{}}
}

// ReadForm returns a form holding the named single-line fields of the
// request (form body or query string); see Read.
func ReadForm(c *fiber.Ctx, fields ...string) *Form {
	return NewForm().Read(c, fields...)
}

// Read adds the named single-line fields of the request, trimmed of
// surrounding white space. A value with a control character (a line break,
// a tab, a bare CR…) fails its field with error.field.control: such a value
// would break a calendar file, a mail header or a log line later. It
// returns f.
func (f *Form) Read(c *fiber.Ctx, fields ...string) *Form {
	for _, name := range fields {
		// strings.Clone: fasthttp reuses the request buffer after the handler.
		f.SetLine(name, strings.Clone(c.FormValue(name)))
	}
	return f
}

// SetLine stores a single-line field's value read some other way (a JSON
// body) under the rules of Read: trimmed, and failed on a control character.
func (f *Form) SetLine(field, v string) {
	v = strings.TrimSpace(v)
	if strings.ContainsFunc(v, unicode.IsControl) {
		f.Fail(field, "error.field.control")
	}
	f.Set(field, v)
}

// SetText stores a multi-line field's value under the rules of ReadText.
func (f *Form) SetText(field, v string) {
	v = strings.TrimSpace(v)
	v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", "\n"), "\r", "\n")
	if strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
		f.Fail(field, "error.field.control")
	}
	f.Set(field, v)
}

// ReadText adds the named multi-line text fields of the request, trimmed of
// surrounding white space, with line breaks made LF. Line breaks and tabs
// are kept; any other control character fails the field with
// error.field.control. It returns f.
func (f *Form) ReadText(c *fiber.Ctx, fields ...string) *Form {
	for _, name := range fields {
		f.SetText(name, strings.Clone(c.FormValue(name)))
	}
	return f
}

// Set stores a field's value.
func (f *Form) Set(field, value string) {
	if f.Values == nil {
		f.Values = map[string]string{}
	}
	f.Values[field] = value
}

// Get returns a field's value, "" if it has none.
func (f *Form) Get(field string) string {
	if f == nil {
		return ""
	}
	return f.Values[field]
}

// Fail records the translation key of a field's validation message. The
// first message of a field wins: it is the one to fix first.
func (f *Form) Fail(field, key string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; ok {
		return
	}
	f.Errors[field] = key
	f.order = append(f.order, field)
}

// Error returns the translation key of a field's message, "" if it is valid.
func (f *Form) Error(field string) string {
	if f == nil {
		return ""
	}
	return f.Errors[field]
}

// HasErrors reports whether any field failed.
func (f *Form) HasErrors() bool {
	return f != nil && len(f.Errors) > 0
}

// ErrorList returns the errors in the order they were recorded; errors put
// into Errors directly follow, by field name.
func (f *Form) ErrorList() []FieldError {
	if f == nil || len(f.Errors) == 0 {
		return nil
	}
	out := make([]FieldError, 0, len(f.Errors))
	seen := make(map[string]bool, len(f.Errors))
	for _, field := range f.order {
		if key, ok := f.Errors[field]; ok && !seen[field] {
			out = append(out, FieldError{Field: field, Key: key})
			seen[field] = true
		}
	}
	var rest []string
	for field := range f.Errors {
		if !seen[field] {
			rest = append(rest, field)
		}
	}
	sort.Strings(rest)
	for _, field := range rest {
		out = append(out, FieldError{Field: field, Key: f.Errors[field]})
	}
	return out
}

// Option is one choice of partials/select: the submitted value and its
// label, either already translated (Label) or a translation key (LabelKey).
type Option struct {
	Value    string
	Label    string
	LabelKey string
}
