package mydata

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/go-fonts/dejavu/dejavusans"
	"github.com/go-fonts/dejavu/dejavusansbold"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
)

// The page's geometry in millimetres (A4).
const (
	pdfMargin = 20.0
	pdfLabelW = 55.0
	pdfIndent = 6.0
)

// pdfWriter renders an export in one language.
type pdfWriter struct {
	pdf  *fpdf.Fpdf
	fe   *frontend.Frontend
	lang string
}

func (w *pdfWriter) t(key string, args ...any) string { return w.fe.Translator(w.lang).T(key, args...) }

// WritePDF renders the export as a readable PDF in lang: a heading per
// part, each item's facts labelled, lists (a chat's messages, a case's
// timeline) entry by entry; long texts wrap and run onto new pages. The
// font is DejaVu Sans, embedded, as in the housing-exchange PDF, so ä, ö,
// å, € and the letters of names in other scripts come out right.
func WritePDF(out io.Writer, fe *frontend.Frontend, e Export) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	w := &pdfWriter{pdf: pdf, fe: fe, lang: e.Lang}
	title := w.t("mydata.pdf.title")
	pdf.SetTitle(title, true)
	pdf.SetCreator("asumisneuvonta-portal", true)
	pdf.AddUTF8FontFromBytes("dejavu", "", dejavusans.TTF)
	pdf.AddUTF8FontFromBytes("dejavu", "B", dejavusansbold.TTF)
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(true, pdfMargin)
	footer := w.t("mydata.pdf.footer", "At", fe.DateTime(e.Lang, e.GeneratedAt))
	pdf.SetFooterFunc(func() {
		pdf.SetY(-14)
		pdf.SetFont("dejavu", "", 8)
		pdf.CellFormat(0, 5, fmt.Sprintf("%s · %d", footer, pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont("dejavu", "B", 16)
	pdf.MultiCell(0, 8, title, "", "L", false)
	pdf.SetFont("dejavu", "", 10)
	pdf.MultiCell(0, 5, w.t("mydata.pdf.made", "At", fe.DateTime(e.Lang, e.GeneratedAt)), "", "L", false)
	pdf.MultiCell(0, 5, w.t("mydata.pdf.intro"), "", "L", false)
	for _, p := range e.Parts {
		pdf.Ln(5)
		pdf.SetFont("dejavu", "B", 13)
		pdf.MultiCell(0, 7, w.t(p.Key), "B", "L", false)
		pdf.Ln(1)
		if len(p.Items) == 0 {
			pdf.SetFont("dejavu", "", 9)
			pdf.MultiCell(0, 5, w.t("mydata.pdf.none"), "", "L", false)
			continue
		}
		for i, it := range p.Items {
			if i > 0 {
				w.rule()
			}
			w.item(it)
		}
	}
	if err := pdf.Output(out); err != nil {
		return fmt.Errorf("mydata: render PDF: %w", err)
	}
	return nil
}

// rule draws a thin line between items.
func (w *pdfWriter) rule() {
	w.pdf.Ln(2)
	y := w.pdf.GetY()
	pageW, _ := w.pdf.GetPageSize()
	w.pdf.SetDrawColor(190, 190, 190)
	w.pdf.Line(pdfMargin, y, pageW-pdfMargin, y)
	w.pdf.SetDrawColor(0, 0, 0)
	w.pdf.Ln(2)
}

// item writes an item's facts as label and value rows, then its lists.
func (w *pdfWriter) item(it Item) {
	pdf := w.pdf
	for _, f := range it.Fields {
		v := w.value(f)
		if v == "" {
			continue
		}
		pdf.SetFont("dejavu", "B", 9)
		y := pdf.GetY()
		page := pdf.PageNo()
		pdf.MultiCell(pdfLabelW, 5, w.label(f.Name), "", "L", false)
		yl, pl := pdf.GetY(), pdf.PageNo()
		if pl != page {
			// The label ran onto a new page: the value follows it there.
			y = pdfMargin
		}
		pdf.SetXY(pdfMargin+pdfLabelW, y)
		pdf.SetFont("dejavu", "", 9)
		pdf.MultiCell(0, 5, v, "", "L", false)
		if pdf.PageNo() == pl && yl > pdf.GetY() {
			pdf.SetY(yl)
		}
	}
	for _, l := range it.Lists {
		pdf.Ln(2)
		pdf.SetFont("dejavu", "B", 10)
		pdf.MultiCell(0, 6, w.t("mydata.list."+l.Name)+" ("+strconv.Itoa(len(l.Items))+")", "", "L", false)
		if len(l.Items) == 0 {
			pdf.SetFont("dejavu", "", 9)
			pdf.MultiCell(0, 5, w.t("mydata.pdf.none"), "", "L", false)
		}
		for _, e := range l.Items {
			w.entry(e)
		}
	}
}

// entry writes an item of a list compactly: its facts on one line (times
// and codes as they read, the rest labelled), then its text as a
// paragraph, indented.
func (w *pdfWriter) entry(it Item) {
	pdf := w.pdf
	var head, texts []string
	for _, f := range it.Fields {
		v := w.value(f)
		switch {
		case v == "":
		case f.Name == "text" || f.Name == "body":
			texts = append(texts, v)
		case f.kind == kindTime || f.kind == kindCode:
			head = append(head, v)
		default:
			head = append(head, w.label(f.Name)+": "+v)
		}
	}
	pdf.Ln(1)
	pdf.SetX(pdfMargin + pdfIndent)
	pdf.SetFont("dejavu", "B", 8)
	pdf.MultiCell(0, 4.5, strings.Join(head, " · "), "", "L", false)
	pdf.SetFont("dejavu", "", 9)
	for _, t := range texts {
		pdf.SetX(pdfMargin + pdfIndent)
		pdf.MultiCell(0, 4.8, t, "", "L", false)
	}
	for _, l := range it.Lists {
		for _, sub := range l.Items {
			var parts []string
			for _, f := range sub.Fields {
				if v := w.value(f); v != "" {
					parts = append(parts, v)
				}
			}
			pdf.SetX(pdfMargin + 2*pdfIndent)
			pdf.SetFont("dejavu", "", 8)
			pdf.MultiCell(0, 4.5, w.t("mydata.list."+l.Name)+": "+strings.Join(parts, " · "), "", "L", false)
		}
	}
}

// label is a field's label in the language.
func (w *pdfWriter) label(name string) string { return w.t("mydata.field." + name) }

// value is a field's value as the PDF shows it; "" when there is none.
func (w *pdfWriter) value(f Field) string {
	if f.empty() {
		return ""
	}
	switch f.kind {
	case kindCode:
		if f.Key != "" && w.fe.Has(f.Key) {
			return w.t(f.Key)
		}
	case kindTime:
		if t, ok := f.Value.(time.Time); ok {
			return w.fe.DateTime(w.lang, t)
		}
	case kindMoney:
		if n, ok := f.Value.(int64); ok {
			return euros(n, w.lang)
		}
	case kindBool:
		if b, ok := f.Value.(bool); ok {
			if b {
				return w.t("mydata.pdf.yes")
			}
			return w.t("mydata.pdf.no")
		}
	case kindSize:
		if n, ok := f.Value.(int64); ok {
			return size(n, w.lang)
		}
	case kindRaw:
		if f.text != nil {
			return f.text(w.lang)
		}
		return ""
	}
	return fmt.Sprint(f.Value)
}

// euros formats cents as euros in the language: 1 234,50 € (fi, sv),
// €1,234.50 (en).
func euros(cents int64, lang string) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	whole := strconv.FormatInt(cents/100, 10)
	sep, dec := " ", ","
	if lang == "en" {
		sep, dec = ",", "."
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	amount := fmt.Sprintf("%s%s%s%02d", sign, b.String(), dec, cents%100)
	if lang == "en" {
		return "€" + amount
	}
	return amount + " €"
}

// size formats bytes for people: 850 B, 12,3 kB, 4,1 MB.
func size(n int64, lang string) string {
	var s string
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000*1000:
		s = strconv.FormatFloat(float64(n)/1000, 'f', 1, 64) + " kB"
	default:
		s = strconv.FormatFloat(float64(n)/1000/1000, 'f', 1, 64) + " MB"
	}
	if lang != "en" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
