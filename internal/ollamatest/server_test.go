package ollamatest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
)

func ptr[T any](v T) *T { return &v }

func userChat(model, content string) *api.ChatRequest {
	return &api.ChatRequest{Model: model, Messages: []api.Message{{Role: "user", Content: content}}}
}

// collect runs a chat through the real client and returns every message.
func collect(t *testing.T, c *api.Client, req *api.ChatRequest) ([]api.ChatResponse, error) {
	t.Helper()
	var got []api.ChatResponse
	err := c.Chat(context.Background(), req, func(r api.ChatResponse) error {
		got = append(got, r)
		return nil
	})
	return got, err
}

func TestChatStreamsTokensThenDone(t *testing.T) {
	content := "find /var/log -name '*.log' -mtime +7 -exec gzip {} \\;"
	srv := ollamatest.New(t, ollamatest.WithReplies(ollamatest.Reply{Content: content}))
	got, err := collect(t, srv.Client(), userChat("qwen3-coder", "compress old logs"))
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if want := len(ollamatest.Tokenize(content)) + 1; len(got) != want {
		t.Fatalf("got %d messages, want %d (one per token, then done)", len(got), want)
	}
	if len(got) < 10 {
		t.Fatalf("got %d messages: the content should stream in many chunks", len(got))
	}
	var sb strings.Builder
	for i, r := range got[:len(got)-1] {
		if r.Done {
			t.Fatalf("message %d is done before the end", i)
		}
		if r.Message.Role != "assistant" || r.Model != "qwen3-coder" || r.CreatedAt.IsZero() {
			t.Fatalf("message %d = %+v", i, r)
		}
		if r.TotalDuration != 0 || r.EvalCount != 0 {
			t.Fatalf("message %d carries metrics before done: %+v", i, r.Metrics)
		}
		sb.WriteString(r.Message.Content)
	}
	if got, want := sb.String(), content; got != want {
		t.Fatalf("streamed content = %q, want %q", got, want)
	}
	last := got[len(got)-1]
	if !last.Done || last.DoneReason != "stop" || last.Message.Role != "assistant" || last.Message.Content != "" {
		t.Fatalf("final message = %+v", last)
	}
	m := last.Metrics
	if m.TotalDuration <= 0 || m.LoadDuration <= 0 || m.PromptEvalCount <= 0 ||
		m.PromptEvalDuration <= 0 || m.EvalDuration <= 0 {
		t.Fatalf("final metrics incomplete: %+v", m)
	}
	if got, want := m.EvalCount, len(ollamatest.Tokenize(content)); got != want {
		t.Fatalf("eval_count = %d, want %d", got, want)
	}
	if m.TotalDuration < m.EvalDuration {
		t.Fatalf("total_duration %v < eval_duration %v", m.TotalDuration, m.EvalDuration)
	}
}

