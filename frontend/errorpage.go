package frontend

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
)

// errorStatuses are the statuses with their own translated title and text;
// others fall back to 400 or 500.
var errorStatuses = [...]int{
	http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
	http.StatusMethodNotAllowed, http.StatusConflict, http.StatusRequestEntityTooLarge,
	http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable,
}

func errorTitleKey(status int) string { return "error." + strconv.Itoa(status) + ".title" }
func errorBodyKey(status int) string  { return "error." + strconv.Itoa(status) + ".body" }

// ErrorData is the Data of pages/error.
type ErrorData struct {
	Status     int
	MessageKey string // translation key of the text under the title
}

// ErrorPage renders the HDS error page with status: a translated title for
// the status and the message of messageKey, or the status's generic text
// where messageKey is "". Nothing of an underlying error reaches the page.
// Should the page itself fail to render, a plain-text status line is sent.
func (f *Frontend) ErrorPage(c *fiber.Ctx, status int, messageKey string) error {
	known := errorStatusFor(status)
	if messageKey == "" || !f.catalog.ids[DefaultLang][messageKey] {
		messageKey = errorBodyKey(known)
	}
	err := f.Render(c, status, "pages/error", Page{
		TitleKey: errorTitleKey(known),
		Data:     ErrorData{Status: status, MessageKey: messageKey},
	})
	if err != nil {
		f.log.Error("frontend: render error page", "status", status, "err", err)
		c.Status(status)
		c.Type("txt", "utf-8")
		return c.SendString(strconv.Itoa(status) + " " + http.StatusText(status))
	}
	return nil
}

// errorStatusFor maps a status to one that has translations.
func errorStatusFor(status int) int {
	for _, s := range errorStatuses {
		if s == status {
			return s
		}
	}
	if status >= 400 && status < 500 {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
