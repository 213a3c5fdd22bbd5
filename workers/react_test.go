package workers_test

import (
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers"
)

func TestWrongThenRightEndsDoneAfterTwoAttempts(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		cmdReply("list the directory", "ls /nonexistent-amf-dir"),
		cmdReply("that path does not exist; use the work dir", "echo report.txt; echo notes.txt"),
		ollamatest.Reply{Content: "There are two files: report.txt and notes.txt."},
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "list the files here"}))
	assertOneTerminal(t, evs)
	done := last(evs)
	if done.Type != bus.EventDone {
		t.Fatalf("ended %s: %s (%v)", done.Type, done.Reason, types(evs))
	}
	if got, want := done.Command, "echo report.txt; echo notes.txt"; got != want {
		t.Errorf("done command = %q, want %q", got, want)
	}
	if got, want := done.Output, "report.txt\nnotes.txt"; got != want {
		t.Errorf("done output = %q, want %q", got, want)
	}
	if got, want := done.Answer, "There are two files: report.txt and notes.txt."; got != want {
		t.Errorf("answer = %q, want %q", got, want)
	}
	if len(done.Attempts) != 2 {
		t.Fatalf("attempts = %+v, want 2", done.Attempts)
	}
	if a := done.Attempts[0]; a.ExitCode == nil || *a.ExitCode != 2 || !strings.Contains(a.Reason, "No such file") {
		t.Errorf("first attempt = %+v, want exit 2 with the stderr line", a)
	}
	if a := done.Attempts[1]; a.Reason != "succeeded" {
		t.Errorf("second attempt = %+v", a)
	}
	for _, typ := range []bus.EventType{bus.EventCommand, bus.EventExecStart, bus.EventExecEnd} {
		if got := count(evs, typ); got != 2 {
			t.Errorf("%s events = %d, want 2", typ, got)
		}
	}
	retries := ofType(evs, bus.EventRetry)
	if len(retries) != 1 || retries[0].Attempt != 2 || !strings.Contains(retries[0].Reason, "exit code 2") {
		t.Errorf("retry events = %+v, want one for attempt 2 naming exit code 2", retries)
	}
	if count(evs, bus.EventToken) == 0 || count(evs, bus.EventAnswer) == 0 {
		t.Errorf("want token and answer events: %v", types(evs))
	}
	for _, phase := range []string{bus.PhaseModel, bus.PhaseValidation, bus.PhaseExecution, bus.PhaseAnswer} {
		if done.Phases[phase] <= 0 {
			t.Errorf("phase %s = %v, want > 0 (phases %v)", phase, done.Phases[phase], done.Phases)
		}
	}
	t.Logf("phases (ms): %v", done.Phases)

	// The correction request showed the model what went wrong.
	reqs := commandRequests(m.srv)
	if len(reqs) != 2 {
		t.Fatalf("command requests = %d, want 2", len(reqs))
	}
	mustContain(t, "feedback", lastUser(reqs[1]), "ls /nonexistent-amf-dir", "Exit code: 2", "No such file or directory")
	if n := len(answerRequests(m.srv)); n != 1 {
		t.Errorf("answer requests = %d, want 1", n)
	}
}

func TestThreeFailuresEndFailedWithEachReason(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		cmdReply("a", "cat missing-a.txt"),
		cmdReply("b", "cat missing-b.txt"),
		cmdReply("c", "echo giving up >&2; exit 7"),
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "show the config"}))
	assertOneTerminal(t, evs)
	end := last(evs)
	if end.Type != bus.EventFailed {
		t.Fatalf("ended %s, want failed", end.Type)
	}
	if len(end.Attempts) != 3 {
		t.Fatalf("attempts = %+v, want 3", end.Attempts)
	}
	wants := []struct {
		cmd  string
		exit int
		why  string
	}{{"cat missing-a.txt", 1, "missing-a.txt"}, {"cat missing-b.txt", 1, "missing-b.txt"}, {"echo giving up >&2; exit 7", 7, "giving up"}}
	for i, w := range wants {
		a := end.Attempts[i]
		if a.Command != w.cmd || a.ExitCode == nil || *a.ExitCode != w.exit || !strings.Contains(a.Reason, w.why) {
			t.Errorf("attempt %d = %+v, want %q exit %d reason with %q", i+1, a, w.cmd, w.exit, w.why)
		}
	}
	mustContain(t, "failed reason", end.Reason, "3 attempts", "exit code 7")
	if end.Exec == nil || end.Exec.ExitCode != 7 {
		t.Errorf("failed exec = %+v, want the last run's exit 7", end.Exec)
	}
	if got := count(evs, bus.EventRetry); got != 2 {
		t.Errorf("retry events = %d, want 2", got)
	}
	if n := len(answerRequests(m.srv)); n != 0 {
		t.Errorf("a failed task asked for an answer %d times", n)
	}
}