// TestChatWireFormat reads the raw HTTP answer: Ollama's content type, one
// JSON object per line, every duration field present on the last line.
func TestChatWireFormat(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithReplies(ollamatest.Reply{Content: "echo hi"}))
	resp, err := http.Post(srv.URL()+"/api/chat", "application/json",
		strings.NewReader(`{"model":"qwen3-coder","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, want := resp.Header.Get("Content-Type"), "application/x-ndjson"; got != want {
		t.Fatalf("Content-Type = %q, want %q", got, want)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(lines), 3; got != want { // "echo", " hi", done
		t.Fatalf("%d lines, want %d", got, want)
	}
	first := lines[0]
	if first["done"] != false || first["message"].(map[string]any)["role"] != "assistant" {
		t.Fatalf("first line = %v", first)
	}
	last := lines[len(lines)-1]
	for _, k := range []string{"model", "created_at", "message", "done", "done_reason", "total_duration",
		"load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"} {
		if _, ok := last[k]; !ok {
			t.Errorf("final line lacks %q: %v", k, last)
		}
	}
	if last["done"] != true || last["done_reason"] != "stop" {
		t.Fatalf("final line = %v", last)
	}
}

func TestChatNotStreamed(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithReplies(ollamatest.Reply{Content: "du -sh /var/log/* | sort -h"}))
	req := userChat("qwen3-coder", "sizes")
	req.Stream = ptr(false)
	req.Format = json.RawMessage(`{"type":"object","properties":{"command":{"type":"string"}}}`)
	got, err := collect(t, srv.Client(), req)
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	r := got[0]
	if !r.Done || r.DoneReason != "stop" || r.Message.Content != "du -sh /var/log/* | sort -h" || r.EvalDuration <= 0 {
		t.Fatalf("response = %+v", r)
	}
	if got := srv.Requests(); len(got) != 1 || string(got[0].Format) == "" {
		t.Fatalf("recorded requests = %+v", got)
	}
}

func TestHandlerSeesConversation(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithHandler(func(req *api.ChatRequest) ollamatest.Reply {
		last := req.Messages[len(req.Messages)-1].Content
		if strings.Contains(last, "exit code 127") {
			return ollamatest.Reply{Content: "busybox ls"}
		}
		return ollamatest.Reply{Content: "lsx"}
	}))
	c := srv.Client()
	text := func(req *api.ChatRequest) string {
		got, err := collect(t, c, req)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		for _, r := range got {
			sb.WriteString(r.Message.Content)
		}
		return sb.String()
	}
	if got := text(userChat("qwen3-coder", "list files")); got != "lsx" {
		t.Fatalf("first answer %q", got)
	}
	if got := text(userChat("qwen3-coder", "lsx failed: exit code 127")); got != "busybox ls" {
		t.Fatalf("correction %q", got)
	}
}

func TestThinking(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithModels(
		ollamatest.Model{Name: "qwen3:8b", Thinking: true},
		ollamatest.Model{Name: "qwen3-coder"},
	))
	c := srv.Client()
	reply := ollamatest.Reply{Thinking: "the user wants the date", Content: "date"}

	srv.Enqueue(reply)
	got, err := collect(t, c, userChat("qwen3:8b", "what day is it"))
	if err != nil {
		t.Fatal(err)
	}
	var th, ct strings.Builder
	for _, r := range got {
		th.WriteString(r.Message.Thinking)
		ct.WriteString(r.Message.Content)
	}
	if th.String() != reply.Thinking || ct.String() != "date" {
		t.Fatalf("thinking %q content %q", th.String(), ct.String())
	}

	srv.Enqueue(reply)
	req := userChat("qwen3:8b", "what day is it")
	req.Think = &api.ThinkValue{Value: false}
	got, err = collect(t, c, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.Message.Thinking != "" {
			t.Fatalf("thinking sent with think:false: %+v", r)
		}
	}

	req = userChat("qwen3-coder", "x")
	req.Think = &api.ThinkValue{Value: true}
	_, err = collect(t, c, req)
	assertStatus(t, err, http.StatusBadRequest, `"qwen3-coder" does not support thinking`)
}

func assertStatus(t *testing.T, err error, status int, msg string) {
	t.Helper()
	var se api.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want api.StatusError", err, err)
	}
	if se.StatusCode != status || se.ErrorMessage != msg {
		t.Fatalf("got %d %q, want %d %q", se.StatusCode, se.ErrorMessage, status, msg)
	}
}

func TestErrors(t *testing.T) {
	srv := ollamatest.New(t)
	c := srv.Client()
	ctx := context.Background()

	_, err := collect(t, c, userChat("llama9", "hi"))
	assertStatus(t, err, http.StatusNotFound, "model 'llama9' not found")

	_, err = c.Embed(ctx, &api.EmbedRequest{Model: "llama9", Input: "hi"})
	assertStatus(t, err, http.StatusNotFound, `model "llama9" not found, try pulling it first`)

	_, err = c.Show(ctx, &api.ShowRequest{Model: "llama9"})
	assertStatus(t, err, http.StatusNotFound, "model 'llama9' not found")

	_, err = collect(t, c, userChat("", "hi"))
	assertStatus(t, err, http.StatusBadRequest, "model is required")

	_, err = collect(t, c, userChat("nomic-embed-text", "hi"))
	assertStatus(t, err, http.StatusBadRequest, `"nomic-embed-text" does not support chat`)

	req := userChat("qwen3-coder", "hi")
	req.Format = json.RawMessage(`"yaml"`)
	_, err = collect(t, c, req)
	assertStatus(t, err, http.StatusInternalServerError, `invalid format: "\"yaml\""; expected "json" or a valid JSON Schema object`)

	srv.Enqueue(ollamatest.Reply{Err: &ollamatest.HTTPError{Status: http.StatusServiceUnavailable, Message: "server busy, please try again.  maximum pending requests exceeded"}})
	_, err = collect(t, c, userChat("qwen3-coder", "hi"))
	assertStatus(t, err, http.StatusServiceUnavailable, "server busy, please try again.  maximum pending requests exceeded")

	// Nothing scripted: a 500 that says so, not a hang.
	_, err = collect(t, c, userChat("qwen3-coder", "hi"))
	assertStatus(t, err, http.StatusInternalServerError, "ollamatest: no reply scripted for this request")

	for _, tc := range []struct{ name, body, want string }{
		{"empty body", "", "missing request body"},
		{"not json", "{", "unexpected EOF"},
		{"bad think", `{"model":"qwen3-coder","think":"max"}`, `invalid think value: "max" (must be "high", "medium", "low", true, or false)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL()+"/api/chat", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct{ Error string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest || body.Error != tc.want {
				t.Fatalf("got %d %q, want 400 %q", resp.StatusCode, body.Error, tc.want)
			}
		})
	}

	resp, err := http.Get(srv.URL() + "/api/chat")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /api/chat: %d", resp.StatusCode)
	}
}

