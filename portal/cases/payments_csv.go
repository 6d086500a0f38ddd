package cases

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// DefaultMaxImportRows is the row limit ParsePaymentsCSV applies when the
// caller gives none: a year of a large landlord's payments of one debtor
// is far less.
const DefaultMaxImportRows = 1000

// maxReferenceRunes is the longest reference: a SEPA structured reference
// (RF) is at most 25 characters, a free-form one 35.
const maxReferenceRunes = 35

// maxHeaderBytes bounds the header line, read before the CSV reader starts.
const maxHeaderBytes = 4096

// ImportRow is one payment of the rental company's payment list.
type ImportRow struct {
	// Line is the row's line number in the file, counting from 1, for
	// messages; it is not part of the row's identity.
	Line int
	// Reference is the payment reference without spaces, in upper case, so
	// "12345 67890" and "1234567890", or "rf18…" and "RF18…", are the same.
	Reference   string
	Date        Date
	AmountCents int64
	// Occurrence counts identical rows (same reference, date and amount)
	// within the file, from 1: the resident may pay the same sum twice on
	// one day, and both payments count.
	Occurrence int
}

// LineError says what is wrong on one line of an imported file. Line 0 is
// the file as a whole. Key is the translation key of the reason.
type LineError struct {
	Line int
	Key  string
}

// CSVError is a refused import: every problem found, in line order, so the
// person can fix the file at once rather than one upload per mistake. A
// line may appear more than once, once per wrong column. Its kind (through
// Unwrap) is problem.Invalid.
type CSVError struct {
	Lines []LineError
}

// Error lists the lines and keys for logs.
func (e *CSVError) Error() string {
	var b strings.Builder
	b.WriteString("cases: payments csv refused:")
	for i, l := range e.Lines {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " line %d %s", l.Line, l.Key)
	}
	return b.String()
}

// Unwrap gives the error its kind, so the web edge answers 422 with a
// general text where a handler does not show the lines itself.
func (e *CSVError) Unwrap() error {
	return problem.E(problem.Invalid, "cases.csv.error.invalid")
}

// csvColumns are the header names accepted for each column, lower case:
// the Finnish name, its spelling without umlauts, and the English one.
var csvColumns = [3][]string{
	{"viite", "reference"},
	{"päivä", "paiva", "pvm", "date"},
	{"summa", "amount"},
}

// ParsePaymentsCSV reads a rental company's list of payments: a header row
// naming the columns reference (viite), date (päivä, pvm) and amount
// (summa) in any order and letter case, other columns ignored; then one
// payment a row. The separator is ";" (Finnish Excel, with decimal commas)
// or ",", whichever the header line uses. A UTF-8 byte order mark and
// blank lines are skipped. Dates are 2026-05-04 or 4.5.2026; amounts are
// read by ParseEuros and must be more than zero.
//
// The import is all or nothing: if any row is wrong, or there are more
// than maxRows rows (DefaultMaxImportRows when maxRows ≤ 0), the result is
// no rows and a *CSVError listing every problem with its line. The caller
// bounds the size of r; a failure to read r is returned wrapped.
func ParsePaymentsCSV(r io.Reader, maxRows int) ([]ImportRow, error) {
	if maxRows <= 0 {
		maxRows = DefaultMaxImportRows
	}
	br := bufio.NewReaderSize(r, maxHeaderBytes)
	header, skipped, err := readHeaderLine(br)
	if err != nil {
		return nil, err
	}
	if header == nil {
		return nil, &CSVError{Lines: []LineError{{Line: 0, Key: "cases.csv.error.empty"}}}
	}
	cr := csvReader(header, br)

	var (
		bad  []LineError
		rows []ImportRow
		cols []int // index of reference, date, amount in a record
		seen = make(map[string]int)
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			bad = append(bad, LineError{Line: perr.StartLine + skipped, Key: "cases.csv.error.format"})
			if cols == nil {
				break // without a header there is nothing to read the rows by
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cases: read payments csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		line += skipped
		if blank(rec) {
			continue
		}
		if !validUTF8(rec) {
			bad = append(bad, LineError{Line: line, Key: "cases.csv.error.encoding"})
			if cols == nil {
				break
			}
			continue
		}
		if cols == nil {
			cols = headerColumns(rec)
			if cols == nil {
				bad = append(bad, LineError{Line: line, Key: "cases.csv.error.columns"})
				break
			}
			continue
		}
		if len(rows)+countLines(bad) >= maxRows {
			bad = append(bad, LineError{Line: line, Key: "cases.csv.error.too_many"})
			break
		}
		row, errs := parseRow(rec, cols, line)
		if len(errs) > 0 {
			bad = append(bad, errs...)
			continue
		}
		k := row.Reference + "|" + row.Date.String() + "|" + strconv.FormatInt(row.AmountCents, 10)
		seen[k]++
		row.Occurrence = seen[k]
		rows = append(rows, row)
	}
	if len(bad) > 0 {
		return nil, &CSVError{Lines: bad}
	}
	if len(rows) == 0 {
		return nil, &CSVError{Lines: []LineError{{Line: 0, Key: "cases.csv.error.empty"}}}
	}
	return rows, nil
}

// readHeaderLine returns the first non-blank line, without a byte order
// mark, and how many lines came before it; nil when there is none. It
// reads the line itself to see its separator before the CSV reader starts.
func readHeaderLine(br *bufio.Reader) (line []byte, skipped int, err error) {
	for first := true; ; first = false {
		l, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, 0, &CSVError{Lines: []LineError{{Line: skipped + 1, Key: "cases.csv.error.columns"}}}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("cases: read payments csv: %w", err)
		}
		if first {
			l = bytes.TrimPrefix(l, []byte("\uFEFF"))
		}
		if len(bytes.TrimSpace(l)) > 0 {
			return bytes.Clone(l), skipped, nil
		}
		if err != nil { // io.EOF
			return nil, skipped, nil
		}
		skipped++
	}
}

