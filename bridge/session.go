package bridge

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/bridge/tokens"
)

// sessionInfo is what the console learns about its login: never the
// token itself.
type sessionInfo struct {
	ID     string         `json:"id,omitempty"`
	Name   string         `json:"name,omitempty"`
	Scopes []tokens.Scope `json:"scopes"`
	Grants []string       `json:"grants,omitempty"`
	Open   bool           `json:"open,omitempty"`
}

func infoOf(r tokens.Record) sessionInfo {
	return sessionInfo{ID: r.ID, Name: r.Name, Scopes: r.Scopes, Grants: r.Grants}
}

// login exchanges a token for the console's session cookie. The token
// comes in a JSON body, never a URL, so it lands in no log or history.
func (s *Server) login(c echo.Context) error {
	if s.NoAuth {
		return c.JSON(http.StatusOK, sessionInfo{Open: true, Scopes: tokens.Scopes})
	}
	if c.Request().Header.Get(csrfHeader) == "" {
		return fail(http.StatusForbidden, "csrf", "a login must carry the "+csrfHeader+" header")
	}
	var body struct {
		Token string `json:"token"`
	}
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, 4096))
	if err != nil || json.Unmarshal(b, &body) != nil || body.Token == "" {
		return fail(http.StatusBadRequest, "bad_request", `send {"token":"amf_…"} as JSON`)
	}
	rec, err := s.Tokens.Verify(body.Token)
	if err != nil {
		return unauthorized(c, "the token is not valid: unknown, revoked or mistyped")
	}
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    body.Token,
		Path:     "/",
		HttpOnly: true,
		Secure:   c.Request().TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	return c.JSON(http.StatusOK, infoOf(rec))
}

// whoami tells the console whether it is logged in and as what.
func (s *Server) whoami(c echo.Context) error {
	if s.NoAuth {
		return c.JSON(http.StatusOK, sessionInfo{Open: true, Scopes: tokens.Scopes})
	}
	rec, _, err := s.identify(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, infoOf(rec))
}

// logout clears the session cookie. Revoking the token is what ends it
// everywhere; this ends it in one browser.
func (s *Server) logout(c echo.Context) error {
	if c.Request().Header.Get(csrfHeader) == "" {
		return fail(http.StatusForbidden, "csrf", "a logout must carry the "+csrfHeader+" header")
	}
	clearSession(c)
	return c.NoContent(http.StatusNoContent)
}

func clearSession(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}
