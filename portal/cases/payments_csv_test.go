package cases

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// rowText renders an import row as "line ref date cents occurrence".
func rowText(r ImportRow) string {
	return strings.Join([]string{strconv.Itoa(r.Line), r.Reference, r.Date.String(),
		strconv.FormatInt(r.AmountCents, 10), strconv.Itoa(r.Occurrence)}, " ")
}

func TestParsePaymentsCSV(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []string
	}{
		{
			name: "Finnish Excel: semicolons, decimal commas, BOM, CRLF",
			file: "\uFEFFViite;Päivä;Summa\r\n12345 67890;4.5.2026;850,50\r\n12345 67890;04.06.2026;1 234,56 €\r\n",
			want: []string{"2 1234567890 2026-05-04 85050 1", "3 1234567890 2026-06-04 123456 1"},
		},
		{
			name: "commas with decimal points, English headers, ISO dates",
			file: "reference,date,amount\nRF18539007547034,2026-05-04,850.5\nrf18 5390 0754 7034,2026-05-05,\"1 234,56\"\n",
			want: []string{"2 RF18539007547034 2026-05-04 85050 1", "3 RF18539007547034 2026-05-05 123456 1"},
		},
		{
			name: "columns in another order, other columns and pvm, blank lines",
			file: "\n\nSumma;Maksaja;PVM;Arkistointitunnus;VIITE\n\n300;Virtanen;1.5.2026;A1;1232\n;;;;\n  \n100,00;Virtanen;2.5.2026;A2;1232\n",
			want: []string{"5 1232 2026-05-01 30000 1", "8 1232 2026-05-02 10000 1"},
		},
		{
			name: "paiva without umlauts and padded cells",
			file: "viite ; paiva ; summa\n 1232 ; 2026-05-04 ; 50 \n",
			want: []string{"2 1232 2026-05-04 5000 1"},
		},
		{
			name: "duplicates in one file count their occurrences",
			file: "viite;päivä;summa\n1232;4.5.2026;300\n1232;4.5.2026;300,00\n1232;4.5.2026;200\n1232;2026-05-04;300\n",
			want: []string{"2 1232 2026-05-04 30000 1", "3 1232 2026-05-04 30000 2", "4 1232 2026-05-04 20000 1", "5 1232 2026-05-04 30000 3"},
		},
		{
			name: "no newline at the end",
			file: "viite;päivä;summa\n1232;4.5.2026;300",
			want: []string{"2 1232 2026-05-04 30000 1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ParsePaymentsCSV(strings.NewReader(tc.file), 10)
			if err != nil {
				t.Fatalf("ParsePaymentsCSV: %v", err)
			}
			got := make([]string, len(rows))
			for i, r := range rows {
				got[i] = rowText(r)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("rows\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestParsePaymentsCSVRefuses(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		maxRows int
		want    []LineError
	}{
		{
			name: "three bad rows among good ones: all reported",
			file: "viite;päivä;summa\n1232;4.5.2026;300\n1232;31.4.2026;300\n1232;5.5.2026;300\n;6.5.2026;300\n1232;7.5.2026;-300\n1232;8.5.2026;300\n",
			want: []LineError{{3, "cases.csv.error.date"}, {5, "cases.csv.error.reference"}, {6, "cases.csv.error.amount"}},
		},
		{
			name: "two wrong columns on one row",
			file: "viite;päivä;summa\n1232;4/5/2026;850,505\n",
			want: []LineError{{2, "cases.csv.error.date"}, {2, "cases.csv.error.amount"}},
		},
		{
			name: "zero, a two-digit year and a short row",
			file: "viite;päivä;summa\n1232;4.5.2026;0\n1232;4.5.26;300\n1232;4.5.2026\n",
			want: []LineError{{2, "cases.csv.error.amount"}, {3, "cases.csv.error.date"}, {4, "cases.csv.error.columns"}},
		},
		{
			name: "missing column",
			file: "viite;päivä;maksettu\n1232;4.5.2026;300\n",
			want: []LineError{{1, "cases.csv.error.columns"}},
		},
		{
			name: "column named twice",
			file: "\nviite;date;päivä;summa\n1232;4.5.2026;4.5.2026;300\n",
			want: []LineError{{2, "cases.csv.error.columns"}},
		},
		{
			name: "no header row, data first",
			file: "1232;4.5.2026;300\n",
			want: []LineError{{1, "cases.csv.error.columns"}},
		},
		{
			name:    "too many rows",
			file:    "viite;päivä;summa\n1;1.5.2026;1\n2;2.5.2026;1\n\n3;3.5.2026;1\n4;4.5.2026;1\n",
			maxRows: 3,
			want:    []LineError{{6, "cases.csv.error.too_many"}},
		},
		{
			name:    "a bad row counts toward the limit",
			file:    "viite;päivä;summa\n1;x;1\n2;2.5.2026;1\n3;3.5.2026;1\n",
			maxRows: 2,
			want:    []LineError{{2, "cases.csv.error.date"}, {4, "cases.csv.error.too_many"}},
		},
		{
			name: "empty file",
			file: "",
			want: []LineError{{0, "cases.csv.error.empty"}},
		},
		{
			name: "only a BOM and blank lines",
			file: "\uFEFF\r\n \n",
			want: []LineError{{0, "cases.csv.error.empty"}},
		},
		{
			name: "header without payments",
			file: "viite;päivä;summa\n;;\n",
			want: []LineError{{0, "cases.csv.error.empty"}},
		},
		{
			name: "Latin-1 text",
			file: "viite;päivä;summa\n1232;4.5.2026;300\nV\xe4\xe4r\xe4;4.5.2026;300\n",
			want: []LineError{{3, "cases.csv.error.encoding"}},
		},
		{
			name: "broken quotes",
			file: "viite;päivä;summa\n12\"32;4.5.2026;300\n1232;5.5.2026;300\n",
			want: []LineError{{2, "cases.csv.error.format"}},
		},
		{
			name: "over-long reference",
			file: "viite;päivä;summa\n" + strings.Repeat("1", 36) + ";4.5.2026;300\n",
			want: []LineError{{2, "cases.csv.error.reference"}},
		},
		{
			name: "over-long header line",
			file: strings.Repeat("x", 5000) + "\n",
			want: []LineError{{1, "cases.csv.error.columns"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := ParsePaymentsCSV(strings.NewReader(tc.file), tc.maxRows)
			if rows != nil {
				t.Errorf("got %d rows with the error, want none", len(rows))
			}
			var ce *CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *CSVError", err)
			}
			if !slices.Equal(ce.Lines, tc.want) {
				t.Errorf("lines %v, want %v", ce.Lines, tc.want)
			}
			if !problem.Is(err, problem.Invalid) {
				t.Errorf("kind %v, want invalid", problem.KindOf(err))
			}
		})
	}
}

func TestParsePaymentsCSVReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ParsePaymentsCSV(iotest.TimeoutReader(strings.NewReader("viite;päivä;summa\n1;1.5.2026;1\n")), 0)
	if err == nil {
		t.Fatal("a failed read was not reported")
	}
	_, err = ParsePaymentsCSV(iotest.ErrReader(boom), 0)
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the read error", err)
	}
	var ce *CSVError
	if errors.As(err, &ce) {
		t.Fatal("a read error was reported as the file's fault")
	}
}

func TestImportKey(t *testing.T) {
	semicolons := "viite;päivä;summa\n1232;4.5.2026;300\n1232;4.5.2026;300\n4567;5.5.2026;99,90\n"
	// The same payments, exported with commas and ISO dates, with a new
	// payment above them.
	commas := "reference,date,amount,payer\n9999,2026-05-01,10.00,X\n1232,2026-05-04,300.00,X\n1 232,2026-05-04,300,X\n4567,2026-05-05,99.9,X\n"
	keys := func(file string) []string {
		t.Helper()
		rows, err := ParsePaymentsCSV(strings.NewReader(file), 0)
		if err != nil {
			t.Fatalf("ParsePaymentsCSV: %v", err)
		}
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = ImportKey(r)
			if len(out[i]) != 64 || strings.Trim(out[i], "0123456789abcdef") != "" {
				t.Fatalf("key %q is not sha256 hex", out[i])
			}
		}
		return out
	}
	first := keys(semicolons)
	if first[0] == first[1] {
		t.Error("two identical payments in one file have one key")
	}
	if again := keys(semicolons); !slices.Equal(first, again) {
		t.Errorf("the same file twice gave other keys:\n%q\n%q", first, again)
	}
	other := keys(commas)
	if !slices.Equal(first, other[1:]) {
		t.Errorf("the same payments in another format gave other keys:\n%q\n%q", first, other[1:])
	}
	if slices.Contains(first, other[0]) {
		t.Error("a new payment has the key of an old one")
	}
	base := ImportRow{Line: 2, Reference: "1232", Date: Date{2026, 5, 4}, AmountCents: 30000, Occurrence: 1}
	moved := base
	moved.Line = 40
	if ImportKey(base) != ImportKey(moved) {
		t.Error("the line number changed the key")
	}
	for _, change := range []func(r *ImportRow){
		func(r *ImportRow) { r.Reference = "1233" },
		func(r *ImportRow) { r.Date.Day = 5 },
		func(r *ImportRow) { r.AmountCents++ },
		func(r *ImportRow) { r.Occurrence = 2 },
	} {
		r := base
		change(&r)
		if ImportKey(r) == ImportKey(base) {
			t.Errorf("%+v has the key of %+v", r, base)
		}
	}
}
