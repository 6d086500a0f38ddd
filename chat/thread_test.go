package chat

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// recordedThreads is the messages feature as the chat sees it: it keeps
// what it was asked to start.
type recordedThreads struct {
	mu    sync.Mutex
	calls []threadCall
}

type threadCall struct {
	resident, advisor int64
	subject, text     string
}

func (r *recordedThreads) StartFromChat(_ context.Context, residentID, advisorID int64, subject, transcript string) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, threadCall{residentID, advisorID, subject, transcript})
	return int64(100 + len(r.calls)), nil
}

// TestChatContinuesAsThread: an ended chat of a logged-in resident is
// handed to the messages feature with its transcript, by the advisor (from
// the desk) or by the resident (from the transcript); a chat still going
// is not, and another resident's chat is not found.
func TestChatContinuesAsThread(t *testing.T) {
	bus := newMemoryBus()
	e := newEnv(t, dbtest.SQLite(t), func(*testing.T) BrokerFactory { return bus.Factory() })
	in := e.instance(t)
	rec := &recordedThreads{}
	in.svc.threads = rec
	aino := e.user(t, auth.RoleResident, "Aino")
	bertta := e.user(t, auth.RoleResident, "Bertta")
	minna := e.user(t, auth.RoleAdvisor, "Minna")
	ctx := context.Background()
	cv := e.activeConversation(t, in, aino, minna)
	in.svc.store.Append(ctx, []Draft{
		{ConversationID: cv.ID, Kind: KindText, SenderRole: "resident", SenderID: aino.ID, SenderName: "Aino", ClientID: "c1", Body: "Minulla on vuokrarästiä."},
		{ConversationID: cv.ID, Kind: KindText, SenderRole: "advisor", SenderID: minna.ID, SenderName: "Minna", ClientID: "c2", Body: "Tehdään maksusuunnitelma."},
	})
	path := "/chat/desk/c/" + strconv.FormatInt(cv.ID, 10) + "/thread"
	if resp, _ := in.do(t, "POST", path, minna.cookie, nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("a chat still going: %d, want 409", resp.StatusCode)
	}
	if _, err := in.svc.store.Close(ctx, cv.ID, minna.principal(), "advice_given"); err != nil {
		t.Fatal(err)
	}
	resp, _ := in.do(t, "POST", path, minna.cookie, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desk/messages/101" {
		t.Fatalf("advisor: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = in.do(t, "POST", "/chat/transcripts/"+strconv.FormatInt(cv.ID, 10)+"/thread", aino.cookie, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/messages/102" {
		t.Fatalf("resident: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := in.do(t, "POST", "/chat/transcripts/"+strconv.FormatInt(cv.ID, 10)+"/thread", bertta.cookie, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another resident: %d, want 404", resp.StatusCode)
	}
	if len(rec.calls) != 2 {
		t.Fatalf("%d threads started, want 2", len(rec.calls))
	}
	a, r := rec.calls[0], rec.calls[1]
	if a.resident != aino.ID || a.advisor != minna.ID || r.resident != aino.ID || r.advisor != 0 {
		t.Errorf("calls %+v", rec.calls)
	}
	for _, want := range []string{"Aino: Minulla on vuokrarästiä.", "Minna: Tehdään maksusuunnitelma."} {
		if !strings.Contains(a.text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, a.text)
		}
	}
}
