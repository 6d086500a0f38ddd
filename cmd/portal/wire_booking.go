package main

import (
	"context"

	"github.com/gofiber/fiber/v2"
)

// bookingConfig is the booking's part of Config.
type bookingConfig struct{}

func loadBookingConfig(r *envReader) bookingConfig { return bookingConfig{} }

// wireBooking builds the booking and mounts its routes.
func wireBooking(app *fiber.App, d *deps) (func(context.Context) error, error) {
	return func(context.Context) error { return nil }, nil
}
