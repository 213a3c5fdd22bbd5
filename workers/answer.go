package workers

import (
	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/clip"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers/reply"
)

// Bounds of the answer: what the model reads, and what done carries.
const (
	answerStdoutBytes = 6 << 10
	answerStderrBytes = 1 << 10
	maxAnswerBytes    = 4 << 10
)

// answer asks the model, streamed as answer events, to answer the user's
// instruction from what the successful command printed, and to judge
// whether that output answers it at all (nil: it did not say).
func (r *run) answer(out execOutcome) (string, *bool, error) {
	stdout := out.stdout.String()
	system := r.s.render("answer-system", nil)
	// The output shown is bounded by the context too, so that Ollama never
	// truncates the prompt: the instruction and command stay whole.
	numCtx := r.s.contextSize(r.ctx)
	room := numCtx - max(minReplyTokens, min(replyTokens, numCtx/4)) - promptTokens(system, r.task.Instruction, out.command) - 256
	stdoutBytes := min(answerStdoutBytes, max(room*3/4, 256))
	stderrBytes := min(answerStderrBytes, max(room/4, 128))
	data := answerData{
		Instruction: r.task.Instruction,
		Command:     out.command,
		Stdout:      tailOf(stdout, stdoutBytes),
		Stderr:      tailOf(out.stderr.String(), stderrBytes),
		Clipped:     len(stdout) > stdoutBytes || out.result.Truncated || out.stdout.dropped,
	}
	msgs := []api.Message{
		{Role: "system", Content: system},
		{Role: "user", Content: r.s.render("answer", data)},
	}
	raw, err := r.ask(msgs, answerFormat, bus.EventAnswer, bus.PhaseAnswer)
	if err != nil {
		return "", nil, err
	}
	a := parseAnswer(raw)
	// Thinking models without a separate thinking channel print their
	// reasoning inline; the user wants only the answer.
	text := reply.Text(a.Answer)
	return clip.String(text, maxAnswerBytes), a.AnswersRequest, nil
}
