package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// authFixture is a real kernel, the token bucket, and a bridge that
// checks tokens from a watch of it.
type authFixture struct {
	k       *kerneltest.Kernel
	url     string
	store   *tokens.Store
	handler http.Handler
}

func newAuthFixture(t *testing.T, tune func(*bridge.Server)) *authFixture {
	t.Helper()
	k := kerneltest.Start(t)
	store, v := openTokens(t, k.JS)
	roster := &client.Roster{NC: k.NC}
	if err := roster.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(roster.Stop)
	s := &bridge.Server{NC: k.NC, Tokens: v, Workers: roster, Logger: kerneltest.Logger(t), KeepAlive: 200 * time.Millisecond}
	if tune != nil {
		tune(s)
	}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &authFixture{k: k, url: ts.URL, store: store, handler: h}
}

func (f *authFixture) token(t *testing.T, scopes string, grants string) string {
	t.Helper()
	sc, err := tokens.ParseScopes(scopes)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := tokens.ParseGrants(grants)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := f.store.Create(context.Background(), sc, gr, "test "+scopes)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type answer struct {
	status int
	code   string
	msg    string
	header http.Header
}

func (f *authFixture) do(t *testing.T, c *http.Client, method, path, token, body string, hdr map[string]string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, f.url+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "" && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		var e apiErr
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("%s %s: error body is not the JSON error shape: %v", method, path, err)
		}
		a.code, a.msg = e.Error.Code, e.Error.Message
	}
	return a
}

// TestTokenScopeTable tries every endpoint with no token, a wrong one,
// and a token of each scope: 401 without a valid token, 403 naming the
// scope when it is missing, through when present.
func TestTokenScopeTable(t *testing.T) {
	f := newAuthFixture(t, nil)
	toks := map[string]string{}
	for _, s := range []string{"submit", "read", "cancel", "admin"} {
		toks[s] = f.token(t, s, "")
	}
	real := toks["read"]
	toks["none"] = ""
	toks["malformed"] = "not-a-token"
	toks["wrong secret"] = real[:len(real)-4] + "AAAA"
	toks["unknown id"] = "amf_0123456789abcdef_" + real[len(real)-43:]

	endpoints := []struct {
		method, path, body string
		scope              string // "" = open to anyone
	}{
		{"POST", "/v1/tasks", `{"command":"echo hi"}`, "submit"},
		{"GET", "/v1/tasks", "", "read"},
		{"GET", "/v1/tasks/nope", "", "read"},
		{"GET", "/v1/tasks/nope/events", "", "read"},
		{"GET", "/v1/workers", "", "read"},
		{"DELETE", "/v1/tasks/nope", "", "cancel"},
		{"GET", "/metrics", "", "read"},
		{"GET", "/v1/session", "", "any"},
		{"GET", "/healthz", "", ""},
		{"GET", "/", "", ""},
	}
	for _, ep := range endpoints {
		for who, tok := range toks {
			t.Run(ep.method+" "+ep.path+" as "+who, func(t *testing.T) {
				a := f.do(t, nil, ep.method, ep.path, tok, ep.body, nil)
				valid := who == "submit" || who == "read" || who == "cancel" || who == "admin"
				switch {
				case ep.scope == "":
					if a.status == 401 || a.status == 403 {
						t.Fatalf("open endpoint answered %d", a.status)
					}
				case !valid:
					if a.status != 401 || a.code != "unauthorized" || a.header.Get("WWW-Authenticate") == "" {
						t.Fatalf("got %d %q, want 401 unauthorized with WWW-Authenticate", a.status, a.code)
					}
				case ep.scope == "any" || who == "admin" || who == ep.scope:
					if a.status == 401 || a.status == 403 {
						t.Fatalf("got %d %q (%s), want through", a.status, a.code, a.msg)
					}
				default:
					if a.status != 403 || a.code != "forbidden" || !strings.Contains(a.msg, `"`+ep.scope+`" scope`) {
						t.Fatalf("got %d %q (%s), want 403 naming the %q scope", a.status, a.code, a.msg, ep.scope)
					}
				}
			})
		}
	}
}

