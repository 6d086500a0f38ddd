package booking

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/database/dbtest"
)

// tuesday10 is Tuesday 24 March 2026 10:00 in Helsinki.
var tuesday10 = time.Date(2026, 3, 24, 8, 0, 0, 0, time.UTC)

// officeForm is a valid booking of an office visit at the first east
// service point with the first east advisor at start.
func (h *harness) officeForm(at time.Time) url.Values {
	return url.Values{
		"topic": {"rent_debt"}, "type": {"office"},
		"region": {strconv.FormatInt(h.regions["east"], 10)}, "point": {strconv.FormatInt(h.points["east"][0], 10)},
		"slot":    {slotValue(h.advisors["east"][0], at)},
		"message": {"Vuokra on kaksi kuukautta myöhässä. Tarvitsen tulkin (arabia)."},
	}
}

// book books an office visit for u through HTTP and returns its id.
func (h *harness) book(u *user, at time.Time) int64 {
	h.t.Helper()
	st, body, loc := h.post(u, "/booking", h.officeForm(at))
	if st != http.StatusSeeOther {
		h.t.Fatalf("POST /booking = %d, want 303\n%s", st, body)
	}
	rest, ok := strings.CutPrefix(loc, "/booking/")
	if !ok {
		h.t.Fatalf("redirected to %q", loc)
	}
	id, err := strconv.ParseInt(strings.TrimSuffix(rest, "?done=booked"), 10, 64)
	if err != nil {
		h.t.Fatalf("redirected to %q: %v", loc, err)
	}
	return id
}

// TestSameFormTwiceIsOneBooking: the booking form sent again — a double
// click, or an answer lost and the form sent once more — shows the booking
// the first one made; nothing is booked or mailed twice, and another
// resident asking for the same time is still told it was taken.
func TestSameFormTwiceIsOneBooking(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		first := h.book(aino, tuesday10)
		if again := h.book(aino, tuesday10); again != first {
			t.Fatalf("the same form again booked %d, want the first booking %d", again, first)
		}
		var n int64
		if err := db.Gorm.Model(&Booking{}).Where("resident_id = ?", h.residents[0]).Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("%d bookings after sending the form twice (%v), want 1", n, err)
		}
		if mails := h.mails(); len(mails) != 1 {
			t.Errorf("%d mails after sending the form twice, want 1", len(mails))
		}
		matti := h.login(h.residents[1])
		if st, body, _ := h.post(matti, "/booking", h.officeForm(tuesday10)); st != http.StatusConflict {
			t.Errorf("another resident booking the same time = %d, want 409\n%s", st, body)
		}
	})
}

func parseICS(t testing.TB, data []byte) *ics.VEvent {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("calendar file does not parse: %v\n%s", err, data)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("calendar file has %d events, want 1", len(evs))
	}
	return evs[0]
}

func TestResidentBooksAndOthersCannotSeeIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0]) // postal code 00940: east
		east := strconv.FormatInt(h.regions["east"], 10)

		st, body := h.get(aino, "/booking")
		if st != http.StatusOK || !strings.Contains(body, `<option value="`+east+`" selected>`) {
			t.Fatalf("GET /booking = %d; the east region is not proposed from the postal code\n%s", st, body)
		}
		q := h.officeForm(tuesday10)
		q.Del("slot")
		q.Del("message")
		st, body = h.get(aino, "/booking?"+q.Encode())
		if st != http.StatusOK || !strings.Contains(body, `value="`+slotValue(h.advisors["east"][0], tuesday10)+`"`) {
			t.Fatalf("GET /booking with a search = %d; Tuesday 10:00 is not offered\n%s", st, body)
		}
		if !strings.Contains(body, "10.00–11.00") || !strings.Contains(body, "tiistai 24.3.") {
			t.Errorf("times are not shown in Helsinki time per day")
		}

		id := h.book(aino, tuesday10)
		st, body = h.get(aino, fmt.Sprintf("/booking/%d?done=booked", id))
		if st != http.StatusOK {
			t.Fatalf("confirmation page = %d", st)
		}
		for _, want := range []string{h.translated("booking.notice.booked"), "ti 24.3.2026 klo 10.00–11.00", "Heka Itä", h.translated("booking.show.cancel")} {
			if !strings.Contains(body, want) {
				t.Errorf("confirmation page lacks %q", want)
			}
		}

		// The confirmation mail carries a calendar file for the right time.
		mails := h.mails()
		if len(mails) != 1 || mails[0].Recipient != "aino.asukas@example.invalid" || len(mails[0].Attachments) != 1 {
			t.Fatalf("mails after booking: %+v", mails)
		}
		ev := parseICS(t, mails[0].Attachments[0].Data)
		if got, err := ev.GetStartAt(); err != nil || !got.Equal(tuesday10) {
			t.Errorf("calendar DTSTART = %v, %v; want %v", got, err, tuesday10)
		}
		if !strings.Contains(mails[0].BodyText, fmt.Sprintf("http://portal.test/booking/%d", id)) {
			t.Errorf("mail lacks the link to cancel or move:\n%s", mails[0].BodyText)
		}

		// Nobody else can see, move or cancel it: 404, not 403.
		matti := h.login(h.residents[1])
		westAdvisor := h.login(h.advisors["west"][0])
		for _, c := range []struct {
			name   string
			u      *user
			method string
			path   string
		}{
			{"another resident views", matti, http.MethodGet, fmt.Sprintf("/booking/%d", id)},
			{"another resident opens the cancel page", matti, http.MethodGet, fmt.Sprintf("/booking/%d/cancel", id)},
			{"another resident cancels", matti, http.MethodPost, fmt.Sprintf("/booking/%d/cancel", id)},
			{"another resident moves", matti, http.MethodGet, fmt.Sprintf("/booking/%d/move", id)},
			{"an advisor of another region views", westAdvisor, http.MethodGet, fmt.Sprintf("/desk/booking/%d", id)},
			{"an advisor of another region cancels", westAdvisor, http.MethodPost, fmt.Sprintf("/desk/booking/%d/cancel", id)},
			{"a booking that does not exist", aino, http.MethodGet, fmt.Sprintf("/booking/%d", id+1000)},
		} {
			t.Run(c.name, func(t *testing.T) {
				var st int
				if c.method == http.MethodGet {
					st, _ = h.get(c.u, c.path)
				} else {
					st, _, _ = h.post(c.u, c.path, url.Values{})
				}
				if st != http.StatusNotFound {
					t.Fatalf("%s %s = %d, want 404", c.method, c.path, st)
				}
			})
		}
		var b Booking
		if err := db.Gorm.First(&b, id).Error; err != nil || b.Status != StatusBooked {
			t.Fatalf("booking after the refused attempts: %+v, %v", b, err)
		}

		// A colleague of the same region and the supervisor can; each view is logged.
		colleague := h.login(h.advisors["east"][1])
		admin := h.login(h.adminID(t))
		for _, u := range []*user{colleague, admin} {
			st, body := h.get(u, fmt.Sprintf("/desk/booking/%d", id))
			if st != http.StatusOK || !strings.Contains(body, "Aino Asukas") || !strings.Contains(body, "tulkin (arabia)") {
				t.Fatalf("staff view = %d\n%s", st, body)
			}
		}
		var logged int64
		if err := db.Gorm.Table("access_log").Where("action = ? AND resident_id = ? AND resource = ?",
			"booking.view", h.residents[0], fmt.Sprintf("booking:%d", id)).Count(&logged).Error; err != nil {
			t.Fatal(err)
		}
		if logged != 2 {
			t.Errorf("%d access log entries for the two staff views, want 2", logged)
		}

		// "Oma asiointi" lists it as upcoming.
		st, body = h.get(aino, "/test/my-section")
		if st != http.StatusOK || !strings.Contains(body, "ti 24.3.2026 klo 10.00–11.00") {
			t.Errorf("my section = %d\n%s", st, body)
		}
	})
}

func (h *harness) adminID(t testing.TB) int64 {
	t.Helper()
	var id int64
	if err := h.db.Gorm.Raw("SELECT id FROM users WHERE role = 'admin'").Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("admin: %v", err)
	}
	return id
}

func TestBadInputChangesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		// Wednesday 10:00 is booked by someone else already.
		wednesday10 := tuesday10.Add(24 * time.Hour)
		taken := h.booking("east", h.advisors["east"][0], h.residents[1], wednesday10)
		if err := h.store.Create(t.Context(), taken, start, 0, nil); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			change func(url.Values)
			status int
			key    string
		}{
			{"a slot in the past", func(v url.Values) {
				v.Set("slot", slotValue(h.advisors["east"][0], time.Date(2026, 3, 20, 8, 0, 0, 0, time.UTC)))
			}, http.StatusUnprocessableEntity, "booking.error.slot_unavailable"},
			{"a slot sooner than the minimum notice", func(v url.Values) {
				v.Set("slot", slotValue(h.advisors["east"][0], start.Add(time.Hour)))
			}, http.StatusUnprocessableEntity, "booking.error.slot_unavailable"},
			{"a slot that was just taken", func(v url.Values) {
				v.Set("slot", slotValue(h.advisors["east"][0], wednesday10))
			}, http.StatusConflict, "booking.error.slot_taken"},
			{"a time the advisor does not receive", func(v url.Values) {
				v.Set("slot", slotValue(h.advisors["east"][0], tuesday10.Add(30*time.Minute)))
			}, http.StatusUnprocessableEntity, "booking.error.slot_unavailable"},
			{"a type the service point does not offer", func(v url.Values) {
				v.Set("point", strconv.FormatInt(h.points["east"][1], 10))
			}, http.StatusUnprocessableEntity, "booking.error.point_type"},
			{"a service point of another region", func(v url.Values) {
				v.Set("point", strconv.FormatInt(h.points["west"][0], 10))
			}, http.StatusUnprocessableEntity, "booking.error.point"},
			{"a message over the limit", func(v url.Values) {
				v.Set("message", strings.Repeat("ä", 1001))
			}, http.StatusUnprocessableEntity, "booking.error.message_too_long"},
			{"a phone call without a number", func(v url.Values) {
				v.Set("type", "phone")
			}, http.StatusUnprocessableEntity, "booking.error.phone"},
			{"a home visit without an address", func(v url.Values) {
				v.Set("type", "home")
			}, http.StatusUnprocessableEntity, "booking.error.address"},
			{"a home-visit address with a bare CR", func(v url.Values) {
				v.Set("type", "home")
				v.Set("address", "Kotikatu 1\rDESCRIPTION:x")
			}, http.StatusUnprocessableEntity, "error.field.control"},
			{"a phone number with a line break", func(v url.Values) {
				v.Set("type", "phone")
				v.Set("phone", "040 123\n4567")
			}, http.StatusUnprocessableEntity, "error.field.control"},
			{"an unknown topic", func(v url.Values) { v.Set("topic", "lottery") }, http.StatusUnprocessableEntity, "booking.error.topic"},
			{"a garbled slot", func(v url.Values) { v.Set("slot", "x-y") }, http.StatusUnprocessableEntity, "booking.error.slot"},
			{"another region's advisor", func(v url.Values) {
				v.Set("advisor", strconv.FormatInt(h.advisors["west"][0], 10))
			}, http.StatusUnprocessableEntity, "booking.error.advisor"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before, mailsBefore := h.bookingCount(), len(h.mails())
				form := h.officeForm(tuesday10)
				c.change(form)
				st, body, _ := h.post(aino, "/booking", form)
				if st != c.status {
					t.Fatalf("status %d, want %d\n%s", st, c.status, body)
				}
				if !strings.Contains(body, h.translated(c.key)) {
					t.Errorf("page lacks the message %q", h.fe.T("fi", c.key))
				}
				if !strings.Contains(body, "error-summary") {
					t.Errorf("page lacks the error summary")
				}
				if c.status == http.StatusConflict && !strings.Contains(body, "topic=rent_debt&amp;type=office&amp;week=1") {
					t.Errorf("the re-rendered page lacks the times with the search in their week links")
				}
				if after := h.bookingCount(); after != before {
					t.Errorf("bookings %d → %d", before, after)
				}
				if n := len(h.mails()); n != mailsBefore {
					t.Errorf("mails %d → %d", mailsBefore, n)
				}
			})
		}
	})
}

