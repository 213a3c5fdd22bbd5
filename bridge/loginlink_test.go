package bridge_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/internal/testenv"
)

// TestConsoleLoginLinkAsksBeforeSwitching: a #token= link carrying
// someone else's token, sent to a user logged in to the console, leaves
// the console theirs until they choose to switch, and shows both; with
// no session the link logs in at once; the header always names who the
// console is.
func TestConsoleLoginLinkAsksBeforeSwitching(t *testing.T) {
	chromium := testenv.NeedBinary(t, "chromium")
	f := newAuthFixture(t, nil)
	admin, adminID := namedToken(t, f, "ops admin", tokens.ScopeAdmin)
	visitor, visitorID := namedToken(t, f, "visitor", tokens.ScopeSubmit, tokens.ScopeRead)
	ts := httptest.NewServer(f.handler)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	errs := &pageErrors{}
	browser := startBrowser(t, chromium, errs.listen)
	pg := &consolePage{t: t, ctx: browser}

	// No session: the link logs in, and the header says as whom.
	pg.do("log in by the admin's link", 10*time.Second,
		chromedp.Navigate(ts.URL+"/#token="+admin),
		chromedp.WaitVisible(chromedp.CSS("#input")),
	)
	expectIdentity(pg, "#identity", "ops admin", adminID)
	if got := sessionToken(pg); got != adminID {
		t.Fatalf("logged in by the link as %q, want %q", got, adminID)
	}
	pg.do("run a command", 10*time.Second, chromedp.Click(chromedp.CSS("#as-command")))
	pg.submit("echo the admin's own task")
	pg.poll("the admin's task in the list", `document.querySelectorAll("#recent li").length === 1`)

	asked := func(how string) {
		t.Helper()
		if !switchOffered(pg) {
			t.Fatalf("%s: the console offered no switch; its session is now %q (the admin's is %q)", how, sessionToken(pg), adminID)
		}
		if got := sessionToken(pg); got != adminID {
			t.Fatalf("%s: the session became %q before any choice, want the admin's %q", how, got, adminID)
		}
		expectIdentity(pg, "#switch-current", "ops admin", adminID)
		expectIdentity(pg, "#switch-next", "visitor", visitorID)
		expectIdentity(pg, "#identity", "ops admin", adminID)
		if got, _ := pg.eval(`location.href`).(string); strings.Contains(got, "token") {
			t.Errorf("%s: the address still holds the token: %q", how, got)
		}
		pg.expectCount("#recent li", 1)
	}

	// The visitor's link opened afresh, as from a mail or a chat.
	pg.do("open the visitor's link", 10*time.Second,
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(ts.URL+"/#token="+visitor),
		chromedp.WaitVisible(chromedp.CSS("#input")),
	)
	asked("a fresh page")
	shots := os.Getenv("AMF_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	pg.screenshot(filepath.Join(shots, "console-switch-offered.png"))
	pg.do("stay the admin", 5*time.Second,
		chromedp.Click(chromedp.CSS("#switch-keep")),
		chromedp.WaitNotVisible(chromedp.CSS("#switch")),
	)
	if got := sessionToken(pg); got != adminID {
		t.Fatalf("after staying, the session is %q, want the admin's %q", got, adminID)
	}
	expectIdentity(pg, "#identity", "ops admin", adminID)

	// The same link followed inside the open console.
	pg.do("follow the visitor's link in the open console", 10*time.Second,
		chromedp.Navigate(ts.URL+"/#token="+visitor),
	)
	asked("the open console")
	pg.do("switch to the visitor", 5*time.Second,
		chromedp.Click(chromedp.CSS("#switch-confirm")),
		chromedp.WaitNotVisible(chromedp.CSS("#switch")),
	)
	pg.poll("the header to name the visitor", `document.querySelector("#identity .owner").textContent === "token:`+visitorID+`"`)
	expectIdentity(pg, "#identity", "visitor", visitorID)
	if got := sessionToken(pg); got != visitorID {
		t.Fatalf("after switching, the session is %q, want the visitor's %q", got, visitorID)
	}
	// What the admin's console remembered is not shown as the visitor's.
	pg.expectCount("#recent li", 0)
	if got := pg.eval(`localStorage.getItem("amf.recent")`); got != "[]" {
		t.Errorf("the admin's tasks are still remembered after the switch: %v", got)
	}

	// Logged out, the admin's link logs in again without asking.
	pg.do("log out", 10*time.Second,
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#login-token")),
	)
	pg.do("open the admin's link logged out", 10*time.Second,
		chromedp.Navigate("about:blank"),
		chromedp.Navigate(ts.URL+"/#token="+admin),
		chromedp.WaitVisible(chromedp.CSS("#input")),
	)
	if got := sessionToken(pg); got != adminID {
		t.Fatalf("logged out, the link logged in as %q, want %q", got, adminID)
	}
	if pg.eval(`document.querySelector("#switch").hidden`) != true {
		t.Error("a link with no session to replace asked to switch")
	}
	expectIdentity(pg, "#identity", "ops admin", adminID)
	if e := errs.all(); len(e) > 0 {
		t.Errorf("the page reported script errors:\n%s", strings.Join(e, "\n"))
	}
}

// TestConsoleFollowsASwitchInAnotherTab: when another tab of the browser
// switches the session to another token, a console already open says so
// and drops what it remembered of the previous one, and it names the
// token it believes it is on what it sends, so the bridge refuses its
// requests rather than run them as the other token.
func TestConsoleFollowsASwitchInAnotherTab(t *testing.T) {
	chromium := testenv.NeedBinary(t, "chromium")
	f := newAuthFixture(t, nil)
	admin, adminID := namedToken(t, f, "ops admin", tokens.ScopeAdmin)
	visitor, visitorID := namedToken(t, f, "visitor", tokens.ScopeSubmit, tokens.ScopeRead)
	posts := &taskPosts{next: f.handler}
	ts := httptest.NewServer(posts)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	errs := &pageErrors{}
	browser := startBrowser(t, chromium, errs.listen)
	first := &consolePage{t: t, ctx: browser}
	first.do("log in by the admin's link", 10*time.Second,
		chromedp.Navigate(ts.URL+"/#token="+admin),
		chromedp.WaitVisible(chromedp.CSS("#input")),
		chromedp.Click(chromedp.CSS("#as-command")),
	)
	first.submit("echo the admin's own task")
	first.poll("the admin's task in the list", `document.querySelectorAll("#recent li").length === 1`)
	if got := posts.all(); len(got) != 1 || got[0] != adminID {
		t.Errorf("the console's submissions named the tokens %q, want [%q]", got, adminID)
	}

	tab, closeTab := chromedp.NewContext(browser)
	t.Cleanup(closeTab)
	// The tab lives as long as the context of its first run.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a second tab: %v", err)
	}
	second := &consolePage{t: t, ctx: tab}
	second.do("open the visitor's link in another tab", 10*time.Second,
		chromedp.Navigate(ts.URL+"/#token="+visitor),
		chromedp.WaitVisible(chromedp.CSS("#switch")),
		chromedp.Click(chromedp.CSS("#switch-confirm")),
		chromedp.WaitNotVisible(chromedp.CSS("#switch")),
	)
	if got := sessionToken(second); got != visitorID {
		t.Fatalf("the switch left the session at %q, want %q", got, visitorID)
	}

	first.poll("the first tab to name the visitor", `document.querySelector("#identity .owner").textContent === "token:`+visitorID+`"`)
	if note := first.text("#identity-note"); !strings.Contains(note, "visitor") || !strings.Contains(note, "ops admin") {
		t.Errorf("the first tab explains the change as %q: want both identities", note)
	}
	first.expectCount("#recent li", 0)
	if e := errs.all(); len(e) > 0 {
		t.Errorf("the page reported script errors:\n%s", strings.Join(e, "\n"))
	}
}

