package files

import (
	"fmt"
	"slices"

	"github.com/gabriel-vasile/mimetype"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/problem"
)

// The content types the portal accepts, decided from the bytes, never from
// the name or the browser's claim.
const (
	TypePDF  = "application/pdf"
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
)

// accepted are the types Save keeps. HEIC (what iPhones take photos in) is
// not among them: without a pure-Go decoder the portal could not show or
// convert it, so the person is asked for a JPEG instead.
var accepted = []string{TypePDF, TypeJPEG, TypePNG}

// sniffLen is how many bytes the type is decided from: mimetype's own
// default read limit.
const sniffLen = 3072

// sniff returns the accepted type of a file beginning with head, or an
// Invalid error with the message that names the types that work.
func sniff(head []byte) (string, error) {
	m := mimetype.Detect(head)
	if i := slices.IndexFunc(accepted, m.Is); i >= 0 {
		return accepted[i], nil
	}
	return "", problem.Wrap(problem.Invalid, "files.error.type", fmt.Errorf("files: content type %s refused", m.String()))
}

// pdfScanner finds the names of active content in a PDF as its bytes go
// by, in pieces of any size: a name split over two pieces is found like
// any other, and names are compared after decoding their #xx escapes
// (/J#61vaScript is /JavaScript). It looks at the raw file: active
// content inside a compressed object stream is not seen (the virus scan
// is the second line there).
//
// The long names are refused wherever they appear, stream data included.
// The short ones (/JS, /XFA) are refused outside stream data only: inside
// compressed image data three bytes match by chance often enough to refuse
// one scanned document in a few dozen, and a script cannot run without
// the /JavaScript its action names anyway.
type pdfScanner struct {
	inName   bool
	name     [maxActiveName + 1]byte
	nameLen  int  // bytes of name used; past maxActiveName no name can match
	hexState int  // 0, or 1 after '#', or 2 after '#' and one hex digit
	hexHigh  byte // the first digit's value in state 2
	hexChar  byte // the first digit itself, kept if the escape is not one
	window   uint64
	before   byte // the byte before the eight in window
	inStream bool
	found    string // the first active name found
}

// activeNames are the names refused; the value says whether the name is
// refused inside stream data too.
var activeNames = map[string]bool{
	"JavaScript":    true, // script actions and the document's script tree
	"Launch":        true, // runs a program
	"EmbeddedFile":  true, // a file inside the PDF
	"EmbeddedFiles": true, // the tree of files inside the PDF
	"RichMedia":     true, // Flash and video players
	"JS":            false,
	"XFA":           false, // XML forms, which carry their own scripts
}

// maxActiveName is the length of the longest active name.
const maxActiveName = len("EmbeddedFiles")

const (
	kwStream    = uint64('s')<<40 | uint64('t')<<32 | uint64('r')<<24 | uint64('e')<<16 | uint64('a')<<8 | uint64('m')
	kwNdstream  = uint64('n')<<56 | uint64('d')<<48 | kwStream
	lowSixBytes = 1<<48 - 1
)

// write scans the next piece of the file.
func (s *pdfScanner) write(p []byte) {
	for _, c := range p {
		s.byte(c)
	}
}

func (s *pdfScanner) byte(c byte) {
	if s.inName {
		if s.nameByte(c) {
			s.trackKeywords(c)
			return
		}
		s.endName()
	}
	if c == '/' {
		s.inName, s.nameLen, s.hexState = true, 0, 0
	}
	s.trackKeywords(c)
}

// trackKeywords follows "stream" and "endstream", which bound stream data.
func (s *pdfScanner) trackKeywords(c byte) {
	s.before = byte(s.window >> 56)
	s.window = s.window<<8 | uint64(c)
	switch {
	case s.window == kwNdstream && s.before == 'e':
		s.inStream = false
	case !s.inStream && s.window&lowSixBytes == kwStream && !s.inName:
		if p := byte(s.window >> 48); isPDFSpace(p) || p == '>' {
			s.inStream = true
		}
	}
}

// nameByte adds c to the name being read, or reports false when c ends it.
func (s *pdfScanner) nameByte(c byte) bool {
	switch s.hexState {
	case 1:
		if v, ok := hexValue(c); ok {
			s.hexState, s.hexHigh, s.hexChar = 2, v, c
			return true
		}
		s.hexState = 0
		s.appendName('#')
	case 2:
		s.hexState = 0
		if v, ok := hexValue(c); ok {
			s.appendName(s.hexHigh<<4 | v)
			return true
		}
		s.appendName('#')
		s.appendName(s.hexChar)
	}
	if isPDFSpace(c) || isPDFDelimiter(c) {
		return false
	}
	if c == '#' {
		s.hexState = 1
		return true
	}
	s.appendName(c)
	return true
}

func (s *pdfScanner) appendName(c byte) {
	if s.nameLen < len(s.name) {
		s.name[s.nameLen] = c
	}
	s.nameLen++
}

// endName checks the name just read.
func (s *pdfScanner) endName() {
	switch s.hexState { // a name that ends inside an escape keeps its characters
	case 1:
		s.appendName('#')
	case 2:
		s.appendName('#')
		s.appendName(s.hexChar)
	}
	s.inName, s.hexState = false, 0
	if s.found != "" || s.nameLen > maxActiveName {
		return
	}
	name := string(s.name[:s.nameLen])
	if anywhere, ok := activeNames[name]; ok && (anywhere || !s.inStream) {
		s.found = "/" + name
	}
}

// finish ends the file: a name at its very end counts too.
func (s *pdfScanner) finish() {
	if s.inName {
		s.endName()
	}
}

// isPDFSpace reports PDF's white-space characters.
func isPDFSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

// isPDFDelimiter reports PDF's delimiter characters.
func isPDFDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
