package exchange

import (
	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// UploadPath is the route of attachment uploads, whose bodies are
// streamed: the CSRF token is checked by the handler, from the first part.
const UploadPath = "/exchange/:id<int>/attachments"

// Register mounts every exchange route.
func (s *Service) Register(r fiber.Router, formLimit fiber.Handler) {
	resident := auth.RequireRole(auth.RoleResident)
	staff := auth.RequireRole(auth.RoleAdvisor, auth.RoleAdmin)
	if formLimit == nil {
		formLimit = func(c *fiber.Ctx) error { return c.Next() }
	}

	// Resident: start or continue, the steps, attachments, summary, send.
	r.Get("/exchange", resident, s.handleIndex)
	r.Post("/exchange", resident, formLimit, s.handleStart)
	r.Get("/exchange/:id<int>", resident, s.handleShow)
	r.Get("/exchange/:id<int>/copy.pdf", resident, s.handleCopy)
	r.Post(UploadPath, resident, s.handleUpload)
	r.Post("/exchange/:id<int>/attachments/:file<int>/delete", resident, s.handleDetach)
	r.Get("/exchange/:id<int>/attachments/:file<int>", resident, s.handleOwnDownload)
	r.Post("/exchange/:id<int>/send", resident, formLimit, s.handleSend)
	r.Get("/exchange/:id<int>/:step", resident, s.handleStep)
	// Saving a step is not rate-limited: a logged-in resident moves
	// through many of them, and each only rewrites their own draft.
	r.Post("/exchange/:id<int>/:step", resident, s.handleSaveStep)

	// Staff: the list, one application, assessment, forwarding, outcome,
	// the package and the attachments.
	r.Get("/desk/exchange", staff, s.handleDeskList)
	r.Get("/desk/exchange/:id<int>", staff, s.handleDeskShow)
	r.Post("/desk/exchange/:id<int>/assess", staff, s.handleAssess)
	r.Post("/desk/exchange/:id<int>/forward", staff, s.handleForward)
	r.Post("/desk/exchange/:id<int>/outcome", staff, s.handleOutcome)
	r.Get("/desk/exchange/:id<int>/package.pdf", staff, s.handlePackagePDF)
	r.Get("/desk/exchange/:id<int>/package.json", staff, s.handlePackageJSON)
	r.Get("/desk/exchange/:id<int>/attachments/:file<int>", staff, s.handleStaffDownload)
}
