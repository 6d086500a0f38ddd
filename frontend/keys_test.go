package frontend

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// keyLiteral is a string literal in Go code that looks like a translation
// key: an area, then dotted lower-case words.
var keyLiteral = regexp.MustCompile(`"((?:error|booking|exchange|contact|files|messages|chat|notice|accesslog|home|my|desk|mail|info|form|nav|header|footer|role|pagination|button|cases|mydata)\.[a-z0-9_]+(?:\.[a-z0-9_]+)*)"`)

// notKeys look like keys but are not: locals names and the like.
var notKeys = map[string]bool{"chat.principal": true}

// TestKeysInCodeHaveTexts: every translation key the Go code names (a
// template's keys are checked at start) has its text, alone or as the
// title/body pair of an error page, so no page shows a bare key.
func TestKeysInCodeHaveTexts(t *testing.T) {
	f := newFrontend(t, Options{})
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		// portal/audit holds action codes (their texts, accesslog.action.<code>,
		// have a test of their own), not keys.
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.Contains(filepath.ToSlash(path), "portal/audit/") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range keyLiteral.FindAllStringSubmatch(string(src), -1) {
			key := m[1]
			if notKeys[key] {
				continue
			}
			checked++
			if !f.Has(key) && !f.Has(key+".body") {
				t.Errorf("%s names %q, which has no text", path, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d keys found: is the walk reading the code?", checked)
	}
}
