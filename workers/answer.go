package workers

import (
	"strings"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/kernel/bus"
)

// Bounds of the answer: what the model reads, and what done carries.
const (
	answerStdoutBytes = 6 << 10
	answerStderrBytes = 1 << 10
	maxAnswerBytes    = 4 << 10
)

// answer asks the model, streamed as answer events, to answer the user's
// instruction from what the successful command printed.
func (r *run) answer(out execOutcome) (string, error) {
	stdout := out.stdout.String()
	data := answerData{
		Instruction: r.task.Instruction,
		Command:     out.command,
		Stdout:      tailOf(stdout, answerStdoutBytes),
		Stderr:      tailOf(out.stderr.String(), answerStderrBytes),
		Clipped:     len(stdout) > answerStdoutBytes || out.result.Truncated || out.stdout.dropped,
	}
	msgs := []api.Message{
		{Role: "system", Content: r.w.render("answer-system", nil)},
		{Role: "user", Content: r.w.render("answer", data)},
	}
	reply, err := r.ask(msgs, nil, bus.EventAnswer, bus.PhaseAnswer)
	if err != nil {
		return "", err
	}
	// Thinking models without a separate thinking channel print their
	// reasoning inline; the user wants only the answer.
	text, _ := stripThinking(cleanReply(reply))
	return clip(strings.TrimSpace(text), maxAnswerBytes), nil
}