func TestStreamErrorMidway(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithReplies(ollamatest.Reply{Content: "ls -l /tmp", StreamErr: "llama runner process has terminated: exit status 2"}))
	got, err := collect(t, srv.Client(), userChat("qwen3-coder", "hi"))
	if err == nil || err.Error() != "llama runner process has terminated: exit status 2" {
		t.Fatalf("err = %v", err)
	}
	if len(got) == 0 || got[len(got)-1].Done {
		t.Fatalf("got %d messages, last done: should stop before done", len(got))
	}
}

// TestCutStream drops the connection after 3 tokens. Ollama's client does
// not report a truncated body as an error (it ignores its scanner's
// error): it returns nil without a done message, so a caller must treat a
// missing done:true as a failure. The raw body shows the unexpected EOF.
func TestCutStream(t *testing.T) {
	reply := ollamatest.Reply{Content: strings.Repeat("word ", 20), CutAfter: 3}
	srv := ollamatest.New(t, ollamatest.WithReplies(reply, reply))
	got, err := collect(t, srv.Client(), userChat("qwen3-coder", "hi"))
	if len(got) != 3 {
		t.Fatalf("got %d messages before the cut, want 3 (err %v)", len(got), err)
	}
	if err == nil && got[len(got)-1].Done {
		t.Fatal("a cut stream looks complete")
	}

	resp, err := http.Post(srv.URL()+"/api/chat", "application/json",
		strings.NewReader(`{"model":"qwen3-coder","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a cut body: %v, want unexpected EOF", err)
	}
}

func TestTokenDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	srv := ollamatest.New(t, ollamatest.WithTokenDelay(delay),
		ollamatest.WithReplies(ollamatest.Reply{Tokens: []string{"a", "b", "c", "d"}}))
	start := time.Now()
	var stamps []time.Duration
	var content []string
	err := srv.Client().Chat(context.Background(), userChat("qwen3-coder", "hi"), func(r api.ChatResponse) error {
		stamps = append(stamps, time.Since(start))
		content = append(content, r.Message.Content)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(content, ","), "a,b,c,d,"; got != want {
		t.Fatalf("chunks %q, want %q", got, want)
	}
	// The server waits the delay before each chunk, so chunk i is sent no
	// sooner than (i+1) delays after the request. That is measured from
	// the request, not between two receipts: a client that reads one chunk
	// late reads the next sooner after it, however long the server waited.
	// An upper bound would only measure the machine.
	for i, at := range stamps[:len(stamps)-1] {
		if want := time.Duration(i+1) * delay; at < want {
			t.Fatalf("chunk %d came %v after the request, before %v: delay %v not honoured", i, at, want, delay)
		}
	}
}

func TestHangAndCancel(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithReplies(ollamatest.Reply{Content: "a b c d", Hang: true, HangAfter: 2}))
	ctx, cancel := context.WithCancel(context.Background())
	var n int
	err := srv.Client().Chat(ctx, userChat("qwen3-coder", "hi"), func(api.ChatResponse) error {
		n++
		if n == 2 {
			cancel()
		}
		return nil
	})
	// As with a cut stream, Ollama's client may return nil here: it stops
	// at the read error without reporting it. No done message arrived.
	if (err != nil && !errors.Is(err, context.Canceled)) || n != 2 {
		t.Fatalf("err %v after %d messages", err, n)
	}

	// Server-wide hang, released by SetHang(false).
	srv.SetHang(true)
	srv.Enqueue(ollamatest.Reply{Content: "ok"})
	done := make(chan error, 1)
	go func() {
		_, err := collect(t, srv.Client(), userChat("qwen3-coder", "hi"))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("answered while hanging: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	srv.SetHang(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDownAndUp(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithFallback(ollamatest.Reply{Content: "ok"}))
	c := srv.Client()
	ctx := context.Background()
	if err := func() error { _, err := c.Version(ctx); return err }(); err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	srv.Down()
	if err := func() error { _, err := c.Version(ctx); return err }(); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("heartbeat while down: %v", err)
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("address moved: %s → %s", addr, srv.Addr())
	}
	if _, err := collect(t, c, userChat("qwen3-coder", "hi")); err != nil {
		t.Fatal(err)
	}
}

func TestEmbed(t *testing.T) {
	srv := ollamatest.New(t)
	c := srv.Client()
	ctx := context.Background()
	resp, err := c.Embed(ctx, &api.EmbedRequest{Model: "nomic-embed-text", Input: []string{
		"compress log files older than a week",
		"compress the log files older than one week",
		"show the kernel version",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Embeddings) != 3 || len(resp.Embeddings[0]) != 768 || resp.Model != "nomic-embed-text" ||
		resp.TotalDuration <= 0 || resp.LoadDuration <= 0 || resp.PromptEvalCount <= 0 {
		t.Fatalf("response: %d vectors, model %q, %v %v %d", len(resp.Embeddings), resp.Model,
			resp.TotalDuration, resp.LoadDuration, resp.PromptEvalCount)
	}
	cos := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	e := resp.Embeddings
	if n := cos(e[0], e[0]); math.Abs(n-1) > 1e-5 {
		t.Fatalf("not unit length: %v", n)
	}
	if near, far := cos(e[0], e[1]), cos(e[0], e[2]); near <= far {
		t.Fatalf("similar texts %.3f not closer than unrelated %.3f", near, far)
	}
	again, err := c.Embed(ctx, &api.EmbedRequest{Model: "nomic-embed-text", Input: "show the kernel version", Dimensions: 64})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Embeddings[0]) != 64 {
		t.Fatalf("dimensions: %d", len(again.Embeddings[0]))
	}
}

func TestVersionShow(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithVersion("0.17.4"))
	c := srv.Client()
	ctx := context.Background()
	v, err := c.Version(ctx)
	if err != nil || v != "0.17.4" {
		t.Fatalf("version %q %v", v, err)
	}
	show, err := c.Show(ctx, &api.ShowRequest{Model: "qwen3-coder:latest"})
	if err != nil || len(show.Capabilities) == 0 || show.Capabilities[0] != "completion" {
		t.Fatalf("show %+v %v", show, err)
	}
}

// TestConcurrentLongStreams is the load shape of a busy fleet: many
// concurrent answers of thousands of tokens each, without per-token delay.
func TestConcurrentLongStreams(t *testing.T) {
	const streams, tokens = 50, 2000
	long := strings.Repeat("ab ", tokens) // "ab", " ab", " ab", …
	srv := ollamatest.New(t, ollamatest.WithFallback(ollamatest.Reply{Content: long}))
	want := len(ollamatest.Tokenize(long))
	if want < tokens {
		t.Fatalf("reply has %d tokens, want at least %d", want, tokens)
	}
	c := srv.Client()
	var wg sync.WaitGroup
	errs := make(chan error, streams)
	for range streams {
		wg.Go(func() {
			n := 0
			err := c.Chat(context.Background(), userChat("qwen3-coder", "go"), func(r api.ChatResponse) error {
				if !r.Done {
					n++
				}
				return nil
			})
			if err == nil && n != want {
				err = errors.New("token count mismatch")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.Requests()); got != streams {
		t.Fatalf("%d requests recorded", got)
	}
}

func TestCloseReleasesHungRequests(t *testing.T) {
	srv, err := ollamatest.Start(ollamatest.WithReplies(ollamatest.Reply{Hang: true}))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := collect(t, srv.Client(), userChat("qwen3-coder", "hi"))
		done <- err
	}()
	for len(srv.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	if err := <-done; err == nil {
		t.Fatal("a hung request ended without error when the server closed")
	}
}

// TestCloseLeavesNoGoroutines: every goroutine the server starts — serving,
// streaming, hung handlers — is gone once Close returns.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	srv, err := ollamatest.Start(ollamatest.WithFallback(ollamatest.Reply{Content: "a b c", Hang: true, HangAfter: 1}))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	u, _ := url.Parse(srv.URL())
	c := api.NewClient(u, &http.Client{Transport: tr})
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			_ = c.Chat(context.Background(), userChat("qwen3-coder", "hi"), func(api.ChatResponse) error { return nil })
		})
	}
	for len(srv.Requests()) < 5 {
		time.Sleep(time.Millisecond)
	}
	srv.Close()
	wg.Wait()
	tr.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// A frozen server (SIGSTOP) answers nothing, not even /api/version or
// /api/show; thawed, the requests that waited are answered.
func TestFrozenServerAnswersNothingUntilThawed(t *testing.T) {
	srv := ollamatest.New(t, ollamatest.WithFallback(ollamatest.Reply{Content: "ok"}))
	c := srv.Client()
	srv.SetFrozen(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Show(ctx, &api.ShowRequest{Model: "qwen3-coder"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("show while frozen: %v, want no answer before the deadline", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Version(context.Background())
		done <- err
	}()
	srv.SetFrozen(false)
	if err := <-done; err != nil {
		t.Fatalf("version after thawing: %v", err)
	}
	if _, err := collect(t, c, userChat("qwen3-coder", "hi")); err != nil {
		t.Fatalf("chat after thawing: %v", err)
	}
}
