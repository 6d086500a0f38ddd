package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The import rule of docs/ARCHITECTURE.md. Dependencies point one way:
//
//	commands (cmd/...)             wire everything together; nothing imports them
//	   ↓
//	features and section hosts     never import each other (chat is a feature)
//	   ↓
//	shared pieces                  never import a feature, a host or a command
//
// A test kit is a shared piece that only tests import. The rule holds for
// test files too (a package's own tests and its _test package): a booking
// test that imported chat would tie the two features together as surely as
// booking code would. The only freedom tests have is the test kit.

// layer is a package's place in the import rule.
type layer string

const (
	// command: a binary (main package) or a helper only binaries use. It may
	// import anything; only another package under cmd/ may import it.
	command layer = "command"
	// feature: what residents and staff use (booking, chat, …). It owns its
	// routes, tables and pages and imports only shared pieces; where it must
	// tell another feature something, cmd/portal wires a small interface.
	feature layer = "feature"
	// host: a page that gathers the features' sections (frontend.Section)
	// without knowing the features: home ("Oma asiointi") and the desk.
	// cmd/portal hands the sections over; a host imports shared pieces only,
	// and no feature imports a host.
	host layer = "host"
	// shared: a piece every feature may use. It imports only other shared
	// pieces (and the test kit in its tests).
	shared layer = "shared"
	// testkit: shared helpers for tests; only test files, and other test
	// kits, import them.
	testkit layer = "testkit"
)

// packageLayers classifies every package of the module, by its path inside
// the module. "x/..." is x and every package below it, all one unit: a
// feature may split itself into sub-packages (chat/internal/…) that import
// each other freely. The most specific pattern wins. Planned packages are
// named in the design but not written yet; the test fails when one appears
// still marked planned, and when a package matches no row ("classify it").
var packageLayers = []struct {
	pattern string
	layer   layer
	planned bool
}{
	// Commands.
	{"cmd/...", command, false},         // portal, bookingbench, chatbench
	{"cmd/uploadbench", command, false}, // uploads: memory and throughput

	// Features.
	{"chat/...", feature, false},
	{"portal/booking/...", feature, false},
	{"portal/exchange/...", feature, false}, // housing-exchange applications
	{"portal/contact/...", feature, false},  // contact requests
	{"portal/messages/...", feature, false}, // secure messages
	{"portal/cases/...", feature, false},    // client cases and follow-up
	{"portal/mydata/...", feature, false},   // the resident's data download (GDPR Art. 15)
	{"portal/stats/...", feature, true},     // statistics

	// Section hosts.
	{"portal/home/...", host, false}, // front page, information pages, "Oma asiointi"
	{"portal/desk/...", host, false}, // the advisor's desk, the access log page

	// Shared pieces.
	{"auth/...", shared, false},            // login, sessions, roles, CSRF, Actor
	{"auth/devidp/...", shared, false},     // the development OpenID provider
	{"frontend/...", shared, false},        // templates, translations, HDS, Section, forms
	{"migrations/...", shared, false},      // versioned SQL per dialect
	{"portal/audit/...", shared, false},    // the access log
	{"portal/database/...", shared, false}, // opening the database, Dialect
	{"portal/demo/...", shared, false},     // demo regions and people
	{"portal/files/...", shared, false},    // uploads, sniffing, storage, downloads
	{"portal/mail/...", shared, false},     // outgoing mail queue and sender
	{"portal/problem/...", shared, false},  // error kinds
	{"portal/regions/...", shared, false},  // regions, service points, postal codes

	// Test kits.
	{"auth/authtest/...", testkit, false},          // a logged-in user without a provider
	{"auth/oidctest/...", testkit, false},          // a misbehaving OpenID provider
	{"portal/mail/mailtest", testkit, false},       // a real SMTP server for tests
	{"portal/files/filestest", testkit, false},     // S3 and clamd servers for tests
	{"portal/clocktest/...", testkit, false},       // a clock moved by hand
	{"portal/database/dbtest/...", testkit, false}, // fresh databases, Redis prefixes
}

// ownedImports are third-party packages that only some units may import
// (STYLE.md §5: nothing outside chat touches the WebSocket library; the
// chat load generator is a client).
var ownedImports = []struct {
	path  string
	units []string
}{
	{"github.com/fasthttp/websocket", []string{"chat", "cmd"}},
	{"github.com/gofiber/contrib/websocket", []string{"chat", "cmd"}},
}

// goPackage is what the test reads of `go list -json`.
type goPackage struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// placement is a package's unit (its row's pattern without "/...") and layer.
type placement struct {
	unit    string
	layer   layer
	planned bool
}