// headerColumns finds the reference, date and amount columns of a header
// record; nil when one is missing or named twice.
func headerColumns(rec []string) []int { return findColumns(rec, csvColumns[:]) }

// findColumns finds each column of a header record by the names it may go
// by (compared folded, as foldHeader does); nil when one is missing or
// named twice.
func findColumns(rec []string, columns [][]string) []int {
	cols := make([]int, len(columns))
	for c := range cols {
		cols[c] = -1
	}
	for i, name := range rec {
		name = foldHeader(name)
		for c, names := range columns {
			if !slices.ContainsFunc(names, func(n string) bool { return foldHeader(n) == name }) {
				continue
			}
			if cols[c] >= 0 {
				return nil
			}
			cols[c] = i
		}
	}
	for _, c := range cols {
		if c < 0 {
			return nil
		}
	}
	return cols
}

// parseRow reads one payment; every wrong column is reported.
func parseRow(rec []string, cols []int, line int) (ImportRow, []LineError) {
	for _, c := range cols {
		if c >= len(rec) {
			return ImportRow{}, []LineError{{Line: line, Key: "cases.csv.error.columns"}}
		}
	}
	row := ImportRow{Line: line}
	var errs []LineError
	ref, ok := normaliseReference(rec[cols[0]])
	if !ok {
		errs = append(errs, LineError{Line: line, Key: "cases.csv.error.reference"})
	}
	row.Reference = ref
	d, ok := parseDayText(strings.TrimSpace(rec[cols[1]]))
	if !ok {
		errs = append(errs, LineError{Line: line, Key: "cases.csv.error.date"})
	}
	row.Date = d
	c, err := parseEuros(rec[cols[2]])
	if err != nil || c <= 0 {
		errs = append(errs, LineError{Line: line, Key: "cases.csv.error.amount"})
	}
	row.AmountCents = c
	return row, errs
}

// normaliseReference drops spaces (references are printed in groups of
// five) and upper-cases; it refuses an empty or over-long reference and
// control characters.
func normaliseReference(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
		case unicode.IsControl(r) || r == utf8.RuneError:
			return "", false
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	ref := b.String()
	n := utf8.RuneCountInString(ref)
	return ref, n > 0 && n <= maxReferenceRunes
}

// parseDayText reads 2026-05-04 or the Finnish 4.5.2026 (also 04.05.2026),
// with a four-digit year and a day that exists; both ParseDate and the
// import read days with it.
func parseDayText(s string) (Date, bool) {
	var parts []string
	var y, m, d int
	switch {
	case strings.Count(s, "-") == 2:
		parts = strings.Split(s, "-")
		if len(parts[0]) != 4 || len(parts[1]) != 2 || len(parts[2]) != 2 {
			return Date{}, false
		}
		y, m, d = 0, 1, 2
	case strings.Count(s, ".") == 2:
		parts = strings.Split(s, ".")
		if len(parts[2]) != 4 || len(parts[0]) > 2 || len(parts[1]) > 2 {
			return Date{}, false
		}
		y, m, d = 2, 1, 0
	default:
		return Date{}, false
	}
	var n [3]int
	for i, p := range parts {
		if !allDigits(p) {
			return Date{}, false
		}
		v, err := strconv.Atoi(p)
		if err != nil {
			return Date{}, false
		}
		n[i] = v
	}
	date := Date{Year: n[y], Month: time.Month(n[m]), Day: n[d]}
	return date, date.Valid()
}

// ImportKey is a row's idempotency key: the SHA-256, in hex, of its
// normalised content (reference, ISO date, cents) and its occurrence in
// the file. Importing the same file again, or the same payments with
// another separator or date format, gives the same keys, so a store that
// keeps keys unique per case records nothing new; the line number is left
// out so that a later list with rows added above still matches. Two equal
// payments in one file differ by Occurrence.
func ImportKey(row ImportRow) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "payment/v1|%s|%s|%d|%d",
		row.Reference, row.Date, row.AmountCents, row.Occurrence))
	return hex.EncodeToString(sum[:])
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func validUTF8(rec []string) bool {
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return false
		}
	}
	return true
}

// countLines is how many distinct lines bad names; a row with two wrong
// columns is still one row toward the limit.
func countLines(bad []LineError) int {
	n, last := 0, -1
	for _, b := range bad {
		if b.Line != last {
			n++
			last = b.Line
		}
	}
	return n
}

// csvReader reads a list whose header line has been read already: the
// separator is the one the header uses more of, ';' (Finnish Excel) or
// ','; rows may have any number of fields (checked row by row).
func csvReader(header []byte, rest io.Reader) *csv.Reader {
	cr := csv.NewReader(io.MultiReader(bytes.NewReader(header), rest))
	cr.Comma = ','
	if bytes.Count(header, []byte(";")) > bytes.Count(header, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	return cr
}
