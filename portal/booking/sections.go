package booking

import (
	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
	"github.com/asumisneuvonta/asumisneuvonta-portal/frontend"
	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/audit"
)

// MySectionData is the Data of booking/my-section.
type MySectionData struct {
	frontend.Translator
	Upcoming []View
	Past     []View
}

// MySection is the resident's block on "Oma asiointi": upcoming and past
// appointments. It is a frontend.SectionFunc.
func (s *Service) MySection(c *fiber.Ctx) (frontend.Section, error) {
	u := auth.CurrentUser(c)
	lang := frontend.Lang(c)
	d := MySectionData{Translator: s.fe.Translator(lang)}
	sec := frontend.Section{TitleKey: "booking.my.title", Template: "booking/my-section", Data: &d, Lang: lang}
	if u == nil || u.Role != auth.RoleResident {
		return sec, nil
	}
	ctx := c.UserContext()
	vw := s.viewer(ctx, lang)
	for _, upcoming := range []bool{true, false} {
		limit := 20
		if !upcoming {
			limit = 10
		}
		list, err := s.store.ForResident(ctx, u.ID, s.now(), upcoming, limit)
		if err != nil {
			return sec, err
		}
		for i := range list {
			v, err := vw.view(&list[i], "", "/booking/")
			if err != nil {
				return sec, err
			}
			if upcoming {
				d.Upcoming = append(d.Upcoming, v)
			} else {
				d.Past = append(d.Past, v)
			}
		}
	}
	return sec, nil
}

// DeskSectionData is the Data of booking/desk-section.
type DeskSectionData struct {
	frontend.Translator
	Today []View
}

// DeskSection is the staff member's block on the desk: their own
// appointments today. It is a frontend.SectionFunc. Each appointment names
// a resident, so each is written to the access log.
func (s *Service) DeskSection(c *fiber.Ctx) (frontend.Section, error) {
	u := auth.CurrentUser(c)
	lang := frontend.Lang(c)
	d := DeskSectionData{Translator: s.fe.Translator(lang)}
	sec := frontend.Section{TitleKey: "booking.desk.title", Template: "booking/desk-section", Data: &d, Lang: lang}
	if u == nil || !u.Role.Staff() {
		return sec, nil
	}
	ctx := c.UserContext()
	from := dayStart(s.now(), s.loc)
	entries, err := s.entries(ctx, from, nextDay(from, s.loc), false, u.ID)
	if err != nil {
		return sec, err
	}
	vw := s.viewer(ctx, lang)
	for i := range entries {
		e := &entries[i]
		if err := s.audit.Record(c.UserContext(), e.ResidentID, audit.BookingView, resource(e.ID), audit.ReasonDeskToday); err != nil {
			return sec, err
		}
		v, err := vw.view(&e.Booking, e.ResidentName, "/desk/booking/")
		if err != nil {
			return sec, err
		}
		d.Today = append(d.Today, v)
	}
	return sec, nil
}
