package bridge

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// TokenVerifier checks a bearer token; *tokens.Verifier implements it.
// Lookup finds a token's current record by its id, for console sessions.
type TokenVerifier interface {
	Verify(token string) (tokens.Record, error)
	Lookup(id string) (tokens.Record, error)
}

var _ TokenVerifier = (*tokens.Verifier)(nil)

const (
	// sessionCookie carries the console's session id, never a token: it
	// works only as a cookie on this bridge, dies at logout, expiry or the
	// token's revocation. HttpOnly, so no script reads it, and
	// SameSite=Strict, so no other site's page sends it.
	sessionCookie = "amf_console_sid"
	// legacyCookie held the raw token in older bridges; login and logout
	// expire it so no browser keeps one.
	legacyCookie = "amf_session"
	// csrfHeader must be on every cookie-authenticated request that
	// changes state. A page of another origin cannot set a custom header
	// without a CORS preflight, which the bridge does not grant it.
	csrfHeader = "X-Amf-Csrf"
	// asTokenHeader carries the id of the token the console shows itself
	// logged in as. Another tab of the same browser may have logged in
	// as another token since, which changes the cookie under this page:
	// a cookie request naming a different token is refused, so nothing
	// typed into a page runs as someone it does not show.
	asTokenHeader = "X-Amf-Token-Id"
	// tokenKey is where the caller's token record sits in the context.
	tokenKey = "amf.token"
)

// credential finds the caller's token, from the Authorization header,
// or else the console's session id from its cookie.
func credential(c echo.Context) (token string, viaCookie bool) {
	if h := c.Request().Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), false
		}
		return "", false
	}
	if ck, err := c.Cookie(sessionCookie); err == nil && ck.Value != "" {
		return ck.Value, true
	}
	return "", false
}

func unauthorized(c echo.Context, msg string) error {
	c.Response().Header().Set("WWW-Authenticate", `Bearer realm="amf"`)
	return fail(http.StatusUnauthorized, "unauthorized", msg)
}

// identify returns the caller's valid token record.
func (s *Server) identify(c echo.Context) (tokens.Record, bool, error) {
	tok, viaCookie := credential(c)
	if tok == "" {
		return tokens.Record{}, false, unauthorized(c, "this endpoint needs a token: send \"Authorization: Bearer <token>\" (issue one with `amf auth token create`; `amf up` writes an admin token in its state dir)")
	}
	if viaCookie {
		rec, err := s.sessionRecord(tok)
		if err != nil {
			clearSession(c)
			return tokens.Record{}, false, unauthorized(c, "the console session is over (logged out, expired, or its token revoked); log in again")
		}
		return rec, true, nil
	}
	rec, err := s.Tokens.Verify(tok)
	if err != nil {
		return tokens.Record{}, false, unauthorized(c, "the token is not valid: unknown, revoked or mistyped")
	}
	return rec, false, nil
}

// sessionRecord returns the current record of the token behind a live
// console session.
func (s *Server) sessionRecord(sid string) (tokens.Record, error) {
	id, ok := s.sessions.lookup(sid)
	if !ok {
		return tokens.Record{}, tokens.ErrInvalid
	}
	rec, err := s.Tokens.Lookup(id)
	if err != nil {
		// The token is revoked: the session is over for good.
		s.sessions.remove(sid)
	}
	return rec, err
}