// TestLoginKeepsAnotherTokensSession: a browser logged in as one token
// stays so when a login of another token does not say "replace"; a
// replacing login must come from the bridge's own origin.
func TestLoginKeepsAnotherTokensSession(t *testing.T) {
	f := newAuthFixture(t, nil)
	admin, adminID := namedToken(t, f, "ops admin", tokens.ScopeAdmin)
	visitor, visitorID := namedToken(t, f, "visitor", tokens.ScopeSubmit, tokens.ScopeRead)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	whoami := func() string {
		t.Helper()
		resp, err := c.Get(f.url + "/v1/session")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var info struct{ ID, Owner string }
		if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || resp.StatusCode != 200 {
			t.Fatalf("whoami: %d %v", resp.StatusCode, err)
		}
		// The console shows the owner; it names whose work a task is.
		if info.Owner != "token:"+info.ID {
			t.Errorf("the session of token %q is answered with owner %q", info.ID, info.Owner)
		}
		return info.ID
	}
	post := func(tok string, replace bool, origin string) answer {
		t.Helper()
		body := `{"token":"` + tok + `"}`
		if replace {
			body = `{"token":"` + tok + `","replace":true}`
		}
		hdr := map[string]string{"X-Amf-Csrf": "1"}
		if origin != "" {
			hdr["Origin"] = origin
		}
		return f.do(t, c, "POST", "/v1/session", "", body, hdr)
	}
	asAdmin, asVisitor := adminID, visitorID

	if a := post(admin, false, f.url); a.status != 200 {
		t.Fatalf("first login: %d %s", a.status, a.msg)
	}
	if got := whoami(); got != asAdmin {
		t.Fatalf("logged in as %q, want %q", got, asAdmin)
	}
	if a := post(visitor, false, f.url); a.status != 409 || a.code != "session_exists" {
		t.Fatalf("another token's login over a live session: %d %q, want 409 session_exists", a.status, a.code)
	}
	if got := whoami(); got != asAdmin {
		t.Fatalf("a refused login changed the session to %q", got)
	}
	if a := post(admin, false, f.url); a.status != 200 {
		t.Fatalf("the same token again: %d %s", a.status, a.msg)
	}
	if a := post(visitor, true, "http://127.0.0.1:1"); a.status != 403 || a.code != "csrf" {
		t.Fatalf("a replacing login from another origin: %d %q, want 403 csrf", a.status, a.code)
	}
	if got := whoami(); got != asAdmin {
		t.Fatalf("a refused login changed the session to %q", got)
	}
	if a := post(visitor, true, f.url); a.status != 200 {
		t.Fatalf("a replacing login: %d %s", a.status, a.msg)
	}
	if got := whoami(); got != asVisitor {
		t.Fatalf("after replacing, logged in as %q, want %q", got, asVisitor)
	}

	// A dead session is nothing to keep.
	ck := f.login(t, nil, admin)
	if got := f.withCookie(t, "DELETE", "/v1/session", ck, csrf); got != 204 {
		t.Fatalf("logout: %d", got)
	}
	req, _ := http.NewRequest("POST", f.url+"/v1/session", strings.NewReader(`{"token":"`+visitor+`"}`))
	req.Header.Set("X-Amf-Csrf", "1")
	req.AddCookie(ck)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("a login over a logged-out session: %d", resp.StatusCode)
	}
}

