package workers_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/sandbox"
	"github.com/amf-os/amf/workers"
)

func TestSystemPromptDescribesTheSandbox(t *testing.T) {
	m := newLoopMesh(t, nil, ollamatest.WithReplies(cmdReply("x", "true")))
	last(m.wait(m.submit(bus.Task{Instruction: "anything", NoAnswer: true})))
	req := commandRequests(m.srv)[0]
	if req.Messages[0].Role != "system" {
		t.Fatalf("first message is %s", req.Messages[0].Role)
	}
	sys := req.Messages[0].Content
	facts, err := sandbox.Describe("")
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, "system prompt", sys, facts.Distro, facts.Shell, "tools present: ", "grep", "sudo", "no network", `{"thought":`)
	t.Logf("system prompt:\n%s", sys)

	var schema struct {
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(req.Format, &schema); err != nil || strings.Join(schema.Required, ",") != "thought,command" {
		t.Errorf("format = %s, want a schema requiring thought and command", req.Format)
	}
	if got := lastUser(req); got != "anything" {
		t.Errorf("user message = %q, want the instruction", got)
	}
}

func TestPromptFileReplacesOnlyWhatItDefines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prompts.tmpl")
	custom := `{{define "system"}}You are the ops helper of ACME. Shell: {{.Facts.Shell}}. Reply as JSON.{{end}}`
	if err := os.WriteFile(path, []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	m := newLoopMesh(t, &workers.SolverConfig{PromptFile: path}, ollamatest.WithReplies(cmdReply("x", "false"), cmdReply("y", "true")))
	last(m.wait(m.submit(bus.Task{Instruction: "check", NoAnswer: true})))
	reqs := commandRequests(m.srv)
	if sys := reqs[0].Messages[0].Content; !strings.HasPrefix(sys, "You are the ops helper of ACME. Shell: ") {
		t.Errorf("system prompt = %q", sys)
	}
	mustContain(t, "built-in feedback", lastUser(reqs[1]), "Exit code: 1")
}

func TestBrokenPromptFileStopsTheWorkerAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prompts.tmpl")
	if err := os.WriteFile(path, []byte(`{{define "failed"}}{{.NoSuchField}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m := newMesh(t)
	cfg := workers.Config{NC: m.k.NC}
	cfg.Runner, cfg.PromptFile = hostRunner(t), path
	_, err := workers.NewWorker(cfg)
	if !errors.Is(err, workers.ErrConfig) || !strings.Contains(err.Error(), `"failed"`) {
		t.Fatalf("NewWorker = %v, want ErrConfig naming the template", err)
	}
}

// Everything that differs between tasks — instruction, session history,
// the per-task work dir — comes after one system message that is the same
// for every task of a profile, so Ollama's prompt cache reuses it.
func TestSystemPromptIsTheSameForEveryTask(t *testing.T) {
	m := newLoopMesh(t, &workers.SolverConfig{Runner: hostRunner(t)}, ollamatest.WithFallback(cmdReply("x", "true")))
	last(m.wait(m.submit(bus.Task{Instruction: "first thing", NoAnswer: true})))
	last(m.wait(m.submit(bus.Task{Instruction: "second thing", Session: "s-1", NoAnswer: true})))
	last(m.wait(m.submit(bus.Task{Instruction: "third thing", Session: "s-1", NoAnswer: true})))
	reqs := commandRequests(m.srv)
	if len(reqs) != 3 {
		t.Fatalf("%d command requests", len(reqs))
	}
	for i, r := range reqs[1:] {
		if r.Messages[0].Content != reqs[0].Messages[0].Content {
			t.Fatalf("system prompt of task %d differs from the first:\n%s\n---\n%s", i+2, r.Messages[0].Content, reqs[0].Messages[0].Content)
		}
	}
	mustContain(t, "third request", lastUser(reqs[2]), "Earlier requests in this conversation", "second thing", "keeps what those requests left", "third thing")
	if strings.Contains(reqs[0].Messages[0].Content, m.state) {
		t.Errorf("the system prompt names the per-task work dir")
	}
}

// An override of a template no request uses any more would be ignored
// without a word; it stops the worker at start, saying where its text
// goes now.
func TestPromptFileWithARetiredTemplateSaysWhereItGoes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prompts.tmpl")
	if err := os.WriteFile(path, []byte(`{{define "answer-system"}}Answer tersely.{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := workers.NewSolver(workers.SolverConfig{Runner: hostRunner(t), PromptFile: path})
	if !errors.Is(err, workers.ErrConfig) || !strings.Contains(err.Error(), `"answer-system"`) || !strings.Contains(err.Error(), `into "answer"`) {
		t.Fatalf("NewSolver = %v, want ErrConfig naming answer-system and where its text goes", err)
	}
}