// TestPolicyGrantOverHTTP: strict (and the worker default) for every
// submitter; network and trusted only with the grant.
func TestPolicyGrantOverHTTP(t *testing.T) {
	f := newAuthFixture(t, nil)
	holders := map[string]string{
		"no grant":        f.token(t, "submit", ""),
		"network":         f.token(t, "submit", "network"),
		"network,trusted": f.token(t, "submit", "network,trusted"),
		"admin":           f.token(t, "admin", ""),
	}
	allowed := map[string][]string{
		"no grant":        {"", "strict"},
		"network":         {"", "strict", "network"},
		"network,trusted": {"", "strict", "network", "trusted"},
		"admin":           {"", "strict", "network", "trusted"},
	}
	for who, tok := range holders {
		for _, p := range []string{"", "strict", "network", "trusted"} {
			t.Run(who+" asks "+p, func(t *testing.T) {
				body := `{"command":"echo hi"}`
				if p != "" {
					body = `{"command":"echo hi","policy":"` + p + `"}`
				}
				a := f.do(t, nil, "POST", "/v1/tasks", tok, body, nil)
				want := false
				for _, ok := range allowed[who] {
					want = want || ok == p
				}
				if want && a.status != http.StatusAccepted {
					t.Fatalf("got %d %s, want 202", a.status, a.msg)
				}
				if !want && (a.status != 403 || a.code != "policy_not_granted" || !strings.Contains(a.msg, `"`+p+`" grant`) || !strings.Contains(a.msg, "policy-grant")) {
					t.Fatalf("got %d %q %q, want 403 policy_not_granted naming the rule and the %q grant", a.status, a.code, a.msg, p)
				}
			})
		}
	}
}

// TestEveryRefusedEnvNameOverHTTP: 400 naming the variable, nothing
// queued.
func TestEveryRefusedEnvNameOverHTTP(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "submit", "")
	for _, n := range append(bus.RefusedEnvNames(), "BASH_FUNC_ls%%") {
		if strings.HasSuffix(n, "_") && n != "_JAVA_OPTIONS" {
			n += "X"
		}
		body, _ := json.Marshal(map[string]any{"command": "ls", "env": map[string]string{n: "() { id; }"}})
		a := f.do(t, nil, "POST", "/v1/tasks", tok, string(body), nil)
		if a.status != 400 || a.code != "invalid_task" || !strings.Contains(a.msg, n) {
			t.Errorf("env %s: got %d %q %q, want 400 invalid_task naming it", n, a.status, a.code, a.msg)
		}
	}
}

// TestRevocationIsImmediate: a revoked token stops working on the
// bridge without a restart.
func TestRevocationIsImmediate(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "read", "")
	if a := f.do(t, nil, "GET", "/v1/tasks/nope", tok, "", nil); a.status != 404 {
		t.Fatalf("before revocation: %d", a.status)
	}
	id, _ := tokens.IDOf(tok)
	if err := f.store.Revoke(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the revocation to reach the bridge", func() bool {
		return f.do(t, nil, "GET", "/v1/tasks/nope", tok, "", nil).status == 401
	})
	if err := f.store.Revoke(context.Background(), id); err == nil {
		t.Fatal("revoking twice should say the token is gone")
	}
}

