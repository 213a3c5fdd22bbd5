package workers_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

// Ollama keeps one processed prompt per slot (one by default) and reuses
// the longest common prefix of the next request, and reloads the model
// when num_ctx or the like changes. So every request of every task — for
// a command, a correction or the answer — begins with the same bytes, and
// carries the same options and keep-alive; an answer continues the
// conversation that found the command instead of starting another.
func TestEveryRequestBeginsWithTheCachedPrefix(t *testing.T) {
	m := newLoopMesh(t, &workers.SolverConfig{Runner: hostRunner(t)}, ollamatest.WithHandler(func(req *api.ChatRequest) ollamatest.Reply {
		if !isCommandRequest(*req) {
			return ollamatest.Reply{Content: `{"answers_request": true, "answer": "It printed a word."}`}
		}
		if len(req.Messages) == 2 && req.Messages[1].Content == "print a word" {
			return cmdReply("first try", "false")
		}
		return cmdReply("print it", "echo word")
	}))
	for _, instr := range []string{"print a word", "say something else entirely, with other words"} {
		if e := last(m.wait(m.submit(bus.Task{Instruction: instr}))); e.Type != bus.EventDone {
			t.Fatalf("%q ended %+v", instr, e)
		}
	}
	reqs := m.srv.Requests()
	// Task 1: command, correction, answer; task 2: command, answer.
	if len(reqs) != 5 {
		t.Fatalf("%d requests, want 5", len(reqs))
	}
	first, _ := json.Marshal(reqs[0].Messages[0])
	for i, r := range reqs {
		if got, _ := json.Marshal(r.Messages[0]); string(got) != string(first) {
			t.Errorf("request %d begins with %s, not the system message of the first", i, got)
		}
		if !reflect.DeepEqual(r.Options, reqs[0].Options) || r.Options["num_ctx"] == nil {
			t.Errorf("request %d options %v, the first's %v", i, r.Options, reqs[0].Options)
		}
		if r.KeepAlive == nil || *r.KeepAlive != *reqs[0].KeepAlive {
			t.Errorf("request %d keep_alive %v, the first's %v", i, r.KeepAlive, reqs[0].KeepAlive)
		}
	}
	// Each request of a task extends the one before it: the correction and
	// the answer reuse all that Ollama processed for that task so far.
	for _, pair := range [][2]int{{0, 1}, {1, 2}, {3, 4}} {
		prev, next := reqs[pair[0]].Messages, reqs[pair[1]].Messages
		if len(next) <= len(prev) || !reflect.DeepEqual(next[:len(prev)], prev) {
			t.Errorf("request %d does not begin with request %d's messages:\n%+v\n---\n%+v", pair[1], pair[0], next, prev)
		}
	}
	if isCommandRequest(reqs[2]) || isCommandRequest(reqs[4]) {
		t.Fatalf("requests 2 and 4 should ask for the answer")
	}
	mustContain(t, "answer request", lastUser(reqs[4]), "answer the request", "echo word", `"answers_request"`)
}

// An answer after failures that filled the context drops the failed
// attempts, not the system prompt or the request: it still begins with
// the cached prefix, and it fits.
func TestAnswerAfterLongFailuresDropsTheAttempts(t *testing.T) {
	fail := cmdReply("print a lot", "seq 1 3000 >&2; false")
	m := newLoopMesh(t, &workers.SolverConfig{Runner: hostRunner(t)},
		ollamatest.WithModels(ollamatest.Model{Name: "qwen3-coder", ContextLength: 8192}),
		ollamatest.WithReplies(fail, cmdReply("again", "seq 2 3000 >&2; false"), cmdReply("and again", "seq 3 3000 >&2; false"),
			cmdReply("just print", "echo ok"), ollamatest.Reply{Content: `{"answers_request": true, "answer": "ok"}`}))
	if e := last(m.wait(m.submit(bus.Task{Instruction: "print ok", MaxAttempts: 4}))); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	reqs := m.srv.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d requests, want 5", len(reqs))
	}
	cmd, ans := reqs[3].Messages, reqs[4].Messages
	size := 0
	for _, msg := range cmd {
		size += len(msg.Content)
	}
	if size < 8192-1024 {
		t.Fatalf("the last command request is %d bytes: too short to test a conversation that does not fit", size)
	}
	if len(ans) != 4 || !reflect.DeepEqual(ans[:2], cmd[:2]) || ans[2].Role != "assistant" || !strings.Contains(ans[2].Content, `"echo ok"`) {
		t.Fatalf("answer messages %+v: want the system prompt, the request, the command that worked and the question", ans)
	}
	size = 0
	for _, msg := range ans {
		size += len(msg.Content)
	}
	if size > 8192-1024 {
		t.Errorf("the answer request is %d bytes: it may not fit num_ctx 8192 with room to reply", size)
	}
	mustContain(t, "question", lastUser(reqs[4]), "echo ok", "Output:")
}