// TestCookieRequestAsAnotherTokenIsRefused: a console request that names
// the token its page shows is refused when the browser's session has
// become another token's; bearer requests do not use the header.
func TestCookieRequestAsAnotherTokenIsRefused(t *testing.T) {
	f := newAuthFixture(t, nil)
	admin, adminID := namedToken(t, f, "ops admin", tokens.ScopeAdmin)
	visitor, visitorID := namedToken(t, f, "visitor", tokens.ScopeSubmit, tokens.ScopeRead)
	ck := f.login(t, nil, visitor)
	as := func(id string) map[string]string {
		return map[string]string{"X-Amf-Csrf": "1", "X-Amf-Token-Id": id}
	}
	if got := f.withCookie(t, "GET", "/v1/tasks/nope", ck, as(adminID)); got != 409 {
		t.Fatalf("a read naming another token: %d, want 409", got)
	}
	if got := f.withCookie(t, "GET", "/v1/tasks/nope", ck, as(visitorID)); got != 404 {
		t.Fatalf("a read naming the session's token: %d, want 404 (through)", got)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(f.url)
	jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value}})
	c := &http.Client{Jar: jar}
	task := `{"command":"echo secret"}`
	if a := f.do(t, c, "POST", "/v1/tasks", "", task, as(adminID)); a.status != 409 || a.code != "session_changed" {
		t.Fatalf("a submission naming another token: %d %q, want 409 session_changed", a.status, a.code)
	}
	if a := f.do(t, c, "POST", "/v1/tasks", "", task, as(visitorID)); a.status != 202 {
		t.Fatalf("a submission naming the session's token: %d %s", a.status, a.msg)
	}
	if a := f.do(t, nil, "GET", "/v1/tasks/nope", admin, "", as(visitorID)); a.status != 404 {
		t.Fatalf("a bearer read with the header: %d, want 404 (through)", a.status)
	}
}

func namedToken(t *testing.T, f *authFixture, name string, scopes ...tokens.Scope) (token, id string) {
	t.Helper()
	tok, rec, err := f.store.Create(context.Background(), scopes, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	return tok, rec.ID
}

// expectIdentity checks that the box names the token and its owner.
func expectIdentity(p *consolePage, box, name, id string) {
	p.t.Helper()
	if got := p.text(box + " .name"); got != name {
		p.t.Errorf("%s names %q, want %q", box, got, name)
	}
	if got := p.text(box + " .owner"); got != "token:"+id {
		p.t.Errorf("%s shows owner %q, want %q", box, got, "token:"+id)
	}
	if p.eval(`(() => { const n = document.querySelector(`+jsString(box)+`); return !!n && n.getClientRects().length > 0 && getComputedStyle(n).visibility !== "hidden"; })()`) != true {
		p.t.Errorf("%s is not shown", box)
	}
}

// sessionToken is the id of the token the browser's console session is,
// as the bridge answers the page.
func sessionToken(p *consolePage) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/v1/session").then(r => r.json()).then(j => j.id || "")`, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("ask the bridge who the session is: %v", err)
	}
	return v
}

// switchOffered waits a while for the offer to switch to show.
func switchOffered(p *consolePage) bool {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const s = document.querySelector("#switch"); return !!s && !s.hidden; })()`, chromedp.WithPollingInterval(50*time.Millisecond)))
	return err == nil
}

// taskPosts records the token each console submission says it is made
// as.
type taskPosts struct {
	next http.Handler
	mu   sync.Mutex
	as   []string
}

func (l *taskPosts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/v1/tasks" {
		l.mu.Lock()
		l.as = append(l.as, r.Header.Get("X-Amf-Token-Id"))
		l.mu.Unlock()
	}
	l.next.ServeHTTP(w, r)
}

func (l *taskPosts) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.as...)
}
