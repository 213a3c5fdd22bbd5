package workers_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// cancelBound is how long a cancelled task may take to end. The promise
// is 1 s; the bound leaves room for a loaded CI machine while still
// failing a loop that lets the stream or the command run on (those take
// 10 s and more here).
const cancelBound = 3 * time.Second

func TestCancelWhileTokensStream(t *testing.T) {
	long := `{"thought": "` + strings.Repeat("thinking about it ", 100) + `", "command": "echo late"}`
	m := newLoopMesh(t, nil, ollamatest.WithTokenDelay(50*time.Millisecond), ollamatest.WithReplies(ollamatest.Reply{Content: long}))
	id := m.submit(bus.Task{Instruction: "take your time"})
	m.waitFor(id, func(e bus.Event) bool { return e.Type == bus.EventToken })
	start := time.Now()
	m.cancel(id, "stop")
	evs := m.wait(id)
	took := time.Since(start)
	assertOneTerminal(t, evs)
	if e := last(evs); e.Type != bus.EventCancelled {
		t.Fatalf("ended %+v", e)
	}
	t.Logf("cancelled %v after the request, %d bytes of tokens streamed", took, len(streamed(evs, bus.EventToken)))
	if took > cancelBound {
		t.Errorf("took %v to cancel", took)
	}
	if n := count(evs, bus.EventExecStart); n != 0 {
		t.Errorf("a command ran after cancel: %v", types(evs))
	}
	if got := streamed(evs, bus.EventToken); len(got) >= len(long) {
		t.Errorf("all %d bytes of the reply streamed: the stream was not stopped", len(got))
	}
}

func TestCancelWhileCommandRunsKillsTheProcessTree(t *testing.T) {
	// The plain fork/exec runner: the sandbox's host runner reads its
	// timeout flag unsynchronised on this path, which -race reports.
	m := newLoopMesh(t, &workers.SolverConfig{Runner: hostRunner(t)}, ollamatest.WithReplies(
		cmdReply("wait a while", "sleep 300 & echo $! > sleeper.pid; echo started; wait"),
	))
	id := m.submit(bus.Task{ID: "cancel-me", Instruction: "run something long"})
	m.waitFor(id, func(e bus.Event) bool { return e.Type == bus.EventStdout })
	raw, err := os.ReadFile(filepath.Join(m.state, "work", id, "sleeper.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || !alive(pid) {
		t.Fatalf("sleeper pid %q not running (%v)", raw, err)
	}
	start := time.Now()
	m.cancel(id, "")
	evs := m.wait(id)
	took := time.Since(start)
	if e := last(evs); e.Type != bus.EventCancelled {
		t.Fatalf("ended %+v", e)
	}
	t.Logf("cancelled %v after the request", took)
	if took > cancelBound {
		t.Errorf("took %v to cancel", took)
	}
	deadline := time.Now().Add(time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("process %d outlived its cancelled task", pid)
	}
}

// alive reports a process that exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestOllamaDownFailsWithWhatToDoAndWorkerStaysHealthy(t *testing.T) {
	m := newLoopMesh(t, nil)
	m.srv.Down()
	evs := m.wait(m.submit(bus.Task{Instruction: "anything"}))
	end := last(evs)
	if end.Type != bus.EventFailed || end.Rule != bus.RuleModel {
		t.Fatalf("ended %+v", end)
	}
	mustContain(t, "reason", end.Reason, "cannot reach Ollama at "+m.srv.URL(), "ollama serve", "OLLAMA_HOST")
	retries := ofType(evs, bus.EventRetry)
	if len(retries) != 3 {
		t.Fatalf("model retries = %d, want 3 (bounded): %v", len(retries), types(evs))
	}
	for _, r := range retries {
		if r.Rule != bus.RuleModel || r.Attempt != 1 {
			t.Errorf("retry %+v: want rule model within attempt 1", r)
		}
	}
	// Ollama comes back: the same worker serves the next task.
	if err := m.srv.Up(); err != nil {
		t.Fatal(err)
	}
	m.srv.Enqueue(cmdReply("x", "echo back"))
	if e := last(m.wait(m.submit(bus.Task{Instruction: "again", NoAnswer: true}))); e.Type != bus.EventDone {
		t.Fatalf("after Ollama returned: %+v", e)
	}
}

func TestModelMissingFailsAtOnceWithPullHint(t *testing.T) {
	m := newLoopMesh(t, &workers.SolverConfig{Model: "llama9-missing"})
	evs := m.wait(m.submit(bus.Task{Instruction: "anything"}))
	end := last(evs)
	if end.Type != bus.EventFailed || end.Rule != bus.RuleModel {
		t.Fatalf("ended %+v", end)
	}
	mustContain(t, "reason", end.Reason, "model llama9-missing not found", "ollama pull llama9-missing")
	if n := count(evs, bus.EventRetry); n != 0 {
		t.Errorf("a missing model was retried %d times", n)
	}
}

