package exchange

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"testing"
)

// testPhoto is a w×h JPEG of noise, which compresses about as badly as a
// phone's photo of a document: what residents attach.
func testPhoto(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rnd := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			v := uint8(rnd.IntN(256))
			img.Set(x, y, color.RGBA{v, uint8(x), uint8(y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testDoc(t testing.TB, files int) pdfDoc {
	doc := pdfDoc{
		Title: "Asunnonvaihtohakemus", Footer: "AV-1", FileHead: "Liitteet",
		Lines: []string{"Hakija: Åsa Öhman-Äijälä", "Lähetetty: 4.5.2026 klo 12.00"},
		Blocks: []Block{{Title: "Nykyinen asunto", Rows: []Row{
			{"Katuosoite", "Kontulantie 1 A 2"}, {"Perustelut", "Entinen puoliso tietää osoitteen; pelkään.\nToinen rivi."},
		}}},
	}
	pic := testPhoto(t, 1600, 1200)
	for i := range files {
		doc.Files = append(doc.Files, Row{Label: "kuva.jpg", Value: sizeText(int64(len(pic)))})
		doc.Embed = append(doc.Embed, pdfFile{Name: "kuva" + string(rune('a'+i)) + ".jpg", ContentType: "image/jpeg", Data: pic})
	}
	return doc
}

// TestPDFEmbedsItsFontAndFiles: the PDF carries its own font (so Ä, Ö and
// Å print whatever the reader has installed), draws each picture and
// travels with every attachment embedded.
func TestPDFEmbedsItsFontAndFiles(t *testing.T) {
	var b bytes.Buffer
	if err := writePDF(&b, testDoc(t, 2)); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	for _, want := range []string{"%PDF-", "/FontFile2", "/EmbeddedFiles", "/Subtype /Image"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the PDF has no %s", want)
		}
	}
	if n := bytes.Count(out, []byte("/Type /Page\n")) + bytes.Count(out, []byte("/Type /Page ")); n < 3 {
		t.Errorf("%d pages, want the text page and one per picture", n)
	}
}

// BenchmarkPackagePDF renders a forwarding package with 10 photos attached
// (1600×1200 JPEG of noise, about 1.5 MB each), drawn and embedded.
func BenchmarkPackagePDF(b *testing.B) {
	doc := testDoc(b, 10)
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := writePDF(&buf, doc); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size)/(1<<20), "MB/pdf")
}
