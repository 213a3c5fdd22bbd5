package workers

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/kernel/bus"
)

// DefaultNumCtx caps the context a worker asks Ollama for when the
// operator sets no num_ctx: the model's own length when smaller. A larger
// context costs memory and load time on every request; AMF's prompt is a
// few thousand tokens.
const DefaultNumCtx = 8192

// minNumCtx is what a worker asks for when the model's length is unknown:
// Ollama's own default.
const minNumCtx = 2048

// contextSize is the num_ctx of every request of this solver: the
// operator's, else the model's context length (/api/show) capped at
// DefaultNumCtx. It is decided once, so the value never changes between
// requests and Ollama never reloads the model for it.
func (s *Solver) contextSize(ctx context.Context) int {
	s.ctxOnce.Do(func() {
		opts := maps.Clone(s.cfg.ModelOptions)
		n := minNumCtx
		if v, ok := opts["num_ctx"].(float64); ok && v > 0 {
			n = int(v)
		} else if v, ok := opts["num_ctx"].(int); ok && v > 0 {
			n = v
		} else {
			if l := s.modelContextLength(ctx); l > 0 {
				n = min(l, DefaultNumCtx)
			}
			opts["num_ctx"] = n
		}
		s.numCtx, s.options = n, opts
	})
	return s.numCtx
}

// requestOptions are the options of every request, num_ctx included.
func (s *Solver) requestOptions(ctx context.Context) map[string]any {
	s.contextSize(ctx)
	return s.options
}

// modelOptions are the options of this task's requests: the worker's,
// with the task's own over them. The bus admits only sampling options in
// a task (bus.ModelOptions.Validate), so they never make Ollama reload
// the model or change what other tasks get.
func (r *run) modelOptions() map[string]any {
	opts := r.s.requestOptions(r.ctx)
	if len(r.task.ModelOptions) == 0 {
		return opts
	}
	opts = maps.Clone(opts)
	for k, v := range r.task.ModelOptions {
		opts[k] = v
	}
	return opts
}

// modelContextLength reads "<arch>.context_length" from /api/show; 0 when
// it cannot be known.
func (s *Solver) modelContextLength(ctx context.Context) int {
	ms, ok := s.cfg.LLM.(modelServer)
	if !ok {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
	defer cancel()
	show, err := ms.Show(ctx, &api.ShowRequest{Model: s.cfg.Model})
	if err != nil {
		s.cfg.Logger.Warn("read the model's context length; asking for the default", "num_ctx", minNumCtx, "err", err)
		return 0
	}
	for k, v := range show.ModelInfo {
		if strings.HasSuffix(k, ".context_length") {
			if f, ok := v.(float64); ok && f > 0 {
				return int(f)
			}
		}
	}
	return 0
}

// Room kept for the reply within the context, in tokens.
const (
	replyTokens    = 1024
	minReplyTokens = 256
)

// promptTokens bounds the tokens of a text from above: a token covers at
// least one byte, so a prompt that fits by this count fits for any
// tokenizer, and Ollama never has to truncate it.
func promptTokens(texts ...string) int {
	n := 0
	for _, t := range texts {
		n += len(t) + 4 // the chat template's role markers
	}
	return n
}

// fitRequest leaves out session turns (oldest first), then memory
// examples (least similar first), until the system prompt and the request
// fit the context with room for the reply, and says so in a progress
// event. It returns the rendered request.
func (r *run) fitRequest(ctx context.Context, system string, data requestData) string {
	numCtx := r.s.contextSize(ctx)
	budget := numCtx - max(minReplyTokens, min(replyTokens, numCtx/4))
	text := r.s.render("request", data)
	turns, examples := 0, 0
	for promptTokens(system, text) > budget && (len(data.History) > 0 || len(data.Examples) > 0) {
		if len(data.History) > 0 {
			data.History = data.History[1:]
			turns++
		} else {
			data.Examples = data.Examples[:len(data.Examples)-1]
			examples++
		}
		data.Omitted = turns + examples
		text = r.s.render("request", data)
	}
	if data.Omitted > 0 {
		r.em.emitText(bus.EventProgress, fmt.Sprintf(
			"left out %d older session turn%s and %d memory example%s so the prompt fits the model's context (num_ctx %d)",
			turns, plural(turns), examples, plural(examples), numCtx))
	}
	if n := promptTokens(system, text); n > budget {
		// Only a tokenizer of less than a byte per token keeps this
		// from being cut by Ollama; say so rather than hope.
		r.em.emitText(bus.EventProgress, fmt.Sprintf(
			"the prompt is %d bytes, more than the %d tokens num_ctx %d leaves for it if each token is a byte; if the model's tokenizer is that fine, Ollama will cut the prompt: raise num_ctx (--model-options) or use a shorter --prompt",
			n, budget, numCtx))
	}
	return text
}