// TestFiftyConcurrentRequestsOverHTTP races 50 residents for one slot
// through a real listener with the JSON form: exactly one 201, 49 × 409.
func TestFiftyConcurrentRequestsOverHTTP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		ids := h.addResidents(t, 50)
		users := make([]*user, len(ids))
		for i, id := range ids {
			users[i] = h.login(id)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = h.app.Listener(ln) }() // returns when the app shuts down
		t.Cleanup(func() {
			if err := h.app.Shutdown(); err != nil {
				t.Error(err)
			}
		})
		form := h.officeForm(tuesday10)
		body := map[string]string{}
		for k := range form {
			body[k] = form.Get(k)
		}
		payload, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Timeout: 60 * time.Second}
		type result struct {
			status int
			body   map[string]any
		}
		results := make([]result, len(users))
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/booking", bytes.NewReader(payload))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json")
				req.Header.Set("Cookie", "asn_session="+u.cookie)
				req.Header.Set("X-CSRF-Token", u.csrf)
				<-gate
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				results[i].status = resp.StatusCode
				if err := json.NewDecoder(resp.Body).Decode(&results[i].body); err != nil {
					t.Errorf("response %d: %v", resp.StatusCode, err)
				}
			}()
		}
		close(gate)
		wg.Wait()
		created, conflicts := 0, 0
		for _, r := range results {
			switch r.status {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
				conflicts++
				// An RFC 9457 problem document naming the message.
				if r.body["code"] != "booking.error.slot_taken" || r.body["detail"] != h.fe.T("fi", "booking.error.slot_taken") || r.body["status"] != float64(409) {
					t.Errorf("409 body = %v", r.body)
				}
			default:
				t.Errorf("unexpected status %d: %v", r.status, r.body)
			}
		}
		if created != 1 || conflicts != len(users)-1 {
			t.Fatalf("%d created, %d conflicts; want 1 and %d", created, conflicts, len(users)-1)
		}
		if n := liveBookings(t, db, h.advisors["east"][0], tuesday10); n != 1 {
			t.Fatalf("%d live bookings in the slot, want 1", n)
		}
		if n := len(h.mails()); n != 1 {
			t.Fatalf("%d confirmation mails, want 1", n)
		}
	})
}

