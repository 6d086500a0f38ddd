package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/chat"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/exchange"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/messages"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/mydata"
)

// userID is the id of the demo person with subject.
func (p *testPortal) userID(t *testing.T, subject string) int64 {
	t.Helper()
	var id int64
	if err := p.s.deps.db.Gorm.Raw("SELECT id FROM users WHERE subject = ?", subject).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("no user %s: %v", subject, err)
	}
	return id
}

// seedMyData gives a resident something in every feature, each text
// marked with tag: a case with a note, a plan and a payment (written by
// Minna, so the access log has her), an appointment, a chat with a long
// transcript, a message thread with an attachment, and an exchange
// application.
func seedMyData(t *testing.T, p *testPortal, residentID int64, tag string) {
	t.Helper()
	d := p.s.deps
	ctx := context.Background()
	minna := p.userID(t, "demo-advisor-east-1")
	staff := auth.WithActor(ctx, auth.Actor{UserID: minna, Role: auth.RoleAdvisor})
	now := time.Now().UTC()

	svc := cases.New(cases.Options{DB: d.db, Users: d.auth.Users(), Regions: d.regions, Frontend: d.fe, Audit: d.audit, Now: d.now})
	c, err := svc.Open(staff, residentID, cases.Fields{Reason: "rent_debt", DebtCents: 123456, InCourt: true, CourtDate: "2026-09-01"})
	if err != nil {
		t.Fatal(err)
	}
	start, _ := cases.ParseDate("2026-01-01")
	for _, err := range []error{
		svc.AddNote(staff, c.ID, tag+" muistiinpano: äöå ÄÖÅ €"),
		svc.SetPlan(staff, c.ID, cases.Plan{TotalCents: 120000, InstalmentCents: 20000, DueDay: 15, Start: start}, "555 666"),
		svc.AddPayment(staff, c.ID, "2026-01-14", 20000),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	var region int64
	if err := d.db.Gorm.Raw("SELECT id FROM regions WHERE code = 'east'").Scan(&region).Error; err != nil {
		t.Fatal(err)
	}
	if err := d.db.Gorm.Exec(`INSERT INTO bookings (advisor_id, resident_id, region_id, starts_at, ends_at, meeting_type, topic, message, booked_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'phone', 'rent_debt', ?, ?, ?, ?)`, minna, residentID, region, now.Add(48*time.Hour), now.Add(49*time.Hour),
		tag+" ajanvarausviesti", residentID, now, now).Error; err != nil {
		t.Fatal(err)
	}
	conv := &chat.Conversation{ResidentID: &residentID, Topic: "rent_debt", Lang: "fi", Status: "closed", CreatedAt: now, QueuedAt: now, ClosedAt: &now}
	if err := chat.NewStore(d.db, d.now).NewConversation(ctx, conv); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat(tag+" kertoo tilanteestaan pitkästi, ääkkösin. ", 8)
	for seq := 1; seq <= 120; seq++ {
		role, name, sender := "resident", "", residentID
		if seq%2 == 0 {
			role, name, sender = "advisor", "Minna", minna
		}
		if err := d.db.Gorm.Exec(`INSERT INTO chat_messages (conversation_id, seq, kind, sender_role, sender_id, sender_name, body, created_at)
			VALUES (?, ?, 'text', ?, ?, ?, ?, ?)`, conv.ID, seq, role, sender, name, fmt.Sprintf("%d: %s", seq, long), now.Add(time.Duration(seq)*time.Second)).Error; err != nil {
			t.Fatal(err)
		}
	}
	th, err := d.messages.StartByResident(ctx, residentID, messages.Draft{Subject: tag + " viestiketju", Body: tag + " viestin teksti"})
	if err != nil {
		t.Fatal(err)
	}
	var msgID int64
	if err := d.db.Gorm.Raw("SELECT id FROM messages WHERE thread_id = ?", th.ID).Scan(&msgID).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := d.files.Save(ctx, fmt.Sprintf("messages/%d", msgID), residentID, tag+"-tiliote.pdf", strings.NewReader("%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"), 1<<20); err != nil {
		t.Fatal(err)
	}
	app := &exchange.Application{ResidentID: residentID, Status: exchange.StatusSent, Step: "consent", Lang: "fi", CreatedAt: now, UpdatedAt: now, SentAt: &now,
		AnswersJSON: `{"home":{"address":"` + tag + `katu 1","postal_code":"00940"},"household":{"adults":1},"reasons":{"chosen":[]},"wishes":{},"wants_help":"yes","consent":true}`}
	if err := exchange.NewStore(d.db.Gorm).Create(ctx, app); err != nil {
		t.Fatal(err)
	}
}

// TestMyData: a resident downloads their data as JSON and PDF: every
// feature's part is there with its content (the case's note and plan, the
// appointment, the chat's transcript, the thread with its attachment's
// name and size, the application's answers, the access log naming the
// advisor), in stable English names and RFC 3339 times, never cached;
// the other resident's data is in neither. The page explains it in fi, sv
// and en; staff and anonymous visitors get no download.
func TestMyData(t *testing.T) {
	storageVariants(t, func(t *testing.T, p *testPortal) {
		aino, matti := newBrowser(t), newBrowser(t)
		aino.login(p.url, "/my", "demo-resident-aino")
		matti.login(p.url, "/my", "demo-resident-matti")
		ainoID, mattiID := p.userID(t, "demo-resident-aino"), p.userID(t, "demo-resident-matti")
		seedMyData(t, p, ainoID, "Ainon")
		seedMyData(t, p, mattiID, "Matin")

		_, body := aino.get(p.url + "/my")
		if !strings.Contains(body, `href="/my/data"`) {
			t.Error("Oma asiointi has no link to the download")
		}
		for _, lang := range []string{"fi", "sv", "en"} {
			resp, body := aino.get(p.url + "/my/data?lang=" + lang)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, p.s.deps.fe.T(lang, "mydata.lead")) ||
				!strings.Contains(body, `href="/my/data.json"`) || !strings.Contains(body, `href="/my/data.pdf"`) {
				t.Errorf("the page in %s: %d", lang, resp.StatusCode)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("the page's Cache-Control %q", cc)
			}
		}

		download := func(b *browser, ext string) (*http.Response, string) {
			t.Helper()
			resp, body := b.get(p.url + "/my/data." + ext)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("/my/data.%s: %d", ext, resp.StatusCode)
			}
			if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("/my/data.%s Cache-Control %q", ext, cc)
			}
			if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "."+ext) {
				t.Errorf("/my/data.%s Content-Disposition %q", ext, cd)
			}
			return resp, body
		}
		resp, ainoJSON := download(aino, "json")
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("JSON Content-Type %q", ct)
		}
		_, mattiJSON := download(matti, "json")
		for _, tc := range []struct {
			who, doc, mine, theirs, email string
		}{{"Aino", ainoJSON, "Ainon", "Matin", "aino.asukas@example.invalid"}, {"Matti", mattiJSON, "Matin", "Ainon", "matti.meikalainen@example.invalid"}} {
			if strings.Contains(tc.doc, tc.theirs) || !strings.Contains(tc.doc, tc.mine) || !strings.Contains(tc.doc, tc.email) {
				t.Errorf("%s's download: has own %t, has the other's %t", tc.who, strings.Contains(tc.doc, tc.mine), strings.Contains(tc.doc, tc.theirs))
			}
		}

		var doc map[string]json.RawMessage
		if err := json.Unmarshal([]byte(ainoJSON), &doc); err != nil {
			t.Fatalf("the JSON does not parse: %v", err)
		}
		for _, key := range mydata.PartKeys {
			name := key[strings.LastIndexByte(key, '.')+1:]
			if _, ok := doc[name]; !ok {
				t.Errorf("the JSON lacks the part %q", name)
			}
		}
		var d struct {
			ResidentID  int64     `json:"resident_id"`
			GeneratedAt time.Time `json:"generated_at"`
			Profile     []struct {
				Email      string     `json:"email"`
				Language   string     `json:"language"`
				CreatedAt  time.Time  `json:"created_at"`
				LastLogin  *time.Time `json:"last_login_at"`
				PostalCode string     `json:"postal_code"`
			} `json:"profile"`
			Case []struct {
				DebtCents     int64  `json:"debt_cents"`
				CourtDate     string `json:"court_date"`
				PlanReference string `json:"plan_reference"`
				Events        []struct {
					Kind string    `json:"kind"`
					At   time.Time `json:"at"`
					By   string    `json:"by"`
					Text string    `json:"text"`
				} `json:"events"`
				Payments []struct {
					AmountCents int64 `json:"amount_cents"`
				} `json:"payments"`
			} `json:"case"`
			Bookings []struct {
				Topic   string    `json:"topic"`
				Starts  time.Time `json:"starts_at"`
				Message string    `json:"message"`
			} `json:"bookings"`
			Chats []struct {
				Messages []struct {
					From string `json:"from"`
					Text string `json:"text"`
				} `json:"messages"`
			} `json:"chats"`
			Messages []struct {
				Subject  string `json:"subject"`
				Messages []struct {
					Text        string `json:"text"`
					Attachments []struct {
						Name string `json:"name"`
						Size int64  `json:"size_bytes"`
					} `json:"attachments"`
				} `json:"messages"`
			} `json:"messages"`
			Exchange []struct {
				Reference string `json:"reference"`
				Answers   struct {
					Home struct {
						Address string `json:"address"`
					} `json:"home"`
				} `json:"answers"`
			} `json:"exchange"`
			AccessLog []struct {
				StaffMember string `json:"staff_member"`
				Action      string `json:"action"`
			} `json:"access_log"`
		}
		if err := json.Unmarshal([]byte(ainoJSON), &d); err != nil {
			t.Fatalf("the JSON does not match its names (times RFC 3339): %v", err)
		}
		if d.ResidentID != ainoID || d.GeneratedAt.IsZero() || len(d.Profile) != 1 || d.Profile[0].Email != "aino.asukas@example.invalid" ||
			d.Profile[0].Language != "fi" || d.Profile[0].LastLogin == nil || d.Profile[0].PostalCode != "00940" {
			t.Errorf("profile: %+v", d.Profile)
		}
		if len(d.Case) != 1 || d.Case[0].DebtCents != 123456 || d.Case[0].CourtDate != "2026-09-01" || d.Case[0].PlanReference != "555666" || len(d.Case[0].Payments) != 1 ||
			!slices.ContainsFunc(d.Case[0].Events, func(e struct {
				Kind string    `json:"kind"`
				At   time.Time `json:"at"`
				By   string    `json:"by"`
				Text string    `json:"text"`
			}) bool {
				return e.Kind == "note" && e.Text == "Ainon muistiinpano: äöå ÄÖÅ €" && e.By == "Minna Järvinen"
			}) {
			t.Errorf("case: %+v", d.Case)
		}
		if len(d.Bookings) != 1 || d.Bookings[0].Topic != "rent_debt" || d.Bookings[0].Message != "Ainon ajanvarausviesti" {
			t.Errorf("bookings: %+v", d.Bookings)
		}
		if len(d.Chats) != 1 || len(d.Chats[0].Messages) != 120 || d.Chats[0].Messages[1].From != "advisor" || !strings.HasPrefix(d.Chats[0].Messages[119].Text, "120: Ainon") {
			t.Errorf("chats: %d, the full transcript missing", len(d.Chats))
		}
		if len(d.Messages) != 1 || d.Messages[0].Subject != "Ainon viestiketju" || len(d.Messages[0].Messages) != 1 ||
			len(d.Messages[0].Messages[0].Attachments) != 1 || d.Messages[0].Messages[0].Attachments[0].Name != "Ainon-tiliote.pdf" || d.Messages[0].Messages[0].Attachments[0].Size == 0 {
			t.Errorf("messages: %+v", d.Messages)
		}
		if len(d.Exchange) != 1 || d.Exchange[0].Answers.Home.Address != "Ainonkatu 1" || !strings.HasPrefix(d.Exchange[0].Reference, "AV-") {
			t.Errorf("exchange: %+v", d.Exchange)
		}
		if !slices.ContainsFunc(d.AccessLog, func(r struct {
			StaffMember string `json:"staff_member"`
			Action      string `json:"action"`
		}) bool {
			return r.StaffMember == "Minna Järvinen" && r.Action == "cases.change"
		}) {
			t.Errorf("access log: %+v", d.AccessLog)
		}
		// Every name in the JSON has its label for the PDF.
		var walk func(v any, top bool)
		walk = func(v any, top bool) {
			switch x := v.(type) {
			case map[string]any:
				for k, sub := range x {
					if top {
						walk(sub, false)
						continue
					}
					if k == "answers" {
						continue // the application's own document
					}
					if !p.s.deps.fe.Has("mydata.field."+k) && !p.s.deps.fe.Has("mydata.list."+k) {
						t.Errorf("%q has no label mydata.field.%s", k, k)
					}
					walk(sub, false)
				}
			case []any:
				for _, sub := range x {
					walk(sub, false)
				}
			}
		}
		var all any
		if err := json.Unmarshal([]byte(ainoJSON), &all); err != nil {
			t.Fatal(err)
		}
		walk(all, true)

		for _, lang := range []string{"fi", "sv", "en"} {
			if _, body := aino.get(p.url + "/my?lang=" + lang); !strings.Contains(body, "/my/data") {
				t.Errorf("no link on Oma asiointi in %s", lang)
			}
			resp, pdf := download(aino, "pdf")
			if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" || !strings.HasPrefix(pdf, "%PDF-") {
				t.Errorf("PDF in %s: %q", lang, ct)
			}
			if name := map[string]string{"fi": "omat-tiedot-", "sv": "mina-uppgifter-", "en": "my-data-"}[lang]; !strings.Contains(resp.Header.Get("Content-Disposition"), name) {
				t.Errorf("PDF in %s is named %q", lang, resp.Header.Get("Content-Disposition"))
			}
			if os.Getenv("PORTAL_TEST_MYDATA_PDF") != "" {
				if err := os.WriteFile(os.Getenv("PORTAL_TEST_MYDATA_PDF")+"."+lang+".pdf", []byte(pdf), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// The 120 long chat messages run over several pages.
			if n := strings.Count(pdf, "/Type /Page\n"); n < 4 {
				t.Errorf("PDF in %s has %d pages, want the transcript to run over several", lang, n)
			}
		}

		// Staff and anonymous visitors get no download.
		minna := newBrowser(t)
		minna.login(p.url, "/desk", "demo-advisor-east-1")
		for _, path := range []string{"/my/data", "/my/data.json", "/my/data.pdf"} {
			if resp, _ := minna.get(p.url + path); resp.StatusCode != http.StatusForbidden {
				t.Errorf("an advisor at %s: %d", path, resp.StatusCode)
			}
			anon := newBrowser(t)
			anon.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			if resp, body := anon.get(p.url + path); resp.StatusCode == http.StatusOK || strings.Contains(body, "Ainon") {
				t.Errorf("anonymous at %s: %d", path, resp.StatusCode)
			}
		}
	})
}
