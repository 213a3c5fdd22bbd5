package bridge

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// apiError is the one shape of every error the bridge returns:
//
//	{"error": {"code": "invalid_task", "message": "…what to change…"}}
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

func fail(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

// handleError renders any error a handler or Echo itself returns in the
// stable shape, so clients parse one format whatever went wrong.
func handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var ae *apiError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if s, ok := he.Message.(string); ok {
			msg = s
		}
		ae = fail(he.Code, codeFor(he.Code), msg)
	default:
		ae = fail(http.StatusInternalServerError, "internal", err.Error())
	}
	if ae.Status == http.StatusServiceUnavailable {
		// The kernel is away (restarting, or its cluster electing a
		// leader): say when to try again rather than leave clients guess.
		c.Response().Header().Set("Retry-After", retryAfter)
	}
	_ = c.JSON(ae.Status, map[string]*apiError{"error": ae})
}

// unavailable is the 503 of a read the kernel could not answer within
// the client's ride-through bound.
func unavailable(err error) *apiError {
	return fail(http.StatusServiceUnavailable, "unavailable", err.Error()+"; the kernel is away or its cluster is electing a leader: retry after "+retryAfter+"s")
}

// retryAfter is the Retry-After of a 503, in seconds: about as long as a
// JetStream cluster takes to elect a new leader.
const retryAfter = "2"

func codeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	}
	if status >= 500 {
		return "unavailable"
	}
	return "bad_request"
}
