package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/amf-os/amf/internal/testenv"
)

// TestBridgeForbidsFraming: the console and the API answer, whatever the
// status, with the headers that keep every other page, same-site ones
// included, from showing them in a frame.
func TestBridgeForbidsFraming(t *testing.T) {
	f := newAuthFixture(t, nil)
	tok := f.token(t, "read", "")
	for _, c := range []struct{ path, token string }{
		{"/", ""},
		{"/console/console.js", ""},
		{"/console/index.html", ""},
		{"/v1/session", ""},
		{"/v1/session", tok},
		{"/v1/tasks/nope", tok},
		{"/v1/workers", tok},
		{"/healthz", ""},
		{"/no-such-page", ""},
	} {
		a := f.do(t, nil, "GET", c.path, c.token, "", nil)
		if got := a.header.Values("X-Frame-Options"); len(got) != 1 || got[0] != "DENY" {
			t.Errorf("GET %s (%d): X-Frame-Options %q, want DENY", c.path, a.status, got)
		}
		if got := a.header.Values("Content-Security-Policy"); len(got) != 1 || !strings.Contains(got[0], "frame-ancestors 'none'") {
			t.Errorf("GET %s (%d): Content-Security-Policy %q, want one with frame-ancestors 'none'", c.path, a.status, got)
		}
	}
}

// TestConsoleRefusesToBeFramed: a page of another port on the same host
// (same site, so the console's cookie goes along) frames the console of
// a logged-in user, as a page that lays it invisibly under its own
// buttons would. The browser must not show the console in that frame.
func TestConsoleRefusesToBeFramed(t *testing.T) {
	chromium := testenv.NeedBinary(t, "chromium")
	f := newAuthFixture(t, nil)
	admin := f.token(t, "admin", "")
	ts := httptest.NewServer(f.handler)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>prize</title>
<button style="position:absolute;top:120px;left:900px">Claim your prize</button>
<iframe id="victim" src="%s/" style="opacity:0.01;position:absolute;top:0;left:0;width:1200px;height:800px"></iframe>
<script>document.getElementById("victim").addEventListener("load", () => { document.body.dataset.framed = "loaded"; });</script>`, ts.URL)
	}))
	t.Cleanup(func() {
		evil.CloseClientConnections()
		evil.Close()
	})

	browser := startBrowser(t, chromium, func(any) {})
	pg := &consolePage{t: t, ctx: browser}
	pg.do("log in to the console", 10*time.Second,
		chromedp.Navigate(ts.URL+"/#token="+admin),
		chromedp.WaitVisible(chromedp.CSS("#input")),
	)
	pg.do("open the framing page", 10*time.Second,
		chromedp.Navigate(evil.URL+"/"),
		chromedp.WaitReady(chromedp.CSS(`body[data-framed="loaded"]`)),
	)
	// The load event of a frame comes before its scripts have run; give
	// a console that did render the time to show its workspace.
	time.Sleep(time.Second)

	ctx, cancel := context.WithTimeout(browser, 5*time.Second)
	defer cancel()
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.FrameTree.ChildFrames) != 1 {
		t.Fatalf("the framing page has %d frames, want 1", len(tree.FrameTree.ChildFrames))
	}
	fr := tree.FrameTree.ChildFrames[0].Frame
	t.Logf("frame: url %q, unreachable %q", fr.URL, fr.UnreachableURL)
	world, err := chromedp.Call(ctx, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: fr.ID, WorldName: "look"})
	if err != nil {
		t.Fatalf("look into the frame: %v", err)
	}
	res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{
		Expression:    `JSON.stringify({url: location.href, console: !!document.querySelector("#input, #cancel, #login-token"), text: (document.body ? document.body.innerText : "").slice(0, 200)})`,
		ContextID:     world.ExecutionContextID,
		ReturnByValue: new(true),
	})
	if err != nil || res.ExceptionDetails != nil {
		t.Fatalf("look into the frame: %v %v", err, res.ExceptionDetails)
	}
	var raw string
	var inside struct {
		URL     string
		Console bool
		Text    string
	}
	if err := json.Unmarshal(res.Result.Value, &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &inside); err != nil {
		t.Fatal(err)
	}
	t.Logf("the frame holds %s", raw)
	if inside.Console || strings.HasPrefix(fr.URL, ts.URL) || strings.HasPrefix(inside.URL, ts.URL) {
		t.Errorf("the console rendered inside another site's frame: %s", raw)
	}
}
