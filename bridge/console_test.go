package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/sandbox"
	"github.com/amf-os/amf/workers"
)

// TestConsoleInABrowser drives the web console in headless Chromium against
// a real kernel, bridge and worker: what a person sees is what the test
// checks. The tasks are explicit commands, so no model is needed.
//
// Screenshots go to a temporary directory, or to AMF_SCREENSHOT_DIR when
// set, to look at the page after a run.
func TestConsoleInABrowser(t *testing.T) {
	chromium := testenv.NeedBinary(t, "chromium")

	k := kerneltest.Start(t)
	roster := &client.Roster{NC: k.NC}
	if err := roster.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(roster.Stop)
	store, err := tokens.Open(context.Background(), k.JS, bus.Names{}, true)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := store.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(verifier.Stop)
	token, rec, err := store.Create(context.Background(), []tokens.Scope{tokens.ScopeSubmit, tokens.ScopeRead, tokens.ScopeCancel}, nil, "console test")
	if err != nil {
		t.Fatal(err)
	}
	s := &bridge.Server{NC: k.NC, Tokens: verifier, Workers: roster, Logger: kerneltest.Logger(t), KeepAlive: time.Second}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	streams := &streamLog{next: h, opened: map[string][]string{}}
	ts := httptest.NewServer(streams)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})

	const workerID = "console-test-worker"
	// The page is under test here, not confinement: the host backend
	// runs the commands.
	runner, err := sandbox.NewHost(sandbox.Config{StateDir: t.TempDir(), Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	startConsoleWorker(t, workers.Config{
		NC:           k.NC,
		ID:           workerID,
		Concurrency:  2,
		Heartbeat:    300 * time.Millisecond,
		Grace:        time.Second,
		Logger:       kerneltest.Logger(t),
		SolverConfig: workers.SolverConfig{Runner: runner},
	})

	shots := os.Getenv("AMF_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	scriptErrors := &pageErrors{}
	browser := startBrowser(t, chromium, scriptErrors.listen)
	page := &consolePage{t: t, ctx: browser}

	// Without a session the page asks for a token and shows nothing else;
	// a wrong one is refused.
	page.do("open the console logged out", 10*time.Second,
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#login-token")),
		chromedp.SendKeys(chromedp.CSS("#login-token"), "amf_0123456789abcdef_"+strings.Repeat("A", 43)),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")),
	)
	if page.eval(`getComputedStyle(document.querySelector("main")).display`) != "none" {
		t.Errorf("the console shows its workspace before login")
	}
	if got := page.text("#login-error"); !strings.Contains(got, "not valid") {
		t.Errorf("a wrong token was answered with %q", got)
	}
	page.screenshot(filepath.Join(shots, "console-login.png"))

	// The link `amf up` prints logs in: the token leaves the address,
	// and the session cookie is out of every script's reach.
	page.do("open the console by its login link", 10*time.Second,
		chromedp.Navigate(ts.URL+"/#token="+token),
		chromedp.WaitVisible(chromedp.CSS("#input")),
		chromedp.WaitVisible(chromedp.CSS(`#health[data-status="ok"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#workers tr[data-worker="`+workerID+`"]`)),
		chromedp.Click(chromedp.CSS("#as-command")),
	)
	if got := page.eval(`location.href`); got != ts.URL+"/" {
		t.Errorf("the address still holds the token after login: %v", got)
	}
	if got := page.eval(`document.cookie`); got != "" {
		t.Errorf("a script can read the session cookie: %q", got)
	}

	// A command that writes to both streams and succeeds.
	page.submit("echo hello; echo oops >&2; exit 0")
	page.waitState("done")
	first := page.text("#task-id")
	page.expectLines("stdout", "hello", 1)
	page.expectLines("stderr", "oops", 1)
	page.expectCount(`#log .ev.exec-end[data-exit-code="0"]`, 1)
	if differ := page.eval(`(() => {
		const out = document.querySelector("#log .line.stdout"), errl = document.querySelector("#log .line.stderr");
		return getComputedStyle(out).color !== getComputedStyle(errl).color;
	})()`); differ != true {
		t.Errorf("stderr lines should be styled apart from stdout")
	}
	page.screenshot(filepath.Join(shots, "console-done.png"))

	// A failing command: the failed badge, its reason and the exit code.
	// Its output is markup, which must stay text.
	page.submit("echo '<b>bold</b>'; exit 3")
	page.waitState("failed")
	page.expectCount(`#log .ev.exec-end[data-exit-code="3"]`, 1)
	page.expectLines("stdout", "<b>bold</b>", 1)
	page.expectCount("#task b, #recent b", 0)
	if reason := page.text("#task-reason"); !strings.Contains(reason, "exit code 3") {
		t.Errorf("failed reason %q should give the exit code", reason)
	}

	// A long command: the stream is cut under the page, EventSource
	// reconnects with Last-Event-ID, and the Cancel button ends the task.
	page.submit("echo started; sleep 30")
	page.poll("the first output line", `[...document.querySelectorAll("#log .line.stdout")].some(n => n.textContent === "started")`)
	long := page.text("#task-id")
	ts.CloseClientConnections()
	testenv.Eventually(t, "the console to reconnect", func() bool { return len(streams.opens(long)) >= 2 })
	page.do("cancel", 10*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`#task[data-stream="open"]`)),
		chromedp.Click(chromedp.CSS("#cancel")),
	)
	page.waitState("cancelled")
	page.screenshot(filepath.Join(shots, "console-cancelled.png"))
	page.expectLines("stdout", "started", 1)
	page.expectCount("#log .ev.command", 1)
	if opens := streams.opens(long); len(opens) != 2 || opens[0] != "" || opens[1] == "" {
		t.Errorf("streams of the cancelled task opened with Last-Event-ID %q: want one fresh start and one resume", opens)
	}
	if page.eval(`getComputedStyle(document.querySelector("#cancel")).display`) != "none" {
		t.Errorf("Cancel is still offered after the task was cancelled")
	}

	// What only the model produces, scripted onto the bus as a worker
	// would publish it: tokens, a rejection, a retry and the answer.
	const scripted = "scripted-instruction"
	steps := scriptedEvents(scripted, bus.OwnerOfToken(rec.ID))
	publish(t, k, steps[:7])
	page.do("open a task by its link", 10*time.Second,
		chromedp.Navigate(ts.URL+"/#task="+scripted),
		chromedp.WaitVisible(chromedp.CSS("#log .ev.rejected")),
	)
	publish(t, k, steps[7:])
	page.waitState("done")
	if got := page.text("#task-title"); got != "how much disk is free?" {
		t.Errorf("title %q", got)
	}
	page.expectCount("#log .tokens", 2)
	if got := page.text("#log .tokens"); got != "I will check with df." {
		t.Errorf("tokens of the first attempt shown as %q", got)
	}
	if got := page.text("#log .ev.rejected"); !strings.Contains(got, "root_escalation") || !strings.Contains(got, "sudo is not allowed") {
		t.Errorf("rejection shown as %q: want its rule and reason", got)
	}
	page.expectCount("#log .ev.retry", 1)
	page.expectCount("#log .attempt", 1)
	page.expectLines("stdout", "/dev/sda1 50G 30G 20G", 1)
	page.expectCount("#log .answer", 1)
	if got := page.text("#log .answer"); got != "The root filesystem has 20G free." {
		t.Errorf("answer shown as %q", got)
	}
	page.screenshot(filepath.Join(shots, "console-instruction.png"))

	// Re-opening a finished task from the list replays it from the start.
	page.do("reopen the first task", 10*time.Second,
		chromedp.Click(chromedp.CSS(`#recent button[data-id="`+first+`"]`)),
	)
	page.waitState("done")
	page.expectLines("stdout", "hello", 1)
	page.expectLines("stderr", "oops", 1)
	if got := page.text("#task-id"); got != first {
		t.Errorf("reopened task %q, want %q", got, first)
	}
	page.expectCount("#recent li", 4)
	page.screenshot(filepath.Join(shots, "console-final.png"))
	page.do("prefer dark", 5*time.Second, preferDark)
	page.screenshot(filepath.Join(shots, "console-dark.png"))

	// EventSource reconnects on its own (after about three seconds in
	// Chromium) when a response ends; a page that did not close the
	// stream after the terminal event would open it again by now.
	time.Sleep(4 * time.Second)
	if n := len(streams.opens(first)); n != 2 {
		t.Errorf("the first task's stream was opened %d times, want 2 (submit and reopen)", n)
	}
	if n := len(streams.opens(long)); n != 2 {
		t.Errorf("the cancelled task's stream was opened %d times after its end, want 2", n)
	}
	// Log out, and back in by typing the token.
	page.do("log out", 10*time.Second,
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#login-token")),
	)
	page.do("log in by the form", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS("#login-token"), token),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#input")),
	)

	// Revoking the token ends the session: the next call is refused and
	// the page asks for a token again.
	id, _ := tokens.IDOf(token)
	if err := store.Revoke(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	page.do("lose the session", 15*time.Second, chromedp.WaitVisible(chromedp.CSS("#login-token")))
	if errs := scriptErrors.all(); len(errs) > 0 {
		t.Errorf("the page reported script errors:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("screenshots in %s", shots)
}

// pageErrors collects uncaught exceptions and console.error calls.
type pageErrors struct {
	mu   sync.Mutex
	list []string
}

func (p *pageErrors) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		msg = "console.error:"
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				msg += " " + string(a.Value)
			} else {
				msg += " " + a.Description
			}
		}
	default:
		return
	}
	p.mu.Lock()
	p.list = append(p.list, msg)
	p.mu.Unlock()
}

