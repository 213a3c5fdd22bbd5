package workers

import (
	"slices"

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
	// minAnswerOutputBytes is the output the answer is worth shortening
	// the conversation for.
	minAnswerOutputBytes = 2 << 10
)

// answer asks the model, streamed as answer events, to answer the user's
// instruction from what the successful command printed, and to judge
// whether that output answers it at all (nil: it did not say).
//
// The question continues conv, the conversation that found the command:
// Ollama keeps one processed prompt per model slot (one by default), and
// a request that began otherwise would replace the cached system prompt,
// so the next task would process it all again. Continuing, the answer
// reuses the whole conversation and leaves the prefix in place.
func (r *run) answer(conv []api.Message, out execOutcome) (string, *bool, error) {
	stdout := out.stdout.String()
	data := answerData{Instruction: r.task.Instruction, Command: out.command}
	// The output shown is bounded by the context too, so that Ollama never
	// truncates the prompt. When the conversation leaves too little room
	// for the output, the failed attempts go first, then the request (its
	// session history and examples): the question names the request and
	// the command itself, and the system prompt still leads.
	numCtx := r.s.contextSize(r.ctx)
	budget := numCtx - max(minReplyTokens, min(replyTokens, numCtx/4))
	fixed := r.s.render("answer", data)
	want := min(len(stdout)+len(out.stderr.String()), minAnswerOutputBytes)
	for _, c := range [][]api.Message{conv, {conv[0], conv[1], conv[len(conv)-1]}, conv[:1]} {
		conv = c
		if promptTokens(append(texts(c), fixed)...)+want <= budget {
			break
		}
	}
	room := budget - promptTokens(append(texts(conv), fixed)...)
	stdoutBytes := min(answerStdoutBytes, max(room*3/4, 256))
	stderrBytes := min(answerStderrBytes, max(room/4, 128))
	data.Stdout = tailOf(stdout, stdoutBytes)
	data.Stderr = tailOf(out.stderr.String(), stderrBytes)
	data.Clipped = len(stdout) > stdoutBytes || out.result.Truncated || out.stdout.dropped
	msgs := append(slices.Clip(conv), api.Message{Role: "user", Content: r.s.render("answer", data)})
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

// texts are the contents of msgs, for sizing a prompt.
func texts(msgs []api.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Content
	}
	return out
}
