package main

import (
	"context"

	"github.com/gofiber/fiber/v2"
)

// chatConfig is the chat's part of Config.
type chatConfig struct{}

func loadChatConfig(r *envReader) chatConfig { return chatConfig{} }

// wireChat builds the chat and mounts its routes.
func wireChat(app *fiber.App, d *deps) (func(context.Context) error, error) {
	return func(context.Context) error { return nil }, nil
}