func TestCutStreamIsRetriedThenSucceeds(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		ollamatest.Reply{Content: `{"thought": "list", "command": "echo cut"}`, CutAfter: 3},
		ollamatest.Reply{Content: `{"thought": "server failed", "command": "echo err"}`, Err: &ollamatest.HTTPError{Status: 500, Message: "llama runner process has terminated"}},
		cmdReply("whole", "echo whole"),
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "say it", NoAnswer: true}))
	done := last(evs)
	if done.Type != bus.EventDone || done.Command != "echo whole" || len(done.Attempts) != 1 {
		t.Fatalf("ended %+v", done)
	}
	retries := ofType(evs, bus.EventRetry)
	if len(retries) != 2 {
		t.Fatalf("retries = %+v, want 2", retries)
	}
	mustContain(t, "first retry", retries[0].Reason, "broke off")
	mustContain(t, "second retry", retries[1].Reason, "500", "llama runner process has terminated")
}

func TestStreamErrorMidwayIsRetried(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		ollamatest.Reply{Content: `{"thought": "x", "command": "echo a"}`, CutAfter: 2, StreamErr: "out of memory"},
		cmdReply("ok", "echo b"),
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "say it", NoAnswer: true}))
	if e := last(evs); e.Type != bus.EventDone || e.Command != "echo b" {
		t.Fatalf("ended %+v", e)
	}
	if n := count(evs, bus.EventRetry); n != 1 {
		t.Errorf("retries = %d, want 1", n)
	}
}

func TestSlowTokensArriveOneByOne(t *testing.T) {
	const delay = 20 * time.Millisecond
	content := `{"thought": "count the lines of the log files", "command": "echo 12"}`
	m := newLoopMesh(t, nil, ollamatest.WithTokenDelay(delay), ollamatest.WithReplies(ollamatest.Reply{Content: content}))
	evs := m.wait(m.submit(bus.Task{Instruction: "count", NoAnswer: true}))
	if e := last(evs); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	toks := ofType(evs, bus.EventToken)
	want := ollamatest.Tokenize(content)
	if len(toks) != len(want) {
		t.Fatalf("token events = %d, want one per streamed token (%d)", len(toks), len(want))
	}
	var joined strings.Builder
	for i, e := range toks {
		joined.WriteString(e.Text)
		if e.Text != want[i] {
			t.Fatalf("token %d = %q, want %q", i, e.Text, want[i])
		}
	}
	// Published as they came, not gathered: they span the stream's time.
	span := toks[len(toks)-1].TS.Sub(toks[0].TS)
	if min := time.Duration(len(toks)-1) * delay / 2; span < min {
		t.Errorf("tokens span %v, want at least %v: they were batched", span, min)
	}
	if joined.String() != content {
		t.Errorf("tokens join to %q", joined.String())
	}
}

func TestDeadlineBoundsTheLoop(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(ollamatest.Reply{Hang: true}))
	start := time.Now()
	evs := m.wait(m.submit(bus.Task{Instruction: "wait forever", Timeout: bus.Duration(time.Second)}))
	end := last(evs)
	if end.Type != bus.EventFailed || end.Rule != bus.RuleTimeout {
		t.Fatalf("ended %+v", end)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a 1s task took %v", took)
	}
}

func TestCommandTimeoutIsFedBack(t *testing.T) {
	m := newLoopMesh(t, &workers.SolverConfig{CommandTimeout: 300 * time.Millisecond, Runner: hostRunner(t)}, ollamatest.WithReplies(
		cmdReply("follow", "sleep 30"),
		cmdReply("do not wait", "echo quick"),
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "watch it", NoAnswer: true}))
	done := last(evs)
	if done.Type != bus.EventDone || len(done.Attempts) != 2 {
		t.Fatalf("ended %+v", done)
	}
	if !strings.Contains(done.Attempts[0].Reason, "timed out") {
		t.Errorf("first attempt = %+v, want a timeout", done.Attempts[0])
	}
	mustContain(t, "timeout feedback", lastUser(commandRequests(m.srv)[1]), "sleep 30", "timed out")
}

func TestCancelWhileTheAnswerStreams(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		cmdReply("x", "echo 3"),
		ollamatest.Reply{Content: strings.Repeat("There are three of them. ", 100), Delay: 50 * time.Millisecond},
	))
	id := m.submit(bus.Task{Instruction: "count"})
	m.waitFor(id, func(e bus.Event) bool { return e.Type == bus.EventAnswer })
	start := time.Now()
	m.cancel(id, "enough")
	evs := m.wait(id)
	took := time.Since(start)
	end := last(evs)
	if end.Type != bus.EventCancelled || end.Command != "echo 3" || len(end.Attempts) != 1 {
		t.Fatalf("ended %+v", end)
	}
	t.Logf("cancelled %v after the request", took)
	if took > cancelBound {
		t.Errorf("took %v to cancel", took)
	}
}