// place finds the most specific row for rel, a path inside the module.
func place(rel string) (placement, bool) {
	best, found := placement{}, false
	for _, row := range packageLayers {
		unit, tree := strings.CutSuffix(row.pattern, "/...")
		if rel != unit && !(tree && strings.HasPrefix(rel, unit+"/")) {
			continue
		}
		if !found || len(unit) > len(best.unit) {
			best, found = placement{unit: unit, layer: row.layer, planned: row.planned}, true
		}
	}
	return best, found
}

// mayImport says whether a package in from may import one in to, and if
// not, why; test tells whether the import is in a test file.
func mayImport(from, to placement, test bool) (bool, string) {
	switch {
	case from.unit == to.unit:
		return true, ""
	case to.layer == command:
		return false, "nothing outside cmd/ imports a command"
	case to.layer == testkit:
		if test || from.layer == testkit {
			return true, ""
		}
		return false, "only tests import a test kit"
	case from.layer == command, to.layer == shared:
		return true, ""
	case from.layer == shared || from.layer == testkit:
		return false, "a " + string(from.layer) + " piece never imports a " + string(to.layer) + "; turn the dependency around (the feature passes a function or implements a small interface)"
	case to.layer == host:
		return false, "only cmd/ imports a section host; a feature offers a frontend.Section that cmd/portal hands to the host"
	default:
		return false, "a " + string(from.layer) + " never imports a feature; declare a small interface on the consuming side and wire it in cmd/portal"
	}
}

