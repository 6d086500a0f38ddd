package contact

import (
	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// Register mounts every contact request route. formLimit limits sending
// per client address (c.IP(), which honours X-Forwarded-For only from
// PORTAL_TRUSTED_PROXIES).
func (s *Service) Register(r fiber.Router, formLimit fiber.Handler) {
	resident := auth.RequireRole(auth.RoleResident)
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	if formLimit == nil {
		formLimit = func(c *fiber.Ctx) error { return c.Next() }
	}

	// Anyone: the form, sending it, the confirmation. /contact/self is the
	// form for a resident about themself, after logging in.
	r.Get("/contact", s.handleForm)
	r.Get("/contact/self", resident, s.handleForm)
	r.Post("/contact", formLimit, s.handleSubmit)
	r.Get("/contact/sent", s.handleSent)

	// Staff: the inbox, one request, assigning, attempts, the outcome.
	r.Get("/desk/contact", staff, s.handleDeskList)
	r.Get("/desk/contact/:id<int>", staff, s.handleDeskShow)
	r.Post("/desk/contact/:id<int>/assign", staff, s.handleAssign)
	r.Post("/desk/contact/:id<int>/attempts", staff, s.handleAttempt)
	r.Post("/desk/contact/:id<int>/close", staff, s.handleClose)
}
