package main

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/portal/cases"
)

// wireCases builds the client cases, mounts their routes and sections.
func wireCases(app *fiber.App, d *deps) (func(context.Context) error, error) {
	svc := cases.New(cases.Options{
		DB: d.db, Users: d.auth.Users(), Regions: d.regions, Frontend: d.fe, Audit: d.audit,
		Location: d.cfg.Location, Now: d.now, Log: d.log,
	})
	svc.Register(app)
	d.home.AddMySection(svc.MySection)
	d.desk.AddSection(svc.DeskSection)
	return func(context.Context) error { return nil }, nil
}
