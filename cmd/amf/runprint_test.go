package main

import (
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
)

// What `amf run` prints for a task that retried, waited for the model,
// answered and was then cancelled: each line once, the answer wholly on
// stdout.
func TestRunPrinterLines(t *testing.T) {
	var out, errw strings.Builder
	p := &printer{out: &out, err: &errw}
	for _, e := range []bus.Event{
		{Type: bus.EventProgress, Text: "waiting for the model: Ollama is loading qwen3-coder"},
		{Type: bus.EventToken, Text: `{"command":"ls"}`},
		{Type: bus.EventRetry, Attempt: 1, Rule: bus.RuleModel, Reason: "cannot reach Ollama at http://x", Text: "asking the model again in 250ms (retry 1 of 3)"},
		{Type: bus.EventRetry, Attempt: 2, Rule: bus.RuleCommandFailed, Reason: "exit code 2: ls: cannot access 'x'", Text: "attempt 2 of 3"},
		{Type: bus.EventAnswer, Text: "There are "},
		{Type: bus.EventAnswer, Text: "three files."},
		{Type: bus.EventDone, Attempt: 2},
		{Type: bus.EventCancelled, Reason: "stop"},
	} {
		p.print(e)
	}
	if got, want := out.String(), "There are three files.\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	e := errw.String()
	for _, want := range []string{
		"⋯ waiting for the model: Ollama is loading qwen3-coder\n",
		"{\"command\":\"ls\"}\n↻ asking the model again in 250ms (retry 1 of 3): cannot reach Ollama at http://x\n",
		"↻ attempt 2 of 3, after: exit code 2: ls: cannot access 'x'\n",
		"✗ cancelled: stop\n",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
	if strings.Contains(e, "attempt 2: attempt 2") || strings.Contains(e, "cancelled: cancelled") {
		t.Errorf("a line repeats itself:\n%s", e)
	}
	if strings.Contains(e, "three files") || strings.HasPrefix(strings.TrimPrefix(e, "⋯"), "\n") {
		t.Errorf("answer text or its newline went to stderr:\n%s", e)
	}
}
