package workers

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"

	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/sandbox"
)

//go:embed prompt.tmpl
var builtinPrompts string

// promptNames are the templates the worker renders; an override file may
// replace any of them.
var promptNames = []string{"system", "request", "failed", "refused", "repeated", "unusable", "answer"}

// retiredPrompts are templates an override may still define that no
// request uses any more, with what to do instead.
var retiredPrompts = map[string]string{
	"answer-system": `the answer is asked for in the conversation that found the command (so Ollama reuses its cached prompt); move its text into "answer"`,
}

// commandFormat is the JSON schema Ollama constrains command replies to.
var commandFormat = json.RawMessage(`{"type":"object","properties":{"thought":{"type":"string"},"command":{"type":"string"}},"required":["thought","command"]}`)

var promptFuncs = template.FuncMap{
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
	"indent": func(prefix, s string) string {
		return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
	},
}

// systemData fills the "system" template: only what is the same for
// every task of a profile, so the prompt's prefix is too.
type systemData struct {
	Facts sandbox.Facts
	// Missing are tools models often reach for that this sandbox lacks.
	Missing []string
}

// requestData fills the "request" template: what varies per task.
type requestData struct {
	Instruction string
	Examples    []memory.Match
	History     []memory.Turn
	// Omitted counts examples and turns left out to fit the context.
	Omitted int
}

// feedbackData fills "failed", "refused", "repeated" and "unusable".
type feedbackData struct {
	Attempt, MaxAttempts int
	Command              string
	ExitCode             int
	// Why names a signal, timeout or limit that ended the command.
	Why            string
	Rule, Reason   string
	Stdout, Stderr string
}

// answerData fills "answer".
type answerData struct {
	Instruction, Command string
	Stdout, Stderr       string
	Clipped              bool
}

// loadPrompts parses the built-in prompts and, when path is set, the
// operator's definitions over them, then renders each once with sample
// data so that a broken override fails at start, not in a task.
func loadPrompts(path string) (*template.Template, error) {
	t := template.Must(template.New("prompts").Funcs(promptFuncs).Parse(builtinPrompts))
	if path == "" {
		return t, nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: read prompt file: %v", ErrConfig, err)
	}
	if _, err := t.Parse(string(text)); err != nil {
		return nil, fmt.Errorf("%w: prompt file %s: %v", ErrConfig, path, err)
	}
	for name, why := range retiredPrompts {
		if t.Lookup(name) != nil {
			return nil, fmt.Errorf("%w: prompt file %s defines %q, which is no longer used: %s", ErrConfig, path, name, why)
		}
	}
	samples := map[string]any{
		"system":  systemData{Facts: sandbox.Facts{Tools: []string{"ls"}}, Missing: []string{"jq"}},
		"request": requestData{Instruction: "x", Examples: []memory.Match{{Instruction: "x", Command: "true"}}, History: []memory.Turn{{Instruction: "y", Command: "true"}}, Omitted: 1},
		"answer":  answerData{Instruction: "x", Command: "true", Stdout: "y"},
	}
	for _, name := range promptNames {
		data, ok := samples[name]
		if !ok {
			data = feedbackData{Attempt: 1, MaxAttempts: 3, Command: "false", ExitCode: 1, Reason: "r", Rule: "r", Stderr: "e"}
		}
		if err := t.ExecuteTemplate(new(strings.Builder), name, data); err != nil {
			return nil, fmt.Errorf("%w: prompt file %s: template %q: %v", ErrConfig, path, name, err)
		}
	}
	return t, nil
}

// render fills one prompt. The templates were all rendered once at
// start, so an error here means data the override did not expect; the
// built-in text is used then, so the task still gets a prompt.
func (s *Solver) render(name string, data any) string {
	var b strings.Builder
	if err := s.prompts.ExecuteTemplate(&b, name, data); err == nil {
		return strings.TrimSpace(b.String())
	} else {
		s.cfg.Logger.Warn("prompt override failed; using the built-in prompt", "template", name, "err", err)
	}
	b.Reset()
	builtin := template.Must(template.New("prompts").Funcs(promptFuncs).Parse(builtinPrompts))
	if err := builtin.ExecuteTemplate(&b, name, data); err != nil {
		panic("workers: built-in prompt " + name + ": " + err.Error())
	}
	return strings.TrimSpace(b.String())
}