func TestMoveAndCancelWithinNotice(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		id := h.book(aino, tuesday10)

		// Move to Thursday 11:00 (a different week day, same advisor).
		thursday11 := tuesday10.Add(48*time.Hour + time.Hour)
		st, body, loc := h.post(aino, fmt.Sprintf("/booking/%d/move", id), url.Values{"slot": {slotValue(h.advisors["east"][0], thursday11)}})
		if st != http.StatusSeeOther || loc != fmt.Sprintf("/booking/%d?done=moved", id) {
			t.Fatalf("move = %d → %q\n%s", st, loc, body)
		}
		var b Booking
		if err := db.Gorm.First(&b, id).Error; err != nil {
			t.Fatal(err)
		}
		if !b.StartsAt.Equal(thursday11) || b.Sequence != 1 || b.Status != StatusBooked {
			t.Fatalf("after move: start %v seq %d status %s", b.StartsAt, b.Sequence, b.Status)
		}
		mails := h.mails()
		moved := mails[len(mails)-1]
		if moved.SubjectKey != "booking.mail.moved.subject" {
			t.Fatalf("last mail %s, want the move", moved.SubjectKey)
		}
		ev := parseICS(t, moved.Attachments[0].Data)
		if seq := ev.GetProperty(ics.ComponentPropertySequence); seq == nil || seq.Value != "1" {
			t.Errorf("moved calendar SEQUENCE = %v, want 1", seq)
		}
		// The old time is free again.
		if n := liveBookings(t, db, h.advisors["east"][0], tuesday10); n != 0 {
			t.Errorf("old slot still held")
		}

		// Less than 24 hours before: the resident is told to call.
		h.clock.Set(thursday11.Add(-23 * time.Hour))
		st, body = h.get(aino, fmt.Sprintf("/booking/%d", id))
		if st != http.StatusOK || !strings.Contains(body, h.translated("booking.show.too_late_title")) || !strings.Contains(body, "09 310 10004") {
			t.Fatalf("page within the notice period = %d\n%s", st, body)
		}
		if strings.Contains(body, fmt.Sprintf(`/booking/%d/cancel"`, id)) {
			t.Errorf("cancel offered within the notice period")
		}
		if st, body = h.get(aino, fmt.Sprintf("/booking/%d/cancel", id)); st != http.StatusConflict || !strings.Contains(body, h.translated("booking.error.too_late")) {
			t.Errorf("cancel page within the notice period = %d", st)
		}
		st, body, _ = h.post(aino, fmt.Sprintf("/booking/%d/cancel", id), url.Values{})
		if st != http.StatusConflict || !strings.Contains(body, h.translated("booking.error.too_late")) {
			t.Fatalf("cancel within the notice period = %d", st)
		}
		if err := db.Gorm.First(&b, id).Error; err != nil || b.Status != StatusBooked {
			t.Fatalf("booking changed by a refused cancel: %+v", b)
		}

		// Earlier it can be cancelled, and the calendar file says so.
		h.clock.Set(start)
		st, _, loc = h.post(aino, fmt.Sprintf("/booking/%d/cancel", id), url.Values{})
		if st != http.StatusSeeOther || loc != fmt.Sprintf("/booking/%d?done=cancelled", id) {
			t.Fatalf("cancel = %d → %q", st, loc)
		}
		mails = h.mails()
		cancel := mails[len(mails)-1]
		if !strings.Contains(string(cancel.Attachments[0].Data), "METHOD:CANCEL") || !strings.Contains(string(cancel.Attachments[0].Data), "STATUS:CANCELLED") {
			t.Errorf("cancellation calendar file:\n%s", cancel.Attachments[0].Data)
		}
		if n := liveBookings(t, db, h.advisors["east"][0], thursday11); n != 0 {
			t.Errorf("cancelled booking still holds its slot")
		}
	})
}

func TestExceptionOverBookedSlotTellsTheResident(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		id := h.book(aino, tuesday10)
		advisor := h.login(h.advisors["east"][0])
		form := url.Values{"kind": {"sick"}, "from_date": {"2026-03-24"}, "note": {"Neuvoja on sairaana."}}

		st, body, _ := h.post(advisor, "/desk/availability/exceptions", form)
		if st != http.StatusConflict || !strings.Contains(body, "Aino Asukas") || !strings.Contains(body, h.translated("booking.availability.conflicts_title")) {
			t.Fatalf("exception over a booking without confirmation = %d\n%s", st, body)
		}
		var b Booking
		if err := db.Gorm.First(&b, id).Error; err != nil || b.Status != StatusBooked {
			t.Fatalf("booking changed before confirmation: %+v", b)
		}

		form.Set("confirm", "1")
		st, body, _ = h.post(advisor, "/desk/availability/exceptions", form)
		if st != http.StatusSeeOther {
			t.Fatalf("confirmed exception = %d\n%s", st, body)
		}
		if err := db.Gorm.First(&b, id).Error; err != nil || b.Status != StatusCancelled || b.StaffMessage != "Neuvoja on sairaana." {
			t.Fatalf("booking after the exception: %+v", b)
		}
		mails := h.mails()
		last := mails[len(mails)-1]
		if last.Recipient != "aino.asukas@example.invalid" || last.SubjectKey != "booking.mail.cancelled.subject" ||
			!strings.Contains(last.BodyText, h.fe.T("fi", "booking.mail.advisor_away")) || !strings.Contains(last.BodyText, "Neuvoja on sairaana.") {
			t.Fatalf("resident not told: %+v", last)
		}
		// Tuesday is no longer offered.
		slots, err := h.svc.FreeSlots(t.Context(), SlotQuery{RegionID: h.regions["east"], Type: Office,
			ServicePointID: h.points["east"][0], From: tuesday10.Add(-4 * time.Hour), To: tuesday10.Add(12 * time.Hour)})
		if err != nil || len(slots) != 0 {
			t.Fatalf("slots on the sick day: %v, %v", starts(slots), err)
		}
	})
}

func TestCalendarAndAvailabilityPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		id := h.book(aino, tuesday10)
		advisor := h.login(h.advisors["east"][0])

		st, body := h.get(advisor, "/desk/booking?view=week&date=2026-03-24")
		if st != http.StatusOK || !strings.Contains(body, "Aino Asukas") || !strings.Contains(body, fmt.Sprintf("/desk/booking/%d", id)) {
			t.Fatalf("week calendar = %d\n%s", st, body)
		}
		var logged int64
		if err := db.Gorm.Table("access_log").Where("action = ? AND resident_id = ? AND reason LIKE ?", "booking.view", h.residents[0], "calendar%").Count(&logged).Error; err != nil {
			t.Fatal(err)
		}
		if logged != 1 {
			t.Errorf("%d access log entries for the calendar view, want 1", logged)
		}
		// A colleague's own calendar is empty; "all advisors" shows it.
		colleague := h.login(h.advisors["east"][1])
		if _, body := h.get(colleague, "/desk/booking?view=week&date=2026-03-24"); strings.Contains(body, "Aino Asukas") {
			t.Errorf("colleague's own calendar shows another advisor's appointment")
		}
		if _, body := h.get(colleague, "/desk/booking?view=week&date=2026-03-24&advisor=all"); !strings.Contains(body, "Aino Asukas") {
			t.Errorf("all advisors of the region do not show the appointment")
		}
		// An advisor cannot look into another region's advisors.
		if st, _ := h.get(colleague, fmt.Sprintf("/desk/booking?advisor=%d", h.advisors["west"][0])); st != http.StatusUnprocessableEntity {
			t.Errorf("calendar of another region's advisor = %d, want 400", st)
		}

		// Weekly windows: a valid one is stored, a bad one re-renders with the message.
		st, _, _ = h.post(colleague, "/desk/availability/windows", url.Values{
			"weekday": {"2"}, "start": {"09:00"}, "end": {"11:00"}, "slot_minutes": {"30"},
			"types": {"office", "phone"}, "point": {strconv.FormatInt(h.points["east"][1], 10)},
		})
		if st != http.StatusSeeOther {
			t.Fatalf("add window = %d", st)
		}
		ws, err := h.store.Windows(t.Context(), h.advisors["east"][1])
		if err != nil || len(ws) != 1 || ws[0].MeetingTypes != "office,phone" || ws[0].SlotMinutes != 30 {
			t.Fatalf("windows: %+v, %v", ws, err)
		}
		st, body, _ = h.post(colleague, "/desk/availability/windows", url.Values{
			"weekday": {"2"}, "start": {"12:00"}, "end": {"11:00"}, "slot_minutes": {"30"}, "types": {"phone"},
		})
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, h.translated("booking.error.end_before_start")) {
			t.Fatalf("bad window = %d", st)
		}
		// The new window's service point now offers office visits.
		q := url.Values{"topic": {"exchange"}, "type": {"office"}, "region": {strconv.FormatInt(h.regions["east"], 10)},
			"point": {strconv.FormatInt(h.points["east"][1], 10)}}
		if st, body := h.get(aino, "/booking?"+q.Encode()); st != http.StatusOK || !strings.Contains(body, "9.30–10.00") {
			t.Fatalf("search at the new service point = %d\n%s", st, body)
		}

		// The desk section lists today's appointments.
		h.clock.Set(tuesday10.Add(-2 * time.Hour))
		if st, body := h.get(advisor, "/test/desk-section"); st != http.StatusOK || !strings.Contains(body, "Aino Asukas") {
			t.Errorf("desk section = %d\n%s", st, body)
		}
		// Done once it has begun, not before.
		if st, _, _ := h.post(advisor, fmt.Sprintf("/desk/booking/%d/outcome", id), url.Values{"outcome": {"done"}}); st != http.StatusConflict {
			t.Errorf("outcome before the start = %d, want 409", st)
		}
		h.clock.Set(tuesday10.Add(30 * time.Minute))
		if st, _, _ := h.post(advisor, fmt.Sprintf("/desk/booking/%d/outcome", id), url.Values{"outcome": {"no_show"}}); st != http.StatusSeeOther {
			t.Errorf("outcome = %d, want 303", st)
		}
	})
}

