package files

import (
	"strings"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// scanPieces runs the PDF scanner over doc cut into pieces of size n.
func scanPieces(doc []byte, n int) string {
	var s pdfScanner
	for len(doc) > 0 {
		k := min(n, len(doc))
		s.write(doc[:k])
		doc = doc[k:]
	}
	s.finish()
	return s.found
}

// TestPDFScanner: the names of active content are found wherever the
// buffers are cut, also hex-escaped, and only whole names count.
func TestPDFScanner(t *testing.T) {
	cases := []struct {
		name string
		body string
		want string
	}{
		{"plain document", "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj", ""},
		{"script action", "<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>", "/JavaScript"},
		{"JS key alone", "<< /JS 5 0 R >>", "/JS"},
		{"hex-escaped JavaScript", "<< /S /J#61vaScript >>", "/JavaScript"},
		{"hex-escaped JS", "<< /#4A#53 (x) >>", "/JS"},
		{"launch", "<</Type/Action/S/Launch/F(calc.exe)>>", "/Launch"},
		{"embedded file", "<< /Type /EmbeddedFile /Length 4 >>", "/EmbeddedFile"},
		{"embedded files tree", "<< /Names << /EmbeddedFiles 7 0 R >> >>", "/EmbeddedFiles"},
		{"name at the very end", "trailer << /Root 1 0 R /JavaScript", "/JavaScript"},
		{"benign open action", "<< /OpenAction [3 0 R /FitH null] >>", ""},
		{"longer names are other names", "<< /JSON 1 /JavaScripts 2 /Launcher 3 >>", ""},
		{"text in a string is not a name", "(JavaScript and JS)", ""},
		{"JS inside stream data is image noise", "<< /Length 9 >>\nstream\nxx/JS xxx\nendstream", ""},
		{"JS after the stream counts again", "<< /Length 3 >>stream\nabc\nendstream\n<< /JS 1 >>", "/JS"},
		{"JavaScript inside stream data", "<< /Length 30 >>\nstream\n<< /S /JavaScript >>\nendstream", "/JavaScript"},
		{"broken escape stays literal", "<< /J#ZZavaScript >>", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := []byte("%PDF-1.7\n" + tc.body + "\n%%EOF\n")
			if strings.HasSuffix(tc.name, "very end") {
				doc = []byte("%PDF-1.7\n" + tc.body)
			}
			for n := 1; n <= len(doc); n++ {
				if got := scanPieces(doc, n); got != tc.want {
					t.Fatalf("pieces of %d: found %q, want %q", n, got, tc.want)
				}
			}
		})
	}
}

// TestSniff: the type comes from the bytes; anything but PDF, JPEG and PNG
// is refused with the message that names what works.
func TestSniff(t *testing.T) {
	cases := []struct {
		name string
		head []byte
		want string
	}{
		{"pdf", []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), TypePDF},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"), TypeJPEG},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), TypePNG},
		{"html", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), ""},
		{"elf", append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 56)...), ""},
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), ""},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), ""},
		{"text", []byte("just some text"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sniff(tc.head)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Fatalf("sniff = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Kind != problem.Invalid || p.Key != "files.error.type" {
				t.Fatalf("sniff = %q, %v; want Invalid files.error.type", got, err)
			}
		})
	}
}

func TestCleanName(t *testing.T) {
	long := strings.Repeat("a", 200) + ".pdf"
	cases := []struct{ in, want string }{
		{"hakemus.pdf", "hakemus.pdf"},
		{"../../etc/passwd", "passwd"},
		{`C:\Users\Matti\Vuokrasopimus.pdf`, "Vuokrasopimus.pdf"},
		{"  tili\x00ote\r\n.pdf  ", "tiliote.pdf"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"a\u2066b\u2069c\u200e\u200f.png", "abc.png"},
		{"Åsa Öberg ääkköset.jpg", "Åsa Öberg ääkköset.jpg"},
		{"", "attachment"},
		{"   ", "attachment"},
		{"dir/", "attachment"},
		{"..", "attachment"},
		{"\u202E", "attachment"},
		{long, strings.Repeat("a", 116) + ".pdf"},
		{strings.Repeat("ä", 130), strings.Repeat("ä", 120)},
		{"bad\xffutf8.pdf", "bad_utf8.pdf"},
	}
	for _, tc := range cases {
		if got := CleanName(tc.in); got != tc.want {
			t.Errorf("CleanName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseClamReply(t *testing.T) {
	cases := []struct {
		reply, virus string
		fails        bool
	}{
		{"stream: OK", "", false},
		{"stream: Eicar-Test-Signature FOUND", "Eicar-Test-Signature", false},
		{"stream: Win.Test.EICAR_HDB-1 FOUND", "Win.Test.EICAR_HDB-1", false},
		{"INSTREAM size limit exceeded. ERROR", "", true},
		{"", "", true},
	}
	for _, tc := range cases {
		virus, err := parseClamReply(tc.reply)
		if virus != tc.virus || (err != nil) != tc.fails {
			t.Errorf("parseClamReply(%q) = %q, %v", tc.reply, virus, err)
		}
	}
	for _, addr := range []string{"unix:", "nohost", "unix"} {
		if err := CheckClamdAddr(addr); err == nil {
			t.Errorf("CheckClamdAddr(%q) accepted", addr)
		}
	}
	for _, addr := range []string{"", "unix:/run/clamav/clamd.ctl", "127.0.0.1:3310", "clamav:3310"} {
		if err := CheckClamdAddr(addr); err != nil {
			t.Errorf("CheckClamdAddr(%q): %v", addr, err)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	cases := []struct{ in, want string }{
		{"hakemus.pdf", `attachment; filename="hakemus.pdf"; filename*=UTF-8''hakemus.pdf`},
		{"Vuokrasopimus ä.pdf", `attachment; filename="Vuokrasopimus _.pdf"; filename*=UTF-8''Vuokrasopimus%20%C3%A4.pdf`},
		{`a"b\c;d.png`, `attachment; filename="a_b_c;d.png"; filename*=UTF-8''a%22b%5Cc%3Bd.png`},
	}
	for _, tc := range cases {
		if got := ContentDisposition(tc.in); got != tc.want {
			t.Errorf("ContentDisposition(%q) =\n %s\nwant\n %s", tc.in, got, tc.want)
		}
	}
}

// TestValidKey: keys that could leave the store's folder are refused.
func TestValidKey(t *testing.T) {
	for _, k := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "-x", "ABC", strings.Repeat("a", 129)} {
		if validKey(k) {
			t.Errorf("validKey(%q) = true", k)
		}
	}
	for _, k := range []string{"0123abcd", "ab", "0123abcd.part-abc123"} {
		if !validKey(k) {
			t.Errorf("validKey(%q) = false", k)
		}
	}
}