func (p *pageErrors) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.list...)
}

// scriptedEvents is an instruction task whose first command the policy
// rejects and whose second succeeds.
func scriptedEvents(id string, owner bus.Owner) []bus.Event {
	now := time.Now()
	ev := func(typ bus.EventType, attempt int, f func(*bus.Event)) bus.Event {
		e := bus.Event{TaskID: id, Type: typ, Attempt: attempt, Worker: "w1", TS: now}
		if f != nil {
			f(&e)
		}
		return e
	}
	tok := func(attempt int, text string) bus.Event {
		return ev(bus.EventToken, attempt, func(e *bus.Event) { e.Text = text })
	}
	answer := func(text string) bus.Event {
		return ev(bus.EventAnswer, 2, func(e *bus.Event) { e.Text = text })
	}
	return []bus.Event{
		ev(bus.EventAccepted, 0, func(e *bus.Event) {
			e.Worker = ""
			e.Task = &bus.Task{ID: id, Instruction: "how much disk is free?", Pool: "default", Session: "s1", Owner: owner}
		}),
		ev(bus.EventAssigned, 0, func(e *bus.Event) { e.Host = "host-a"; e.Pool = "default"; e.Delivery = 1 }),
		tok(1, "I will "), tok(1, "check "), tok(1, "with df."),
		ev(bus.EventCommand, 1, func(e *bus.Event) { e.Command = "sudo df -h /" }),
		ev(bus.EventRejected, 1, func(e *bus.Event) {
			e.Command = "sudo df -h /"
			e.Rule = "root_escalation"
			e.Reason = "sudo is not allowed"
		}),
		ev(bus.EventRetry, 2, func(e *bus.Event) { e.Text = "the policy refused the command; asking for another" }),
		tok(2, "df -h /"),
		ev(bus.EventCommand, 2, func(e *bus.Event) { e.Command = "df -h /" }),
		ev(bus.EventExecStart, 2, func(e *bus.Event) { e.Command = "df -h /" }),
		ev(bus.EventStdout, 2, func(e *bus.Event) { e.Text = "Filesystem Size Used Avail" }),
		ev(bus.EventStdout, 2, func(e *bus.Event) { e.Text = "/dev/sda1 50G 30G 20G" }),
		ev(bus.EventExecEnd, 2, func(e *bus.Event) { e.Exec = &bus.ExecResult{ExitCode: 0, DurationMS: 4.2} }),
		answer("The root "), answer("filesystem has "), answer("20G free."),
		ev(bus.EventLearned, 2, func(e *bus.Event) { e.Command = "df -h /" }),
		ev(bus.EventDone, 2, func(e *bus.Event) {
			e.Command = "df -h /"
			e.Answer = "The root filesystem has 20G free."
			e.Phases = map[string]float64{"think": 812, "exec": 4.2}
		}),
	}
}