func TestStaffBooksOnBehalf(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		advisor := h.login(h.advisors["east"][1])
		// The search is posted and answered in place: the name never
		// enters a URL.
		st, body, loc := h.post(advisor, "/desk/booking/new/search", url.Values{"q": {"aino"}})
		if st != http.StatusOK || loc != "" || !strings.Contains(body, fmt.Sprintf("?resident=%d", h.residents[0])) {
			t.Fatalf("resident search = %d → %q\n%s", st, loc, body)
		}
		// An advisor books in their own region only.
		west := h.officeForm(tuesday10)
		west.Set("resident", strconv.FormatInt(h.residents[0], 10))
		west.Set("region", strconv.FormatInt(h.regions["west"], 10))
		if st, body, _ := h.post(advisor, "/desk/booking/new", west); st != http.StatusUnprocessableEntity || !strings.Contains(body, h.translated("booking.error.region")) {
			t.Fatalf("booking in another region = %d", st)
		}
		form := h.officeForm(tuesday10)
		form.Set("resident", strconv.FormatInt(h.residents[0], 10))
		// Staff may book sooner than residents: today 11:00 is fine.
		form.Set("slot", slotValue(h.advisors["east"][0], start.Add(3*time.Hour)))
		// The advisor's note is for colleagues; the message is for the resident.
		const note, toResident = "Naapuri soitti, huolissaan", "Tervetuloa, ota vuokrasopimus mukaan."
		form.Set("staff_note", note)
		form.Set("staff_message", toResident)
		form.Set("message", "words in the resident's name")
		st, body, loc = h.post(advisor, "/desk/booking/new", form)
		if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/desk/booking/") {
			t.Fatalf("book on behalf = %d → %q\n%s", st, loc, body)
		}
		var b Booking
		if err := db.Gorm.Where("resident_id = ?", h.residents[0]).First(&b).Error; err != nil {
			t.Fatal(err)
		}
		if b.BookedBy != h.advisors["east"][1] {
			t.Errorf("booked_by = %d, want the advisor", b.BookedBy)
		}
		if b.StaffNote != note || b.StaffMessage != toResident || b.Message != "" {
			t.Errorf("note %q, message to the resident %q, resident's message %q", b.StaffNote, b.StaffMessage, b.Message)
		}
		aino := h.login(h.residents[0])
		for _, page := range []string{fmt.Sprintf("/booking/%d", b.ID), "/test/my-section"} {
			st, body := h.get(aino, page)
			if st != http.StatusOK && page == fmt.Sprintf("/booking/%d", b.ID) {
				t.Fatalf("resident's page %s = %d", page, st)
			}
			if strings.Contains(body, "Naapuri soitti") || strings.Contains(body, templateEscape(h.translated("booking.field.staff_note_shown"))) {
				t.Errorf("the resident sees the staff note on %s", page)
			}
		}
		if _, body := h.get(aino, fmt.Sprintf("/booking/%d", b.ID)); !strings.Contains(body, "Tervetuloa, ota vuokrasopimus mukaan.") ||
			!strings.Contains(body, templateEscape(h.translated("booking.field.staff_message_shown"))) {
			t.Error("the resident does not see the advisor's message to them under its own label")
		}
		for _, m := range h.mails() {
			if strings.Contains(m.BodyText+m.BodyHTML, "Naapuri soitti") {
				t.Errorf("mail %q carries the staff note", m.Subject)
			}
		}
		if _, body := h.get(advisor, fmt.Sprintf("/desk/booking/%d", b.ID)); !strings.Contains(body, "Naapuri soitti") ||
			!strings.Contains(body, templateEscape(h.translated("booking.field.staff_note_shown"))) {
			t.Error("staff do not see the note under its own label")
		}
		var logged int64
		if err := db.Gorm.Table("access_log").Where("action = ? AND resident_id = ?", "booking.create", h.residents[0]).Count(&logged).Error; err != nil || logged != 1 {
			t.Errorf("booking on behalf logged %d times, %v", logged, err)
		}
		// Staff move it with a message that reaches the resident.
		st, body, _ = h.post(advisor, fmt.Sprintf("/desk/booking/%d/move", b.ID), url.Values{
			"slot": {slotValue(h.advisors["east"][0], tuesday10)}, "staff_message": {"Siirsin ajan pyynnöstäsi."},
		})
		if st != http.StatusSeeOther {
			t.Fatalf("staff move = %d\n%s", st, body)
		}
		mails := h.mails()
		if last := mails[len(mails)-1]; !strings.Contains(last.BodyText, "Siirsin ajan pyynnöstäsi.") {
			t.Errorf("move mail lacks the advisor's message:\n%s", last.BodyText)
		}
	})
}

// sectionRoutes renders the booking sections inside the shared pages
// (pages/my, pages/desk) as main wires them.
func sectionRoutes(app *fiber.App, fe *frontend.Frontend, fns map[string]frontend.SectionFunc) {
	for path, fn := range fns {
		page := "pages/my"
		if strings.Contains(path, "desk") {
			page = "pages/desk"
		}
		app.Get(path, func(c *fiber.Ctx) error {
			secs, err := frontend.CollectSections(c, []frontend.SectionFunc{fn})
			if err != nil {
				return err
			}
			return fe.Render(c, fiber.StatusOK, page, frontend.Page{TitleKey: "booking.my.title",
				Data: struct{ Sections []frontend.Section }{secs}})
		})
	}
}

// TestPagesRender opens every page of the feature in every language: a
// template that fails at run time fails here, not in front of a person.
func TestPagesRender(t *testing.T) {
	h := newHarness(t, dbtest.SQLite(t))
	aino := h.login(h.residents[0])
	id := h.book(aino, tuesday10)
	advisor := h.login(h.advisors["east"][0])
	admin := h.login(h.adminID(t))
	search := "?topic=moving&type=video&region=" + strconv.FormatInt(h.regions["east"], 10)
	pages := []struct {
		u    *user
		path string
		want string
	}{
		{aino, "/booking", "booking.new.title"},
		{aino, "/booking" + search, "booking.pick.title"},
		{aino, "/booking" + search + "&week=3", "booking.pick.prev"},
		{aino, fmt.Sprintf("/booking/%d", id), "booking.show.title"},
		{aino, fmt.Sprintf("/booking/%d/move", id), "booking.move.current"},
		{aino, fmt.Sprintf("/booking/%d/cancel", id), "booking.cancel.lead"},
		{aino, "/test/my-section", "booking.my.title"},
		{advisor, "/desk/booking", "booking.calendar.title"},
		{advisor, "/desk/booking?view=week&date=2026-03-24", "booking.calendar.week"},
		{advisor, "/desk/booking/new", "booking.staff_new.find_resident"},
		{advisor, fmt.Sprintf("/desk/booking/new?resident=%d", h.residents[0]), "booking.search.legend_staff"},
		{advisor, fmt.Sprintf("/desk/booking/%d", id), "booking.staff.actions"},
		{advisor, fmt.Sprintf("/desk/booking/%d/move", id), "booking.field.staff_message"},
		{advisor, "/desk/availability", "booking.availability.windows"},
		{advisor, "/test/desk-section", "booking.desk.title"},
		{admin, "/desk/booking?view=week&advisor=all", "booking.calendar.all_advisors"},
		{admin, fmt.Sprintf("/desk/availability?advisor=%d", h.advisors["north"][0]), "booking.availability.add_window"},
		{admin, "/dev/mailbox", "mail.mailbox.title"},
		{admin, "/dev/mailbox/1", "mail.mailbox.attachments"},
	}
	for _, lang := range frontend.SupportedLanguages() {
		for _, p := range pages {
			t.Run(lang+p.path, func(t *testing.T) {
				r := p.u.request(http.MethodGet, p.path, nil)
				r.Header.Set("Cookie", "asn_session="+p.u.cookie+"; lang="+lang)
				st, body, _ := h.do(r)
				if st != http.StatusOK {
					t.Fatalf("GET %s = %d\n%s", p.path, st, body)
				}
				if want := templateEscape(h.fe.T(lang, p.want)); !strings.Contains(body, want) {
					t.Errorf("GET %s lacks %q", p.path, want)
				}
			})
		}
	}
	st, body, _ := h.do(admin.request(http.MethodGet, "/dev/mailbox/1/attachments/1", nil))
	if st != http.StatusOK || !strings.HasPrefix(body, "BEGIN:VCALENDAR") {
		t.Errorf("attachment download = %d", st)
	}
	// RFC 5545: every line, folded ones too, ends with CRLF; no bare CR or LF.
	if lf, crlf, cr := strings.Count(body, "\n"), strings.Count(body, "\r\n"), strings.Count(body, "\r"); lf == 0 || lf != crlf || cr != crlf {
		t.Errorf("calendar file line ends: %d LF, %d CRLF, %d CR", lf, crlf, cr)
	}
}