func TestPolicyRefusalIsFedBackThenSafeCommandRuns(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		cmdReply("needs root", "sudo ls /root"),
		cmdReply("without privileges", "ls -a"),
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "list the files", NoAnswer: true}))
	done := last(evs)
	if done.Type != bus.EventDone || done.Command != "ls -a" {
		t.Fatalf("ended %+v", done)
	}
	rej := ofType(evs, bus.EventRejected)
	if len(rej) != 1 || rej[0].Rule != "root-escalation" || rej[0].Command != "sudo ls /root" || rej[0].Attempt != 1 {
		t.Fatalf("rejected events = %+v", rej)
	}
	if rej[0].Phases[bus.PhaseValidation] <= 0 {
		t.Errorf("rejected event carries no validation time: %v", rej[0].Phases)
	}
	for _, e := range ofType(evs, bus.EventExecStart) {
		if e.Command == "sudo ls /root" {
			t.Fatal("the refused command was started")
		}
	}
	if a := done.Attempts[0]; a.ExitCode != nil || !strings.Contains(a.Reason, "root-escalation") {
		t.Errorf("first attempt = %+v, want a refusal without exit code", a)
	}
	reqs := commandRequests(m.srv)
	mustContain(t, "refusal feedback", lastUser(reqs[1]), "sudo ls /root", "Rule: root-escalation", "Reason: sudo")
}

func TestUnusableReplyIsFedBackAndCountsAsAttempt(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		ollamatest.Reply{Content: "I'm sorry, but I need more details about which files you mean."},
		cmdReply("count entries", "ls -1 | wc -l"),
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "how many files", NoAnswer: true}))
	done := last(evs)
	if done.Type != bus.EventDone || len(done.Attempts) != 2 {
		t.Fatalf("ended %+v", done)
	}
	if a := done.Attempts[0]; a.Command != "" || !strings.Contains(a.Reason, "unusable reply") {
		t.Errorf("first attempt = %+v", a)
	}
	rej := ofType(evs, bus.EventRejected)
	if len(rej) != 1 || rej[0].Rule != bus.RuleUnusableReply {
		t.Errorf("rejected = %+v", rej)
	}
	mustContain(t, "unusable feedback", lastUser(commandRequests(m.srv)[1]), "could not be used", `{"thought":`, `"command":`)
}

func TestReplyShapesRunTheirCommand(t *testing.T) {
	shapes := []struct{ name, reply, want string }{
		{"structured", `{"thought": "print it", "command": "echo structured"}`, "echo structured"},
		{"fenced", "Here you go:\n\n```bash\necho fenced\n```\n\nThis prints a word.", "echo fenced"},
		{"bare", "echo bare", "echo bare"},
		{"tool call as text", `<tool_call>{"name": "run", "arguments": {"command": "echo tool"}}</tool_call>`, "echo tool"},
		{"label and thinking", "<think>simple</think>\nCommand: `echo label`", "echo label"},
	}
	m := newLoopMesh(t, nil)
	for _, s := range shapes {
		t.Run(s.name, func(t *testing.T) {
			m.srv.Enqueue(ollamatest.Reply{Content: s.reply})
			evs := m.wait(m.submit(bus.Task{Instruction: "say a word", NoAnswer: true}))
			done := last(evs)
			if done.Type != bus.EventDone || done.Command != s.want {
				t.Fatalf("ended %s with %q, want done with %q (%s)", done.Type, done.Command, s.want, done.Reason)
			}
			if len(done.Attempts) != 1 {
				t.Errorf("attempts = %d, want 1", len(done.Attempts))
			}
		})
	}
}

func TestSuccessWithStderrIsNotAFailure(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(cmdReply("warns", "echo warning: old format >&2; echo result")))
	evs := m.wait(m.submit(bus.Task{Instruction: "convert", NoAnswer: true}))
	done := last(evs)
	if done.Type != bus.EventDone || len(done.Attempts) != 1 || done.Output != "result" {
		t.Fatalf("ended %+v", done)
	}
	if got := count(evs, bus.EventStderr); got != 1 {
		t.Errorf("stderr events = %d, want the warning reported once", got)
	}
}

func TestFeedbackTailIsBounded(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		cmdReply("noisy", "seq 1 3000 >&2; seq 1 3000; exit 4"),
		cmdReply("quiet", "true"),
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "do it", NoAnswer: true}))
	if e := last(evs); e.Type != bus.EventDone {
		t.Fatalf("ended %+v", e)
	}
	fb := lastUser(commandRequests(m.srv)[1])
	mustContain(t, "feedback", fb, "Exit code: 4", "\n3000\n")
	if strings.Contains(fb, "\n1\n2\n3\n") {
		t.Error("feedback holds the head of the output, want only its tail")
	}
	if len(fb) > 5<<10 {
		t.Errorf("feedback is %d bytes; the tails should bound it", len(fb))
	}
}

