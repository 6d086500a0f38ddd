package audit_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
)

// TestActionsAndReasonsAreTranslated: the access log page shows every
// action and reason in words, in fi, sv and en (frontend refuses to start
// when a text lacks one of the languages, so the Finnish one is checked).
func TestActionsAndReasonsAreTranslated(t *testing.T) {
	fe, err := frontend.New(frontend.Options{Location: time.UTC, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range audit.Actions() {
		if key := "accesslog.action." + string(a); !fe.Has(key) {
			t.Errorf("action %s has no text %s", a, key)
		}
	}
	for _, r := range audit.Reasons() {
		if key := "accesslog.reason." + string(r); !fe.Has(key) {
			t.Errorf("reason %s has no text %s", r, key)
		}
	}
	if fe.T("sv", "accesslog.action.booking.view") == fe.T("fi", "accesslog.action.booking.view") {
		t.Error("Swedish text is the Finnish one")
	}
}