func publish(t *testing.T, k *kerneltest.Kernel, evs []bus.Event) {
	t.Helper()
	for _, e := range evs {
		if _, err := k.JS.Publish(context.Background(), bus.Names{}.Event(e.TaskID), e.Encode()); err != nil {
			t.Fatal(err)
		}
	}
}

// consolePage runs steps in the browser tab, failing the test on error.
type consolePage struct {
	t   *testing.T
	ctx context.Context
}

func (p *consolePage) do(what string, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v\npage log:\n%s", what, err, p.logText())
	}
}

func (p *consolePage) submit(command string) {
	p.t.Helper()
	p.do("submit "+command, 10*time.Second, chromedp.SendKeys(chromedp.CSS("#input"), command+kb.Enter))
}

func (p *consolePage) waitState(state string) {
	p.t.Helper()
	p.do("wait for "+state, 15*time.Second, chromedp.WaitVisible(chromedp.CSS(`#task-state[data-state="`+state+`"]`)))
}

func (p *consolePage) poll(what, predicate string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](predicate, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		p.t.Fatalf("wait for %s: %v\npage log:\n%s", what, err, p.logText())
	}
}

func (p *consolePage) eval(expr string) any {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (p *consolePage) text(sel string) string {
	p.t.Helper()
	s, _ := p.eval(`(document.querySelector(` + jsString(sel) + `) || {}).textContent || ""`).(string)
	return s
}

func (p *consolePage) expectCount(sel string, want int) {
	p.t.Helper()
	n, _ := p.eval(`document.querySelectorAll(` + jsString(sel) + `).length`).(float64)
	if int(n) != want {
		p.t.Errorf("%d elements match %s, want %d\npage log:\n%s", int(n), sel, want, p.logText())
	}
}

// expectLines counts output lines of one stream with exactly this text.
func (p *consolePage) expectLines(stream, text string, want int) {
	p.t.Helper()
	n, _ := p.eval(`[...document.querySelectorAll("#log .output .line.` + stream + `")].filter(n => n.textContent === ` + jsString(text) + `).length`).(float64)
	if int(n) != want {
		p.t.Errorf("%s line %q appears %d times, want %d\npage log:\n%s", stream, text, int(n), want, p.logText())
	}
}

func (p *consolePage) logText() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#log > *")].map(n => n.innerText).join("\n")`))
	return s
}

func (p *consolePage) screenshot(path string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// preferDark makes the page see prefers-color-scheme: dark.
func preferDark(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	})
	return chromedp.Void{}, err
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// startBrowser runs headless Chromium with a fresh profile until the test
// ends and returns a context whose browser has started.
func startBrowser(t *testing.T, path string, listen func(ev any)) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf), chromedp.WithListener(listen))
	t.Cleanup(func() { cancel(); acancel() })
	// The browser lives as long as the context of the first run, so that
	// run has no timeout of its own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

func startConsoleWorker(t *testing.T, cfg workers.Config) {
	t.Helper()
	w, err := workers.NewWorker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx); err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// streamLog records, per task, the Last-Event-ID of every request for its
// event stream, so the test sees what the browser really asked for.
type streamLog struct {
	next   http.Handler
	mu     sync.Mutex
	opened map[string][]string
}

func (l *streamLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/v1/tasks/"); ok {
		if id, ok := strings.CutSuffix(rest, "/events"); ok {
			l.mu.Lock()
			l.opened[id] = append(l.opened[id], r.Header.Get("Last-Event-ID"))
			l.mu.Unlock()
		}
	}
	l.next.ServeHTTP(w, r)
}

func (l *streamLog) opens(id string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.opened[id]...)
}
