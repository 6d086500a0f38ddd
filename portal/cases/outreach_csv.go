package cases

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxOutreachRows is the row limit ParseOutreachCSV applies when the
// caller gives none: a large landlord's list of tenants behind on rent is
// a few thousand rows.
const DefaultMaxOutreachRows = 10000

// maxOutreachRunes bounds a name and an address.
const maxOutreachRunes = 200

// maxArrearsCents is the largest arrears a row may state: a million euros,
// as a case's debt.
const maxArrearsCents = 100_000_000

// maxMonthsBehind is the most months behind a row may state.
const maxMonthsBehind = 240

// OutreachRow is one tenant of the rental company's arrears list.
type OutreachRow struct {
	// Line is the row's line number in the file, counting from 1.
	Line int
	// TenantRef is the landlord's tenant reference without spaces, in
	// upper case (as a payment reference is read).
	TenantRef string
	// Name is the tenant's name as the landlord writes it, white space
	// collapsed; Address the street address.
	Name, Address string
	// PostalCode is five digits.
	PostalCode   string
	ArrearsCents int64
	MonthsBehind int
}

// outreachColumns are the header names accepted for each column, folded
// (lower case, ä→a, ö→o, å→a, spaces and hyphens →_): the Finnish, English
// and Swedish names. The arrears column must say it is in cents, so that a
// list in euros is not read a hundred times too small.
var outreachColumns = [6][]string{
	{"vuokralaistunnus", "vuokralaisnumero", "asiakasnumero", "sopimusnumero", "tenant_reference", "tenant_ref", "tenant_id", "hyresgastnummer", "hyresgastkod"},
	{"nimi", "name", "namn"},
	{"osoite", "katuosoite", "address", "street_address", "adress", "gatuadress"},
	{"postinumero", "postinro", "postal_code", "postcode", "postnummer"},
	{"rastit_snt", "rasti_snt", "vuokrarastit_snt", "rastit_senttia", "arrears_cents", "arrears_in_cents", "hyresskuld_cent", "restskuld_cent"},
	{"kuukausia", "rastikuukaudet", "kk", "months_behind", "months", "manader"},
}

// ParseOutreachCSV reads a rental company's arrears list: a header row
// naming the columns tenant reference (vuokralaistunnus), name (nimi),
// address (osoite), postal code (postinumero), arrears in cents
// (rästit_snt) and months behind (kuukausia), in any order and letter
// case, other columns ignored; then one tenant a row. As
// ParsePaymentsCSV: the separator is ";" or ",", whichever the header
// line uses; a UTF-8 byte order mark and blank lines are skipped.
// Arrears and months are whole numbers; a postal code is five digits; a
// tenant reference appears once.
//
// The import is all or nothing: if any row is wrong, or there are more
// than maxRows rows (DefaultMaxOutreachRows when maxRows ≤ 0), the result
// is no rows and a *CSVError listing every problem with its line.
func ParseOutreachCSV(r io.Reader, maxRows int) ([]OutreachRow, error) {
	if maxRows <= 0 {
		maxRows = DefaultMaxOutreachRows
	}
	br := bufio.NewReaderSize(r, maxHeaderBytes)
	header, skipped, err := readHeaderLine(br)
	var ce *CSVError
	if errors.As(err, &ce) {
		// The payments' header message names the payments' columns.
		return nil, &CSVError{Lines: []LineError{{Line: ce.Lines[0].Line, Key: "cases.outreach.csv.error.columns"}}}
	}
	if err != nil {
		return nil, err
	}
	if header == nil {
		return nil, &CSVError{Lines: []LineError{{Line: 0, Key: "cases.outreach.csv.error.empty"}}}
	}
	cr := csvReader(header, br)

	var (
		bad  []LineError
		rows []OutreachRow
		cols []int
		seen = map[string]bool{}
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
				break
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cases: read arrears csv: %w", err)
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
			if cols = outreachHeader(rec); cols == nil {
				bad = append(bad, LineError{Line: line, Key: "cases.outreach.csv.error.columns"})
				break
			}
			continue
		}
		if len(rows)+countLines(bad) >= maxRows {
			bad = append(bad, LineError{Line: line, Key: "cases.csv.error.too_many"})
			break
		}
		row, errs := parseOutreachRow(rec, cols, line)
		if len(errs) == 0 && seen[row.TenantRef] {
			errs = append(errs, LineError{Line: line, Key: "cases.outreach.csv.error.duplicate"})
		}
		if len(errs) > 0 {
			bad = append(bad, errs...)
			continue
		}
		seen[row.TenantRef] = true
		rows = append(rows, row)
	}
	if len(bad) > 0 {
		return nil, &CSVError{Lines: bad}
	}
	if len(rows) == 0 {
		return nil, &CSVError{Lines: []LineError{{Line: 0, Key: "cases.outreach.csv.error.empty"}}}
	}
	return rows, nil
}

// foldHeader folds a header name for comparison.
func foldHeader(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer("ä", "a", "ö", "o", "å", "a", " ", "_", "-", "_").Replace(s)
}

// outreachHeader finds the six columns of a header record; nil when one
// is missing or named twice.
func outreachHeader(rec []string) []int { return findColumns(rec, outreachColumns[:]) }

// parseOutreachRow reads one tenant; every wrong column is reported.
func parseOutreachRow(rec []string, cols []int, line int) (OutreachRow, []LineError) {
	for _, c := range cols {
		if c >= len(rec) {
			return OutreachRow{}, []LineError{{Line: line, Key: "cases.outreach.csv.error.columns"}}
		}
	}
	row := OutreachRow{Line: line}
	var errs []LineError
	fail := func(key string) { errs = append(errs, LineError{Line: line, Key: key}) }
	var ok bool
	if row.TenantRef, ok = normaliseReference(rec[cols[0]]); !ok {
		fail("cases.outreach.csv.error.reference")
	}
	if row.Name, ok = outreachText(rec[cols[1]]); !ok {
		fail("cases.outreach.csv.error.name")
	}
	if row.Address, ok = outreachText(rec[cols[2]]); !ok {
		fail("cases.outreach.csv.error.address")
	}
	if row.PostalCode = strings.TrimSpace(rec[cols[3]]); len(row.PostalCode) != 5 || !allDigits(row.PostalCode) {
		fail("cases.outreach.csv.error.postal_code")
	}
	cents, ok := wholeNumber(rec[cols[4]], maxArrearsCents)
	if !ok {
		fail("cases.outreach.csv.error.arrears")
	}
	row.ArrearsCents = cents
	months, ok := wholeNumber(rec[cols[5]], maxMonthsBehind)
	if !ok {
		fail("cases.outreach.csv.error.months")
	}
	row.MonthsBehind = int(months)
	return row, errs
}

// outreachText trims a name or address and collapses its white space; it
// refuses an empty or over-long one and control characters.
func outreachText(s string) (string, bool) {
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }) {
		return "", false
	}
	s = strings.Join(strings.Fields(s), " ")
	n := utf8.RuneCountInString(s)
	return s, n > 0 && n <= maxOutreachRunes
}

// wholeNumber reads digits (spaces between thousands allowed) from 0 to
// max.
func wholeNumber(s string, max int64) (int64, bool) {
	s = strings.Join(strings.Fields(s), "")
	if s == "" || len(s) > 12 || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n <= max
}
