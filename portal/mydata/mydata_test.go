package mydata

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

func testExport() Export {
	at := time.Date(2026, 5, 4, 9, 30, 0, 0, time.FixedZone("EEST", 3*3600))
	long := strings.Repeat("Pitkä viesti, jossa on ääkköset ä ö å Ä Ö Å ja euro €. ", 40)
	var lines []Item
	for i := range 60 {
		lines = append(lines, Item{Fields: []Field{Time("at", at.Add(time.Duration(i)*time.Minute)), Code("from", "resident", "mydata.from.resident"), Text("text", long)}})
	}
	return Export{ResidentID: 7, Lang: "fi", GeneratedAt: at, Parts: []Part{
		{Key: "mydata.part.profile", Items: []Item{{Fields: []Field{
			Text("name", `Åsa "Ö" <Ärrä>`), Time("created_at", at), TimePtr("last_login_at", nil), Code("language", "sv", "mydata.language.sv"),
		}}}},
		{Key: "mydata.part.case", Items: []Item{{Fields: []Field{
			Money("debt_cents", 123456), Bool("in_court", true), Raw("answers", []byte(`{"home": {"address": "Katu 1"}}`), func(string) string { return "Koti: Katu 1" }),
		}, Lists: []List{{Name: "payments"}}}}},
		{Key: "mydata.part.chats", Items: []Item{{Fields: []Field{Time("started_at", at)}, Lists: []List{{Name: "messages", Items: lines}}}}},
		{Key: "mydata.part.bookings"},
	}}
}

// TestMyDataJSON: the JSON keeps the parts' and fields' order and stable
// names, times in RFC 3339 UTC, a missing time as null, money in cents,
// a raw document as it is, text escaped.
func TestMyDataJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, testExport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	for _, want := range []string{`"generated_at": "2026-05-04T06:30:00Z"`, `"created_at": "2026-05-04T06:30:00Z"`, `"last_login_at": null`,
		`"debt_cents": 123456`, `"in_court": true`, `"answers": {"home":{"address":"Katu 1"}}`, `"language": "sv"`, `"bookings": []`, `"payments": []`} {
		if !strings.Contains(out, want) {
			t.Errorf("the JSON lacks %s", want)
		}
	}
	order := []string{`"resident_id"`, `"generated_at"`, `"profile"`, `"name"`, `"created_at"`, `"case"`, `"chats"`, `"bookings"`}
	last := -1
	for _, k := range order {
		i := strings.Index(out, k)
		if i < last {
			t.Errorf("%s out of order", k)
		}
		last = i
	}
	if doc["profile"].([]any)[0].(map[string]any)["name"] != `Åsa "Ö" <Ärrä>` {
		t.Error("the name does not read back")
	}
}

// TestMyDataPDF: the PDF renders every language with the long transcript
// wrapping onto pages of its own.
func TestMyDataPDF(t *testing.T) {
	fe, err := frontend.New(frontend.Options{Location: time.UTC, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range frontend.SupportedLanguages() {
		e := testExport()
		e.Lang = lang
		var b bytes.Buffer
		if err := WritePDF(&b, fe, e); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b.Bytes(), []byte("%PDF-")) {
			t.Fatalf("%s: not a PDF", lang)
		}
		if n := bytes.Count(b.Bytes(), []byte("/Type /Page\n")); n < 10 {
			t.Errorf("%s: %d pages for 60 long messages", lang, n)
		}
	}
	if got := euros(123456, "fi"); got != "1 234,56 €" {
		t.Errorf("euros fi %q", got)
	}
	if got := euros(5, "en"); got != "€0.05" {
		t.Errorf("euros en %q", got)
	}
	if got := size(12345, "fi"); got != "12,3 kB" {
		t.Errorf("size %q", got)
	}
}

// TestMyDataCollect: the parts come in the sources' order for the one
// resident asked; a failing source fails the download.
func TestMyDataCollect(t *testing.T) {
	var asked []int64
	src := func(key string) Source {
		return func(_ context.Context, id int64) (Part, error) {
			asked = append(asked, id)
			return Part{Key: key}, nil
		}
	}
	parts, err := Collect(context.Background(), 7, []Source{src("mydata.part.profile"), src("mydata.part.case")})
	if err != nil || len(parts) != 2 || parts[0].Name() != "profile" || parts[1].Name() != "case" || asked[0] != 7 || asked[1] != 7 {
		t.Errorf("collect: %v %v %v", parts, asked, err)
	}
	boom := func(context.Context, int64) (Part, error) { return Part{}, errors.New("boom") }
	if _, err := Collect(context.Background(), 7, []Source{src("mydata.part.profile"), boom}); err == nil {
		t.Error("a failing source did not fail the download")
	}
}