func TestConfirmationWithoutEmailSaysSo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		if err := db.Gorm.Exec("UPDATE users SET email = '' WHERE id = ?", h.residents[0]).Error; err != nil {
			t.Fatal(err)
		}
		aino := h.login(h.residents[0])
		id := h.book(aino, tuesday10)
		st, body := h.get(aino, fmt.Sprintf("/booking/%d?done=booked", id))
		if st != http.StatusOK || !strings.Contains(body, templateEscape(h.translated("booking.show.no_email"))) ||
			strings.Contains(body, templateEscape(h.translated("booking.show.confirmation_sent"))) {
			t.Errorf("confirmation page for a resident without e-mail = %d, want it to say no mail was sent\n%s", st, body)
		}
		if n := len(h.mails()); n != 0 {
			t.Errorf("%d mails queued for a resident without e-mail", n)
		}
	})
}

func TestMoveOffersTheSameAdvisorFirst(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		id := h.book(aino, tuesday10)
		selected := fmt.Sprintf(`<option value="%d" selected>`, h.advisors["east"][0])
		for _, c := range []struct {
			query string
			want  bool
		}{
			{"", true},                  // the booking's own advisor
			{"?advisor=", false},        // any advisor, asked for
			{"?advisor=&week=1", false}, // and kept across the weeks
		} {
			st, body := h.get(aino, fmt.Sprintf("/booking/%d/move%s", id, c.query))
			if st != http.StatusOK || strings.Contains(body, selected) != c.want {
				t.Errorf("move page%s = %d; the booking's advisor chosen: %v, want %v", c.query, st, !c.want, c.want)
			}
		}
		if _, body := h.get(aino, fmt.Sprintf("/booking/%d/move?advisor=", id)); !strings.Contains(body, fmt.Sprintf(`href="/booking/%d/move?advisor=&amp;`, id)) {
			t.Error("the week links of a move for any advisor drop the choice")
		}
	})
}

func TestDeleteOwnWindowsAndExceptionsOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		ctx := t.Context()
		ownerID, otherID := h.advisors["east"][1], h.advisors["east"][0]
		owner, other := h.login(ownerID), h.login(otherID)
		if st, _, _ := h.post(owner, "/desk/availability/windows", url.Values{
			"weekday": {"4"}, "start": {"09:00"}, "end": {"11:00"}, "slot_minutes": {"30"}, "types": {"phone"},
		}); st != http.StatusSeeOther {
			t.Fatalf("add window = %d", st)
		}
		if st, _, _ := h.post(owner, "/desk/availability/exceptions", url.Values{
			"kind": {"holiday"}, "from_date": {"2026-03-26"}, "confirm": {"1"},
		}); st != http.StatusSeeOther {
			t.Fatalf("add exception = %d", st)
		}
		ws, err := h.store.Windows(ctx, ownerID)
		if err != nil || len(ws) != 1 {
			t.Fatalf("windows: %+v, %v", ws, err)
		}
		es, err := h.store.Exceptions(ctx, tuesday10.Add(-7*24*time.Hour), tuesday10.Add(7*24*time.Hour), ownerID)
		if err != nil || len(es) != 1 {
			t.Fatalf("exceptions: %+v, %v", es, err)
		}
		windowURL := fmt.Sprintf("/desk/availability/windows/%d/delete", ws[0].ID)
		exceptionURL := fmt.Sprintf("/desk/availability/exceptions/%d/delete", es[0].ID)

		// A colleague's delete finds nothing, and nothing goes.
		for _, target := range []string{windowURL, exceptionURL} {
			if st, _, _ := h.post(other, target, nil); st != http.StatusNotFound {
				t.Errorf("another advisor's %s = %d, want 404", target, st)
			}
		}
		if ws, _ := h.store.Windows(ctx, ownerID); len(ws) != 1 {
			t.Fatalf("the window went by another advisor's request")
		}
		// The owner's delete removes it; a second time finds nothing.
		for _, target := range []string{windowURL, exceptionURL} {
			if st, _, loc := h.post(owner, target, nil); st != http.StatusSeeOther || !strings.Contains(loc, "done=deleted") {
				t.Errorf("own %s = %d → %q, want 303 to done=deleted", target, st, loc)
			}
			if st, _, _ := h.post(owner, target, nil); st != http.StatusNotFound {
				t.Errorf("%s again = %d, want 404", target, st)
			}
		}
		ws, _ = h.store.Windows(ctx, ownerID)
		es, _ = h.store.Exceptions(ctx, tuesday10.Add(-7*24*time.Hour), tuesday10.Add(7*24*time.Hour), ownerID)
		if len(ws) != 0 || len(es) != 0 {
			t.Fatalf("after delete: %d windows, %d exceptions", len(ws), len(es))
		}
	})
}