// require is the route middleware that lets a request through only with
// a valid token carrying scope.
func (s *Server) require(scope tokens.Scope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if s.NoAuth {
				return next(c)
			}
			rec, viaCookie, err := s.identify(c)
			if err != nil {
				return err
			}
			if !rec.Has(scope) {
				return fail(http.StatusForbidden, "forbidden", fmt.Sprintf("this token lacks the %q scope; issue one that has it with `amf auth token create --scope %s`", scope, scope))
			}
			if viaCookie {
				if err := sameToken(c, rec); err != nil {
					return err
				}
				if !safeMethod(c.Request().Method) {
					if err := sameOrigin(c); err != nil {
						return err
					}
				}
			}
			c.Set(tokenKey, rec)
			// Every call for this request acts for the token's owner,
			// and a task naming no profile is given its pool's default
			// only when the token holds that profile's grant.
			r := c.Request()
			ctx := client.WithAccess(r.Context(), accessOf(rec))
			ctx = client.WithGrantCheck(ctx, func(policy string) error { return mayUsePolicy(rec, policy, false) })
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin is the CSRF check of cookie-authenticated requests: the
// custom header, and an Origin, when the browser sends one, that is this
// bridge's own.
func sameOrigin(c echo.Context) error {
	r := c.Request()
	if r.Header.Get(csrfHeader) == "" {
		return fail(http.StatusForbidden, "csrf", "a request authenticated by the session cookie must carry the "+csrfHeader+" header (the console sends it; scripts send Authorization: Bearer instead)")
	}
	return ownOrigin(r)
}

// ownOrigin refuses a request whose browser says it comes from a page
// of another origin than this bridge.
func ownOrigin(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return fail(http.StatusForbidden, "csrf", fmt.Sprintf("origin %q is not this bridge's; cookie-authenticated requests must come from the console itself", o))
		}
	}
	return nil
}

// sameToken refuses a cookie request made as another token than the
// session's (asTokenHeader); a request that names none passes.
func sameToken(c echo.Context, rec tokens.Record) error {
	want := c.Request().Header.Get(asTokenHeader)
	if want == "" || want == rec.ID {
		return nil
	}
	return fail(http.StatusConflict, "session_changed", fmt.Sprintf("this page acts as token %q, but the browser's console session is now token %q (logged in again in another tab or window); nothing was done: check who the console shows and send again", want, rec.ID))
}

// allowPolicy refuses a task whose policy profile is beyond what the
// submitting token was granted; named says whether the task named it
// (false: it is its pool's default, ResolvePolicy).
func (s *Server) allowPolicy(c echo.Context, t bus.Task, named bool) error {
	if s.NoAuth {
		return nil
	}
	rec, ok := c.Get(tokenKey).(tokens.Record)
	if !ok {
		return fail(http.StatusUnauthorized, "unauthorized", "no token on this request")
	}
	if err := mayUsePolicy(rec, t.Policy, named); err != nil {
		return err
	}
	if !rec.MayUseWorkspace(t.Workspace) {
		g := tokens.WorkspaceGrant + t.Workspace
		return fail(http.StatusForbidden, "workspace_not_granted", fmt.Sprintf("workspace %q needs the %q grant, which this token lacks (rule %s; `amf auth token create --grant %s`)", t.Workspace, g, bus.RuleGrant, g))
	}
	return nil
}

// mayUsePolicy refuses a profile beyond what rec was granted, in words
// for a task that named it or, named false, got it as its pool's
// default.
func mayUsePolicy(rec tokens.Record, policy string, named bool) error {
	switch {
	case rec.MayUse(policy):
		return nil
	case named:
		return fail(http.StatusForbidden, "policy_not_granted", fmt.Sprintf("policy %q needs the %q grant, which this token lacks (rule %s; tokens may ask for strict only unless granted more: `amf auth token create --grant %s`)", policy, policy, bus.RuleGrant, policy))
	}
	return fail(http.StatusForbidden, "policy_not_granted", fmt.Sprintf("the task names no policy, so it would run with its pool's default profile %q, which needs the %q grant this token lacks (rule %s): name \"policy\": %q, or use a token granted it (`amf auth token create --grant %s`)", policy, policy, bus.RuleGrant, bus.BasePolicy, policy))
}

// accessOf is what a token may see and touch: its own work, every
// owner's to read with read-all, every owner's with admin.
func accessOf(rec tokens.Record) bus.Access {
	return bus.Access{
		Owner:  bus.OwnerOfToken(rec.ID),
		SeeAll: rec.Has(tokens.ScopeReadAll),
		ActAll: rec.Has(tokens.ScopeAdmin),
	}
}
