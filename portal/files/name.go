package files

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameRunes is the longest name kept, in characters.
const maxNameRunes = 120

// defaultName is the name of a file whose name had nothing left.
const defaultName = "attachment"

// CleanName returns the name a file is kept and offered for download
// under: only the last part of a path (after / or \), without control
// characters and without the invisible marks that reorder text (bidi
// overrides, isolates and the left-to-right and right-to-left marks, which
// make "fdp.exe" look like "exe.pdf"), trimmed, at most 120 characters
// with the extension kept, and "attachment" when nothing is left.
func CleanName(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isBidiControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		name = ""
	}
	if utf8.RuneCountInString(name) > maxNameRunes {
		ext := path.Ext(name)
		if n := utf8.RuneCountInString(ext); n > 16 || n == utf8.RuneCountInString(name) {
			ext = "" // not an extension worth keeping
		}
		stem := []rune(strings.TrimSuffix(name, ext))
		keep := maxNameRunes - utf8.RuneCountInString(ext)
		name = strings.TrimSpace(string(stem[:keep])) + ext
	}
	if name == "" {
		return defaultName
	}
	return name
}

// isBidiControl reports whether r changes the direction text is shown in.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || // embeddings and overrides
		r >= 0x2066 && r <= 0x2069 || // isolates
		r == 0x200E || r == 0x200F || // left-to-right and right-to-left marks
		r == 0x061C // Arabic letter mark
}
