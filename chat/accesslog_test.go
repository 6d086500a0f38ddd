package chat

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
)

// TestStaffReadsOfAResidentsChatAreLogged: accepting a logged-in
// resident's chat, opening it on the desk or over the socket, and reading
// it after it ended each write the access log once per opening, never per
// message; a guest's chat names nobody and writes nothing.
func TestStaffReadsOfAResidentsChatAreLogged(t *testing.T) {
	variants(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.frontend()
		in := e.instance(t)
		resident := e.user(t, auth.RoleResident, "Riikka")
		advisor := e.user(t, auth.RoleAdvisor, "Aaro")
		if err := in.svc.store.SetStatus(ctx, advisor.ID, AdvisorAvailable); err != nil {
			t.Fatal(err)
		}
		entries := func() map[string]int {
			t.Helper()
			var rows []audit.Entry
			if err := e.db.Gorm.Where("resident_id = ?", resident.ID).Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			n := map[string]int{}
			for _, r := range rows {
				if r.ActorID != advisor.ID {
					t.Errorf("entry by %d, want the advisor %d", r.ActorID, advisor.ID)
				}
				n[r.Action+" "+r.Resource]++
			}
			return n
		}
		cv := &Conversation{ResidentID: &resident.ID, Topic: "rent_debt", Lang: "fi"}
		if err := in.svc.store.NewConversation(ctx, cv); err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(cv.ID, 10)
		res := "chat:" + id
		want := map[string]int{}
		check := func(step string) {
			t.Helper()
			got := entries()
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %d × %q, want %d (all: %v)", step, got[k], k, v, got)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s: entries %v, want %v", step, got, want)
			}
		}

		if resp, _ := in.do(t, "POST", "/chat/desk/c/"+id+"/accept", advisor.cookie, url.Values{}); resp.StatusCode != fiber.StatusSeeOther {
			t.Fatalf("accept: %d", resp.StatusCode)
		}
		want[string(audit.ChatAccept)+" "+res] = 1
		check("accepted")

		for range 3 { // opened, reloaded twice: one opening
			if resp, _ := in.do(t, "GET", "/chat/desk/c/"+id, advisor.cookie, nil); resp.StatusCode != 200 {
				t.Fatalf("desk conversation: %d", resp.StatusCode)
			}
		}
		want[string(audit.ChatOpen)+" "+res] = 1
		check("opened on the desk")

		// The desk page's socket joins the same conversation and messages
		// flow: still the same opening.
		ac := mustDial(t, in.url, advisor.cookie)
		ac.send(map[string]any{"type": "hello"})
		ac.join(cv.ID, 0)
		if _, ok := ac.next(typeJoined, 5*time.Second); !ok {
			t.Fatal("the advisor's socket did not join")
		}
		for i := range 5 {
			ac.send(map[string]any{"type": "send", "conv": cv.ID, "cid": "c" + strconv.Itoa(i), "body": "viesti"})
			if _, ok := ac.next(TypeAck, 5*time.Second); !ok {
				t.Fatal("no ack")
			}
		}
		check("socket joined, five messages")

		if resp, _ := in.do(t, "POST", "/chat/desk/c/"+id+"/close", advisor.cookie, url.Values{"outcome": {"advice_given"}}); resp.StatusCode != fiber.StatusSeeOther {
			t.Fatalf("close: %d", resp.StatusCode)
		}
		if resp, _ := in.do(t, "GET", "/chat/desk/c/"+id, advisor.cookie, nil); resp.StatusCode != 200 {
			t.Fatalf("transcript: %d", resp.StatusCode)
		}
		want[string(audit.ChatTranscript)+" "+res] = 1
		check("the ended chat read")

		// The resident reading their own chat is not logged.
		if resp, _ := in.do(t, "GET", "/chat/transcripts/"+id, resident.cookie, nil); resp.StatusCode != 200 {
			t.Fatalf("resident transcript: %d", resp.StatusCode)
		}
		check("the resident read it")

		// A chat opened only over the socket (the desk page's script
		// reconnecting after the page) is logged there.
		cv2 := e.activeConversation(t, in, resident, advisor)
		ac.join(cv2.ID, 0)
		if _, ok := ac.next(typeJoined, 5*time.Second); !ok {
			t.Fatal("the advisor's socket did not join the second chat")
		}
		want[string(audit.ChatOpen)+" chat:"+strconv.FormatInt(cv2.ID, 10)] = 1
		check("second chat joined over the socket")
	})
}
