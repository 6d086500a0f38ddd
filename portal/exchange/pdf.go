package exchange

import (
	"bytes"
	"fmt"
	"io"

	"codeberg.org/go-pdf/fpdf"
	"github.com/go-fonts/dejavu/dejavusans"
	"github.com/go-fonts/dejavu/dejavusansbold"
)

// pdfFile is an attachment going into a PDF: images are drawn on pages of
// their own, and every file (PDFs too) travels embedded in the document.
type pdfFile struct {
	Name, ContentType string
	Data              []byte
}

// pdfDoc is what a PDF shows.
type pdfDoc struct {
	Title    string
	Lines    []string // under the title: reference, dates, status
	Blocks   []Block
	Files    []Row // the attachments as listed: name and size
	FileHead string
	Embed    []pdfFile // nil for the resident's copy
	Footer   string
}

// writePDF renders doc. The font is DejaVu Sans, embedded, so Ä, Ö and Å —
// and the letters of residents' names in other scripts — come out right.
func writePDF(w io.Writer, doc pdfDoc) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(doc.Title, true)
	pdf.SetCreator("asumisneuvonta-portal", true)
	pdf.AddUTF8FontFromBytes("dejavu", "", dejavusans.TTF)
	pdf.AddUTF8FontFromBytes("dejavu", "B", dejavusansbold.TTF)
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(true, 20)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-14)
		pdf.SetFont("dejavu", "", 8)
		pdf.CellFormat(0, 5, fmt.Sprintf("%s · %d", doc.Footer, pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	pdf.SetFont("dejavu", "B", 16)
	pdf.MultiCell(0, 8, doc.Title, "", "L", false)
	pdf.SetFont("dejavu", "", 10)
	for _, l := range doc.Lines {
		pdf.MultiCell(0, 5, l, "", "L", false)
	}
	const labelW = 60
	for _, b := range doc.Blocks {
		pdf.Ln(4)
		pdf.SetFont("dejavu", "B", 12)
		pdf.MultiCell(0, 7, b.Title, "B", "L", false)
		pdf.Ln(1)
		for _, r := range b.Rows {
			pdf.SetFont("dejavu", "B", 9)
			y := pdf.GetY()
			pdf.MultiCell(labelW, 5, r.Label, "", "L", false)
			yl := pdf.GetY()
			pdf.SetXY(20+labelW, y)
			pdf.SetFont("dejavu", "", 9)
			pdf.MultiCell(0, 5, r.Value, "", "L", false)
			if yl > pdf.GetY() {
				pdf.SetY(yl)
			}
		}
	}
	if len(doc.Files) > 0 {
		pdf.Ln(4)
		pdf.SetFont("dejavu", "B", 12)
		pdf.MultiCell(0, 7, doc.FileHead, "B", "L", false)
		pdf.SetFont("dejavu", "", 9)
		for _, f := range doc.Files {
			pdf.MultiCell(0, 5, f.Label+" ("+f.Value+")", "", "L", false)
		}
	}
	var atts []fpdf.Attachment
	for i, f := range doc.Embed {
		atts = append(atts, fpdf.Attachment{Content: f.Data, Filename: f.Name, Description: f.Name})
		tp := map[string]string{"image/jpeg": "JPG", "image/png": "PNG"}[f.ContentType]
		if tp == "" {
			continue
		}
		name := fmt.Sprintf("att%d", i)
		info := pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: tp, ReadDpi: true}, bytes.NewReader(f.Data))
		if pdf.Err() {
			// A picture fpdf cannot draw still travels embedded.
			pdf.ClearError()
			continue
		}
		pdf.AddPage()
		pdf.SetFont("dejavu", "B", 10)
		pdf.MultiCell(0, 6, f.Name, "", "L", false)
		w, h := info.Extent()
		maxW, maxH := 170.0, 230.0
		scale := min(maxW/w, maxH/h, 1)
		pdf.ImageOptions(name, 20, pdf.GetY()+2, w*scale, h*scale, false, fpdf.ImageOptions{ImageType: tp}, 0, "")
	}
	if len(atts) > 0 {
		pdf.SetAttachments(atts)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("exchange: render PDF: %w", err)
	}
	return nil
}
