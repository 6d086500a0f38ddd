package frontend

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/asumisneuvonta/asumisneuvonta-portal/auth"
)

// errorStatuses are the statuses with their own translated title and text;
// others fall back to 400 or 500.
var errorStatuses = [...]int{
	http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
	http.StatusMethodNotAllowed, http.StatusConflict, http.StatusRequestEntityTooLarge,
	http.StatusUnprocessableEntity,
	http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable,
}

// loginErrors are the messages of a login that did not go through; their
// pages offer to log in again.
var loginErrors = []string{auth.MsgLoginFailed, auth.MsgLoginCancelled, auth.MsgLoginUnavailable, auth.MsgLoginWeak}

func errorTitleKey(status int) string { return "error." + strconv.Itoa(status) + ".title" }
func errorBodyKey(status int) string  { return "error." + strconv.Itoa(status) + ".body" }

// ErrorData is the Data of pages/error.
type ErrorData struct {
	Status     int
	MessageKey string   // translation key of the text under the title
	FieldKeys  []string // translation keys of what is wrong with each field (422)
	// Login offers to start the login again: the page is about a login
	// that did not go through.
	Login bool
}

// ErrorPage renders the HDS error page with status: a translated title and
// text. messageKey is either a message key for the text, or the prefix of a
// pair "<prefix>.title" and "<prefix>.body" (such as "error.csrf"); "" or an
// unknown key gives the generic title and text of the status. Nothing of an
// underlying error reaches the page. Should the page itself fail to render, a
// plain-text status line is sent. fieldKeys, if any, are listed under the
// text (what was wrong with each field of a form that cannot be shown again).
func (f *Frontend) ErrorPage(c *fiber.Ctx, status int, messageKey string, fieldKeys ...string) error {
	known := errorStatusFor(status)
	titleKey, bodyKey := errorTitleKey(known), errorBodyKey(known)
	has := func(id string) bool { return f.catalog.ids[DefaultLang][id] }
	switch {
	case messageKey == "":
	case has(messageKey + ".body"):
		bodyKey = messageKey + ".body"
		if has(messageKey + ".title") {
			titleKey = messageKey + ".title"
		}
	case has(messageKey):
		bodyKey = messageKey
	}
	err := f.Render(c, status, "pages/error", Page{
		TitleKey: titleKey,
		Data: ErrorData{
			Status: status, MessageKey: bodyKey, FieldKeys: fieldKeys,
			Login: slices.Contains(loginErrors, messageKey),
		},
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
