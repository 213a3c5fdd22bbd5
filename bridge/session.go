package bridge

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/bus"
)

// sessionInfo is what the console learns about its login: never the
// token itself. Owner is whose work the console's requests make and
// see; the console shows it at all times.
type sessionInfo struct {
	ID     string         `json:"id,omitempty"`
	Name   string         `json:"name,omitempty"`
	Owner  bus.Owner      `json:"owner,omitempty"`
	Scopes []tokens.Scope `json:"scopes"`
	Grants []string       `json:"grants,omitempty"`
	Open   bool           `json:"open,omitempty"`
}

func infoOf(r tokens.Record) sessionInfo {
	return sessionInfo{ID: r.ID, Name: r.Name, Owner: bus.OwnerOfToken(r.ID), Scopes: r.Scopes, Grants: r.Grants}
}

// login exchanges a token for a console session: a random id in a
// cookie that the bridge maps to the token's id. The token comes in a
// JSON body, never a URL, so it lands in no log or history, and it is
// never sent back.
//
// A browser whose live session is another token's keeps it unless the
// login says "replace": true. A login link is only a URL anyone may send,
// and a page that followed one carrying the sender's token would
// otherwise turn a logged-in user's console into the sender's account
// unseen, their next task, secrets and all, readable by the sender.
func (s *Server) login(c echo.Context) error {
	if s.NoAuth {
		return c.JSON(http.StatusOK, sessionInfo{Open: true, Scopes: tokens.Scopes})
	}
	if c.Request().Header.Get(csrfHeader) == "" {
		return fail(http.StatusForbidden, "csrf", "a login must carry the "+csrfHeader+" header")
	}
	if err := ownOrigin(c.Request()); err != nil {
		return err
	}
	var body struct {
		Token   string `json:"token"`
		Replace bool   `json:"replace"`
	}
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, 4096))
	if err != nil || json.Unmarshal(b, &body) != nil || body.Token == "" {
		return fail(http.StatusBadRequest, "bad_request", `send {"token":"amf_…"} as JSON`)
	}
	rec, err := s.Tokens.Verify(body.Token)
	if err != nil {
		return unauthorized(c, "the token is not valid: unknown, revoked or mistyped")
	}
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" && !body.Replace {
		if cur, err := s.sessionRecord(ck.Value); err == nil && cur.ID != rec.ID {
			return fail(http.StatusConflict, "session_exists", fmt.Sprintf("this browser is logged in to the console as token %q; a login as another token replaces that session only when it says \"replace\": true (the console asks first)", cur.ID))
		}
	}
	sid, err := s.sessions.create(rec.ID)
	if err != nil {
		return fmt.Errorf("start a console session: %w", err)
	}
	if ck, err := c.Cookie(sessionCookie); err == nil {
		s.sessions.remove(ck.Value)
	}
	clearLegacy(c)
	c.SetCookie(&http.Cookie{
		Name:     sessionCookie,
		Value:    sid,
		Path:     "/",
		MaxAge:   int(s.sessions.lifetime / time.Second),
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

// logout ends the session on the bridge, so its cookie is worthless
// even if copied, and clears the cookie. Revoking the token ends every
// session made from it.
func (s *Server) logout(c echo.Context) error {
	if c.Request().Header.Get(csrfHeader) == "" {
		return fail(http.StatusForbidden, "csrf", "a logout must carry the "+csrfHeader+" header")
	}
	if ck, err := c.Cookie(sessionCookie); err == nil && s.sessions != nil {
		s.sessions.remove(ck.Value)
	}
	clearSession(c)
	clearLegacy(c)
	return c.NoContent(http.StatusNoContent)
}

func clearSession(c echo.Context) { expireCookie(c, sessionCookie) }

func clearLegacy(c echo.Context) {
	if _, err := c.Cookie(legacyCookie); err == nil {
		expireCookie(c, legacyCookie)
	}
}

func expireCookie(c echo.Context, name string) {
	c.SetCookie(&http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.Request().TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}