// checkImports returns every breach of the rule in pkgs, the packages of
// module: unclassified packages, forbidden imports between the module's
// packages, and third-party packages imported outside their owners.
func checkImports(module string, pkgs []goPackage) []string {
	var problems []string
	rel := func(path string) (string, bool) {
		if path == module {
			return "(module root)", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	for _, p := range pkgs {
		from, _ := rel(p.ImportPath)
		fp, ok := place(from)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: classify new package %s in packageLayers (cmd/portal/imports_test.go) as a command, feature, host, shared piece or test kit", from, from))
			continue
		}
		check := func(imports []string, test bool) {
			for _, imp := range imports {
				to, inModule := rel(imp)
				if !inModule {
					for _, o := range ownedImports {
						if (imp == o.path || strings.HasPrefix(imp, o.path+"/")) && !slices.Contains(o.units, fp.unit) {
							problems = append(problems, fmt.Sprintf("%s imports %s: only %s may", from, imp, strings.Join(o.units, ", ")))
						}
					}
					continue
				}
				tp, ok := place(to)
				if !ok {
					continue // reported as an unclassified package itself
				}
				if allowed, why := mayImport(fp, tp, test); !allowed {
					where := ""
					if test {
						where = " (in a test)"
					}
					problems = append(problems, fmt.Sprintf("%s (%s) imports %s (%s)%s: %s", from, fp.layer, to, tp.layer, where, why))
				}
			}
		}
		check(p.Imports, false)
		check(p.TestImports, true)
		check(p.XTestImports, true)
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}

// checkTable returns rows that no longer say the truth: a row matching no
// package that is not marked planned, and a planned row whose package exists.
func checkTable(module string, pkgs []goPackage) []string {
	var problems []string
	for _, row := range packageLayers {
		unit, _ := strings.CutSuffix(row.pattern, "/...")
		exists := slices.ContainsFunc(pkgs, func(p goPackage) bool {
			pl, ok := place(strings.TrimPrefix(p.ImportPath, module+"/"))
			return ok && pl.unit == unit
		})
		switch {
		case exists && row.planned:
			problems = append(problems, fmt.Sprintf("%s exists now: drop its planned mark in packageLayers", row.pattern))
		case !exists && !row.planned:
			problems = append(problems, fmt.Sprintf("%s matches no package: remove its row from packageLayers, or mark it planned", row.pattern))
		}
	}
	return problems
}

// listModule runs `go list -json ./...` at the module root and returns the
// module path and its packages. Without -deps: the rule is about the
// module's own packages, and each one's Imports, TestImports and
// XTestImports name every import edge, third-party ones included.
func listModule(t *testing.T) (string, []goPackage) {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		t.Fatalf("the import rule needs the go command: %v", err)
	}
	run := func(args ...string) []byte {
		cmd := exec.Command(goBin, args...)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	var mod struct{ Path, Dir string }
	if err := json.Unmarshal(run("list", "-m", "-json"), &mod); err != nil {
		t.Fatalf("go list -m -json: %v", err)
	}
	out := run("-C", mod.Dir, "list", "-json", "./...")
	var pkgs []goPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list -json ./...: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list -json ./... listed no packages")
	}
	return mod.Path, pkgs
}

// TestImportRule reads the module's import graph and fails on any import
// that breaks the one direction of dependencies, on any package missing
// from packageLayers, and on rows of packageLayers that are no longer true.
func TestImportRule(t *testing.T) {
	module, pkgs := listModule(t)
	problems := append(checkImports(module, pkgs), checkTable(module, pkgs)...)
	for _, p := range problems {
		t.Error(p)
	}
	if len(problems) > 0 {
		t.Log("the rule and where a new package goes: docs/ARCHITECTURE.md")
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		if pl, ok := place(rel); ok {
			t.Logf("%-28s %s", rel, pl.layer)
		}
	}
}

// TestImportRuleCatches feeds the checker made-up graphs, so that the rule
// cannot pass by reading nothing or by allowing everything.
func TestImportRuleCatches(t *testing.T) {
	const m = "example.org/portal"
	pkg := func(path string, imports ...string) goPackage {
		p := goPackage{ImportPath: m + "/" + path}
		for _, imp := range imports {
			if test, ok := strings.CutPrefix(imp, "test:"); ok {
				p.TestImports = append(p.TestImports, qualify(m, test))
			} else {
				p.Imports = append(p.Imports, qualify(m, imp))
			}
		}
		return p
	}
	cases := []struct {
		name string
		pkgs []goPackage
		want string // a part of the one problem expected; "" for none
	}{
		{"the real shape passes", []goPackage{
			pkg("cmd/portal", "chat", "portal/booking", "portal/home", "auth", "test:portal/database/dbtest"),
			pkg("chat", "auth", "frontend", "portal/audit", "github.com/fasthttp/websocket", "test:portal/clocktest"),
			pkg("portal/booking", "auth", "portal/regions", "portal/problem", "test:portal/demo"),
			pkg("portal/home", "frontend", "portal/regions"),
			pkg("portal/audit", "auth", "test:portal/database/dbtest"),
			pkg("portal/database/dbtest", "portal/database", "migrations"),
			pkg("chat/internal/wire", "frontend"),
			pkg("chat", "chat/internal/wire"),
		}, ""},
		{"a feature imports a feature", []goPackage{pkg("portal/booking", "chat")}, "portal/booking (feature) imports chat (feature)"},
		{"a feature's test imports a feature", []goPackage{pkg("chat", "test:portal/booking")}, "chat (feature) imports portal/booking (feature) (in a test)"},
		{"a feature imports a host", []goPackage{pkg("portal/booking", "portal/desk")}, "imports portal/desk (host)"},
		{"a host imports a feature", []goPackage{pkg("portal/desk", "portal/booking")}, "portal/desk (host) imports portal/booking (feature)"},
		{"a shared piece imports a feature", []goPackage{pkg("frontend", "portal/booking")}, "frontend (shared) imports portal/booking (feature)"},
		{"a shared piece imports chat", []goPackage{pkg("auth", "chat")}, "auth (shared) imports chat (feature)"},
		{"a test kit imports a feature", []goPackage{pkg("portal/clocktest", "chat")}, "portal/clocktest (testkit) imports chat"},
		{"something imports a command", []goPackage{pkg("portal/booking", "cmd/portal")}, "nothing outside cmd/ imports a command"},
		{"code outside tests imports a test kit", []goPackage{pkg("portal/booking", "portal/database/dbtest")}, "only tests import a test kit"},
		{"a binary imports a test kit", []goPackage{pkg("cmd/portal", "portal/clocktest")}, "only tests import a test kit"},
		{"a host imports a host", []goPackage{pkg("portal/home", "portal/desk")}, "only cmd/ imports a section host"},
		{"an unknown package", []goPackage{pkg("portal/widgets", "auth")}, "classify new package portal/widgets"},
		{"a package at the module root", []goPackage{{ImportPath: m}}, "classify new package (module root)"},
		{"the WebSocket library outside chat", []goPackage{pkg("portal/booking", "github.com/gofiber/contrib/websocket")}, "imports github.com/gofiber/contrib/websocket: only chat, cmd may"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := checkImports(m, tc.pkgs)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("problems in an allowed graph: %q", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("problems = %q, want one containing %q", got, tc.want)
			}
		})
	}
	t.Run("the table is checked against the packages", func(t *testing.T) {
		got := checkTable(m, []goPackage{pkg("cmd/portal"), pkg("portal/stats")})
		for _, want := range []string{
			"portal/stats/... exists now: drop its planned mark",
			"portal/booking/... matches no package",
		} {
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, want) }) {
				t.Errorf("checkTable = %q, want one containing %q", got, want)
			}
		}
	})
}

// qualify puts the module path before in-module paths of the made-up graphs;
// paths with a dot in their first element are third-party.
func qualify(module, path string) string {
	if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
		return path
	}
	return module + "/" + path
}
