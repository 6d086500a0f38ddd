package frontend

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// TestFormRefusesControlCharacters: single-line fields refuse every
// control character (a bare CR once split a calendar file's line);
// multi-line fields keep line breaks and tabs, with CRLF and CR made LF.
func TestFormRefusesControlCharacters(t *testing.T) {
	cases := []struct {
		name, value string
		text        bool
		want        string // the value kept
		fails       bool
	}{
		{"plain", "  Mannerheimintie 1 ", false, "Mannerheimintie 1", false},
		{"bare CR", "Katu 1\rDESCRIPTION:x", false, "Katu 1\rDESCRIPTION:x", true},
		{"LF", "a\nb", false, "a\nb", true},
		{"tab", "a\tb", false, "a\tb", true},
		{"NUL", "a\x00b", false, "a\x00b", true},
		{"DEL", "a\x7fb", false, "a\x7fb", true},
		{"C1 control", "a\u0085b", false, "a\u0085b", true},
		{"letters", "Åsa Öberg-Äijälä", false, "Åsa Öberg-Äijälä", false},
		{"text keeps lines", "rivi 1\r\nrivi 2\rrivi 3\n\tsisennys", true, "rivi 1\nrivi 2\nrivi 3\n\tsisennys", false},
		{"text refuses NUL", "a\x00b", true, "a\x00b", true},
		{"text refuses escape", "a\x1b[31mb", true, "a\x1b[31mb", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New()
			var form *Form
			app.Post("/", func(c *fiber.Ctx) error {
				if tc.text {
					form = NewForm().ReadText(c, "f")
				} else {
					form = ReadForm(c, "f")
				}
				return nil
			})
			req := httptest.NewRequest("POST", "/", strings.NewReader(url.Values{"f": {tc.value}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if _, err := app.Test(req); err != nil {
				t.Fatal(err)
			}
			if got := form.Get("f"); got != tc.want {
				t.Errorf("value %q, want %q", got, tc.want)
			}
			if failed := form.Error("f") == "error.field.control"; failed != tc.fails {
				t.Errorf("failed = %v, want %v", failed, tc.fails)
			}
		})
	}
}
