package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/internal/testenv"
)

var csrf = map[string]string{"X-Amf-Csrf": "1"}

// login posts the token to /v1/session and returns the session cookie
// the bridge set.
func (f *authFixture) login(t *testing.T, c *http.Client, tok string) *http.Cookie {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	req, _ := http.NewRequest("POST", f.url+"/v1/session", strings.NewReader(`{"token":"`+tok+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amf-Csrf", "1")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "amf_console_sid" {
			return ck
		}
	}
	t.Fatalf("login set no amf_console_sid cookie: %q", resp.Header.Values("Set-Cookie"))
	return nil
}

// withCookie sends a request carrying only the given cookie, as an
// attacker who copied it would.
func (f *authFixture) withCookie(t *testing.T, method, path string, ck *http.Cookie, hdr map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(method, f.url+path, nil)
	req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSessionCookieIsNotTheToken: what a login hands the browser is a
// random session id, not the token; it opens nothing as a bearer token,
// and the token is in no response header.
func TestSessionCookieIsNotTheToken(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "admin", "")
	ck := f.login(t, nil, tok)
	if strings.Contains(ck.Value, tok) || strings.Contains(tok, ck.Value) {
		t.Fatalf("the session cookie %q carries the token", ck.Value)
	}
	// amf_<id>_<secret>: the secret is base64url and may hold "_" itself.
	_, secret, _ := strings.Cut(strings.TrimPrefix(tok, "amf_"), "_")
	if len(secret) < 43 {
		t.Fatalf("token %q: secret %q is not the whole 256-bit secret", tok, secret)
	}
	if strings.Contains(ck.Value, secret) {
		t.Fatal("the session cookie carries the token's secret")
	}
	if len(ck.Value) < 43 {
		t.Fatalf("session id %q is shorter than 256 bits in base64url", ck.Value)
	}
	if a := f.do(t, nil, "GET", "/v1/tasks/nope", ck.Value, "", nil); a.status != 401 {
		t.Fatalf("the session id as a bearer token: %d, want 401", a.status)
	}
	if got := f.withCookie(t, "GET", "/v1/tasks/nope", ck, nil); got != 404 {
		t.Fatalf("the session id as the cookie: %d, want 404 (through)", got)
	}
	// The old cookie name carried a raw token; the bridge no longer
	// accepts one there.
	if got := f.withCookie(t, "GET", "/v1/tasks/nope", &http.Cookie{Name: "amf_session", Value: tok}, nil); got != 401 {
		t.Fatalf("a token in the old amf_session cookie: %d, want 401", got)
	}
	// A second login makes a different session.
	if ck2 := f.login(t, nil, tok); ck2.Value == ck.Value {
		t.Fatal("two logins got the same session id")
	}
}

// TestLogoutEndsTheSessionOnTheBridge: a cookie copied before logout is
// refused after it, even by a client that never cleared it.
func TestLogoutEndsTheSessionOnTheBridge(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "read", "")
	ck := f.login(t, nil, tok)
	other := f.login(t, nil, tok)
	if got := f.withCookie(t, "GET", "/v1/session", ck, nil); got != 200 {
		t.Fatalf("whoami before logout: %d", got)
	}
	if got := f.withCookie(t, "DELETE", "/v1/session", ck, nil); got != 403 {
		t.Fatalf("logout without the CSRF header: %d, want 403", got)
	}
	if got := f.withCookie(t, "GET", "/v1/session", ck, nil); got != 200 {
		t.Fatalf("a refused logout ended the session: %d", got)
	}
	if got := f.withCookie(t, "DELETE", "/v1/session", ck, csrf); got != 204 {
		t.Fatalf("logout: %d", got)
	}
	for _, path := range []string{"/v1/session", "/v1/tasks/nope", "/v1/workers"} {
		if got := f.withCookie(t, "GET", path, ck, nil); got != 401 {
			t.Fatalf("GET %s with the logged-out cookie: %d, want 401", path, got)
		}
	}
	if got := f.withCookie(t, "GET", "/v1/tasks/nope", other, nil); got != 404 {
		t.Fatalf("logging one browser out ended another session of the token: %d", got)
	}
}

// TestRevocationEndsConsoleSessions: revoking a token ends every
// session made from it, and a session follows its token's record.
func TestRevocationEndsConsoleSessions(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "read", "")
	keep := f.token(t, "read", "")
	ck := f.login(t, nil, tok)
	kept := f.login(t, nil, keep)
	if got := f.withCookie(t, "GET", "/v1/tasks/nope", ck, nil); got != 404 {
		t.Fatalf("before revocation: %d", got)
	}
	if got := f.withCookie(t, "DELETE", "/v1/tasks/nope", ck, csrf); got != 403 {
		t.Fatalf("a read session cancelling: %d, want 403 (the token's scopes apply)", got)
	}
	id, _ := tokens.IDOf(tok)
	if err := f.store.Revoke(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the revocation to end the session", func() bool {
		return f.withCookie(t, "GET", "/v1/tasks/nope", ck, nil) == 401
	})
	if got := f.withCookie(t, "GET", "/v1/session", ck, nil); got != 401 {
		t.Fatalf("whoami of a revoked token's session: %d, want 401", got)
	}
	if got := f.withCookie(t, "GET", "/v1/tasks/nope", kept, nil); got != 404 {
		t.Fatalf("another token's session after the revocation: %d", got)
	}
}

// TestSessionCookieIsSecureOverTLS: served over TLS, the cookie is
// Secure, so the browser never sends it over plain HTTP.
func TestSessionCookieIsSecureOverTLS(t *testing.T) {
	f := newAuthFixture(t, nil)
	ts := httptest.NewTLSServer(f.handler)
	t.Cleanup(ts.Close)
	tf := &authFixture{url: ts.URL, store: f.store, handler: f.handler}
	ck := tf.login(t, ts.Client(), f.token(t, "read", ""))
	if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Fatalf("cookie over TLS: Secure=%v HttpOnly=%v SameSite=%v Path=%q; want Secure, HttpOnly, Strict, /", ck.Secure, ck.HttpOnly, ck.SameSite, ck.Path)
	}
}
