package workers

import (
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/kernel/bus"
)

const systemPrompt = `You turn a request into exactly one POSIX shell command for Linux.
Reply with the command only: no prose, no code fences.`

// solve turns an instruction into a command with the model and runs it.
func (r *run) solve() bus.Event {
	r.em.attempt = 1
	if r.w.LLM == nil {
		e := r.em.event(bus.EventFailed)
		e.Reason = "this worker has no model configured: start it with OLLAMA_HOST pointing at Ollama, or send an explicit \"command\""
		return e
	}
	reply, err := r.think([]api.Message{
		{Role: "system", Content: systemPrompt},
		{Role: "user", Content: r.task.Instruction},
	})
	if err != nil {
		e := r.em.event(bus.EventFailed)
		e.Rule = "model"
		e.Reason, _ = modelProblem(err, r.w.LLMHost, r.w.Model)
		return e
	}
	cmd := firstCommand(reply)
	c := r.em.event(bus.EventCommand)
	c.Command = cmd
	r.em.emit(c)
	return r.conclude(r.runCommand(cmd), nil)
}

// think streams one reply from the model, publishing every token as it
// arrives, and returns the whole reply.
func (r *run) think(msgs []api.Message) (string, error) {
	start := time.Now()
	defer func() { r.phases["model"] += time.Since(start) }()
	stream := true
	var sb strings.Builder
	err := r.w.LLM.Chat(r.ctx, &api.ChatRequest{Model: r.w.Model, Messages: msgs, Stream: &stream}, func(resp api.ChatResponse) error {
		if tok := resp.Message.Content; tok != "" {
			sb.WriteString(tok)
			r.em.emitText(bus.EventToken, tok)
		}
		return nil
	})
	return sb.String(), err
}

// firstCommand takes the command out of a bare reply, dropping fences.
func firstCommand(reply string) string {
	s := strings.TrimSpace(reply)
	s = strings.TrimPrefix(s, "```sh")
	s = strings.TrimPrefix(s, "```bash")
	s = strings.TrimPrefix(s, "```")
	s = strings.TrimSuffix(s, "```")
	return strings.TrimSpace(s)
}