func TestMaxAttemptsOne(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(cmdReply("x", "false"), cmdReply("never asked", "true")))
	evs := m.wait(m.submit(bus.Task{Instruction: "fail", MaxAttempts: 1}))
	if e := last(evs); e.Type != bus.EventFailed || len(e.Attempts) != 1 {
		t.Fatalf("ended %+v", e)
	}
	if n := len(m.srv.Requests()); n != 1 {
		t.Errorf("model asked %d times, want 1", n)
	}
}

func TestRepeatedFailedCommandIsNotRunAgain(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		cmdReply("x", "cat nothing.txt"),
		cmdReply("again", "cat nothing.txt"),
		cmdReply("else", "echo ok"),
	))
	evs := m.wait(m.submit(bus.Task{Instruction: "read it", NoAnswer: true}))
	done := last(evs)
	if done.Type != bus.EventDone || len(done.Attempts) != 3 {
		t.Fatalf("ended %+v", done)
	}
	if got := count(evs, bus.EventExecStart); got != 2 {
		t.Errorf("exec_start = %d, want 2: the repeat must not run", got)
	}
	if a := done.Attempts[1]; !strings.Contains(a.Reason, "repeated") {
		t.Errorf("second attempt = %+v", a)
	}
	mustContain(t, "repeat feedback", lastUser(commandRequests(m.srv)[2]), "already failed", "cat nothing.txt")
}

func TestNoAnswerSkipsTheAnswer(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(cmdReply("x", "echo 42")))
	evs := m.wait(m.submit(bus.Task{Instruction: "the answer", NoAnswer: true}))
	if e := last(evs); e.Type != bus.EventDone || e.Answer != "" || count(evs, bus.EventAnswer) != 0 {
		t.Fatalf("ended %+v with %d answer events", e, count(evs, bus.EventAnswer))
	}
	if n := len(m.srv.Requests()); n != 1 {
		t.Errorf("model asked %d times, want 1", n)
	}
}

func TestExplicitCommandNeverAsksTheModel(t *testing.T) {
	m := newLoopMesh(t, &workers.SolverConfig{})
	evs := m.wait(m.submit(bus.Task{Command: "echo direct"}))
	if e := last(evs); e.Type != bus.EventDone || e.Output != "direct" {
		t.Fatalf("ended %+v", e)
	}
	if n := len(m.srv.Requests()); n != 0 {
		t.Errorf("model asked %d times for an explicit command", n)
	}
}

func TestThinkingModelStreamsReasoningApart(t *testing.T) {
	m := newLoopMesh(t, &workers.SolverConfig{Model: "qwen3"},
		ollamatest.WithModels(ollamatest.Model{Name: "qwen3", Thinking: true}),
		ollamatest.WithReplies(ollamatest.Reply{Thinking: "The user wants the date. date prints it.", Content: `{"thought": "date", "command": "echo 2026"}`}))
	evs := m.wait(m.submit(bus.Task{Instruction: "what year is it", NoAnswer: true}))
	if e := last(evs); e.Type != bus.EventDone || e.Command != "echo 2026" {
		t.Fatalf("ended %+v", e)
	}
	var thinking, tokens strings.Builder
	for _, e := range evs {
		switch e.Type {
		case bus.EventThinking:
			thinking.WriteString(e.Text)
		case bus.EventToken:
			tokens.WriteString(e.Text)
		}
	}
	if thinking.String() != "The user wants the date. date prints it." {
		t.Errorf("thinking events = %q", thinking.String())
	}
	if tokens.String() != `{"thought": "date", "command": "echo 2026"}` {
		t.Errorf("token events = %q, want the reply alone", tokens.String())
	}
}

func TestCorrectionSeesItsReplyInTheAskedForm(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(
		ollamatest.Reply{Content: "<think>ls is enough</think>\nSure:\n```bash\nls /nope-amf\n```"},
		cmdReply("fix", "true"),
	))
	last(m.wait(m.submit(bus.Task{Instruction: "list", NoAnswer: true})))
	msgs := commandRequests(m.srv)[1].Messages
	echo := msgs[len(msgs)-2]
	if echo.Role != "assistant" || echo.Content != `{"thought":"ls is enough","command":"ls /nope-amf"}` {
		t.Errorf("the model's first reply came back as %s %q", echo.Role, echo.Content)
	}
}