// TestSessionCookieAndCSRF: the console's login sets an HttpOnly,
// SameSite=Strict session cookie (not Secure over plain HTTP); state
// changes by cookie need the custom header and the bridge's own origin.
func TestSessionCookieAndCSRF(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "submit,read", "")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	login := `{"token":"` + tok + `"}`
	if a := f.do(t, c, "POST", "/v1/session", "", login, nil); a.status != 403 || a.code != "csrf" {
		t.Fatalf("login without the header: %d %q", a.status, a.code)
	}
	if a := f.do(t, c, "POST", "/v1/session", "", `{"token":"amf_0123456789abcdef_`+strings.Repeat("A", 43)+`"}`, map[string]string{"X-Amf-Csrf": "1"}); a.status != 401 {
		t.Fatalf("login with a wrong token: %d", a.status)
	}
	a := f.do(t, c, "POST", "/v1/session", "", login, map[string]string{"X-Amf-Csrf": "1"})
	if a.status != 200 {
		t.Fatalf("login: %d %s", a.status, a.msg)
	}
	sc := a.header.Get("Set-Cookie")
	for _, want := range []string{"amf_console_sid=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Fatalf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Fatalf("Set-Cookie %q is Secure over plain HTTP, so no browser would send it back", sc)
	}
	if a := f.do(t, c, "GET", "/v1/tasks/nope", "", "", nil); a.status != 404 {
		t.Fatalf("read with the cookie: %d %s", a.status, a.msg)
	}
	task := `{"command":"echo hi"}`
	if a := f.do(t, c, "POST", "/v1/tasks", "", task, nil); a.status != 403 || a.code != "csrf" {
		t.Fatalf("cookie POST without the header: %d %q, want 403 csrf", a.status, a.code)
	}
	if a := f.do(t, c, "POST", "/v1/tasks", "", task, map[string]string{"X-Amf-Csrf": "1", "Origin": "http://evil.example"}); a.status != 403 || a.code != "csrf" {
		t.Fatalf("cookie POST from another origin: %d %q, want 403 csrf", a.status, a.code)
	}
	if a := f.do(t, c, "POST", "/v1/tasks", "", task, map[string]string{"X-Amf-Csrf": "1", "Origin": f.url}); a.status != 202 {
		t.Fatalf("cookie POST from the console: %d %s", a.status, a.msg)
	}
	if a := f.do(t, c, "DELETE", "/v1/session", "", "", map[string]string{"X-Amf-Csrf": "1"}); a.status != 204 {
		t.Fatalf("logout: %d", a.status)
	}
	if a := f.do(t, c, "GET", "/v1/tasks/nope", "", "", nil); a.status != 401 {
		t.Fatalf("read after logout: %d", a.status)
	}
}

// TestMetricsAndCORSConfig: /metrics open when configured; CORS headers
// only for configured origins.
func TestMetricsAndCORSConfig(t *testing.T) {
	closed := newAuthFixture(t, nil)
	if a := closed.do(t, nil, "GET", "/metrics", "", "", nil); a.status != 401 {
		t.Fatalf("metrics by default: %d, want 401", a.status)
	}
	pre := map[string]string{"Origin": "https://ops.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
	if a := closed.do(t, nil, "OPTIONS", "/v1/tasks", "", "", pre); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS granted without configuration: %v", a.header)
	}
	open := newAuthFixture(t, func(s *bridge.Server) {
		s.MetricsOpen = true
		s.CORSOrigins = []string{"https://ops.example"}
	})
	if a := open.do(t, nil, "GET", "/metrics", "", "", nil); a.status != 200 {
		t.Fatalf("open metrics: %d", a.status)
	}
	if a := open.do(t, nil, "OPTIONS", "/v1/tasks", "", "", pre); a.header.Get("Access-Control-Allow-Origin") != "https://ops.example" || a.header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight of a configured origin: %d %v", a.status, a.header)
	}
	pre["Origin"] = "https://evil.example"
	if a := open.do(t, nil, "OPTIONS", "/v1/tasks", "", "", pre); a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS granted to another origin: %v", a.header)
	}
	scoped := newAuthFixture(t, func(s *bridge.Server) { s.MetricsScope = tokens.ScopeAdmin })
	if a := scoped.do(t, nil, "GET", "/metrics", scoped.token(t, "read", ""), "", nil); a.status != 403 {
		t.Fatalf("metrics needing admin, with read: %d", a.status)
	}
}

// TestBridgeRunsOnce: a second Run is an error, not a panic.
func TestBridgeRunsOnce(t *testing.T) {
	k := kerneltest.Start(t)
	s := &bridge.Server{NC: k.NC, NoAuth: true, Listen: "127.0.0.1:0", Logger: kerneltest.Logger(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Ready()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != bridge.ErrRunTwice {
		t.Fatalf("second Run: %v, want ErrRunTwice", err)
	}
	if _, err := (&bridge.Server{NC: k.NC}).Handler(); err == nil {
		t.Fatal("a bridge without Tokens or NoAuth should refuse to build")
	}
}
