package booking

import (
	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// Register mounts every booking route.
func (s *Service) Register(r fiber.Router, formLimit fiber.Handler) {
	resident := auth.RequireRole(auth.RoleResident)
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	if formLimit == nil {
		formLimit = func(c *fiber.Ctx) error { return c.Next() }
	}

	// Resident: find a free time and book it (form or JSON).
	r.Get("/booking", resident, s.handleNew)
	r.Post("/booking", resident, formLimit, s.handleCreate)
	// Resident: one booking (the confirmation page), cancel, move.
	r.Get("/booking/:id<int>", auth.RequireLogin(), s.handleShow)
	r.Get("/booking/:id<int>/cancel", resident, s.handleCancelForm) // asks to confirm
	r.Post("/booking/:id<int>/cancel", resident, s.handleCancel)
	r.Get("/booking/:id<int>/move", resident, s.handleMoveForm)
	r.Post("/booking/:id<int>/move", resident, formLimit, s.handleMove)

	// Staff: the calendar, booking on a resident's behalf, one booking and
	// its actions (cancel, move, done / no-show).
	r.Get("/desk/booking", staff, s.handleCalendar)
	r.Get("/desk/booking/new", staff, s.handleStaffNew)
	r.Post("/desk/booking/new/search", staff, s.handleStaffNew) // POST keeps names out of URLs
	r.Post("/desk/booking/new", staff, s.handleStaffCreate)
	r.Get("/desk/booking/:id<int>", staff, s.handleStaffShow)
	r.Post("/desk/booking/:id<int>/cancel", staff, s.handleStaffCancel)
	r.Post("/desk/booking/:id<int>/outcome", staff, s.handleOutcome)
	r.Get("/desk/booking/:id<int>/move", staff, s.handleStaffMoveForm)
	r.Post("/desk/booking/:id<int>/move", staff, s.handleStaffMove)

	// Staff: weekly windows, exceptions and blocked time.
	r.Get("/desk/availability", staff, s.handleAvailability)
	r.Post("/desk/availability/windows", staff, s.handleAddWindow)
	r.Post("/desk/availability/windows/:id<int>/delete", staff, s.handleDelete(s.store.DeleteWindow))
	r.Post("/desk/availability/exceptions", staff, s.handleAddException)
	r.Post("/desk/availability/exceptions/:id<int>/delete", staff, s.handleDelete(s.store.DeleteException))
}