// TestOfficeVisitsOfferOnlyReceivingPoints: the service point list for an
// office visit holds only the offices with reception hours, and the field
// is marked required for office visits.
func TestOfficeVisitsOfferOnlyReceivingPoints(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		q := url.Values{"topic": {"rent_debt"}, "type": {"office"}, "region": {strconv.FormatInt(h.regions["east"], 10)}}
		// Without a point chosen yet the search asks for one (400) and lists them.
		_, body := h.get(aino, "/booking?"+q.Encode())
		receiving := fmt.Sprintf(`value="%d"`, h.points["east"][0])
		closed := fmt.Sprintf(`value="%d"`, h.points["east"][1])
		if !strings.Contains(body, receiving) || strings.Contains(body, closed) {
			t.Errorf("offices offered: receiving one %v, one without reception hours %v", strings.Contains(body, receiving), strings.Contains(body, closed))
		}
		if !strings.Contains(body, `id="point"`) || !strings.Contains(body, `<label for="point" class="hds-text-input__label">`+templateEscape(h.translated("booking.field.point"))+`<span class="hds-text-input__required" aria-hidden="true">*</span>`) {
			t.Error("the service point is not marked required for an office visit")
		}
	})
}

// TestLimitSaidUpFrontAndBookAgain: the booking page says the limit of
// upcoming appointments before the form, and at the limit says so instead
// of letting the resident fill the form in vain; a cancelled appointment
// offers to book again with the same choices.
func TestLimitSaidUpFrontAndBookAgain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		limitText := templateEscape(h.fe.T("fi", "booking.new.limit", map[string]any{"Max": 3, "Count": 0}))
		if _, body := h.get(aino, "/booking"); !strings.Contains(body, limitText) {
			t.Errorf("the booking page does not say the limit up front (%q)", limitText)
		}
		var ids []int64
		for i := range 3 {
			ids = append(ids, h.book(aino, tuesday10.Add(time.Duration(i)*24*time.Hour)))
		}
		if _, body := h.get(aino, "/booking"); !strings.Contains(body, templateEscape(h.translated("booking.new.at_limit_title"))) {
			t.Error("at the limit the booking page does not say so before the form")
		}
		if st, _, _ := h.post(aino, fmt.Sprintf("/booking/%d/cancel", ids[0]), url.Values{}); st != http.StatusSeeOther {
			t.Fatalf("cancel = %d", st)
		}
		_, body := h.get(aino, fmt.Sprintf("/booking/%d", ids[0]))
		again := fmt.Sprintf(`href="/booking?point=%d&amp;region=%d&amp;topic=rent_debt&amp;type=office"`, h.points["east"][0], h.regions["east"])
		if !strings.Contains(body, again) || !strings.Contains(body, templateEscape(h.translated("booking.show.book_again"))) {
			t.Errorf("the cancelled booking offers no book-again link %s", again)
		}
	})
}

// TestJSONBookingRefusesControlCharacters: a JSON booking follows the same
// rules as the form: a CR in the home-visit address is refused with a
// problem document naming the field, and nothing is booked.
func TestJSONBookingRefusesControlCharacters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *database.DB) {
		h := newHarness(t, db)
		aino := h.login(h.residents[0])
		form := h.officeForm(tuesday10)
		payload, err := json.Marshal(map[string]string{
			"topic": form.Get("topic"), "type": "home", "region": form.Get("region"), "slot": form.Get("slot"),
			"address": "Kotikatu 1\rDESCRIPTION:x", "message": "rivi 1\nrivi 2",
		})
		if err != nil {
			t.Fatal(err)
		}
		before := h.bookingCount()
		r := aino.request(http.MethodPost, "/booking", bytes.NewReader(payload))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json")
		st, body, hdr := h.do(r)
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%d %s: %v", st, body, err)
		}
		errs, _ := doc["errors"].(map[string]any)
		if st != http.StatusUnprocessableEntity || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") ||
			errs["address"] != h.fe.T("fi", "error.field.control") || errs["message"] != nil {
			t.Errorf("JSON booking with a CR in the address = %d %v", st, doc)
		}
		if after := h.bookingCount(); after != before {
			t.Errorf("bookings %d → %d", before, after)
		}
	})
}
