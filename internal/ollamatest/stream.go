package ollamatest

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
)

// piece is one streamed chunk's payload.
type piece struct {
	thinking  string
	content   string
	toolCalls []api.ToolCall
}

// framer shapes pieces into one endpoint's messages (chat or generate).
type framer interface {
	// frame is a streamed, not-done message.
	frame(p piece) any
	// final is the done:true message; whole holds everything streamed,
	// set only when the response is not streamed.
	final(whole *piece, reason string, m api.Metrics) any
}

// completion is one scripted answer being delivered.
type completion struct {
	reply        Reply
	pieces       []piece
	evalCount    int
	promptTokens int
	start        time.Time // request arrived
	loaded       time.Time // model ready
}

func newCompletion(reply Reply, thinking bool, promptText string, start, loaded time.Time) *completion {
	c := &completion{reply: reply, start: start, loaded: loaded, promptTokens: max(countTokens(promptText), 1)}
	if thinking {
		for _, t := range Tokenize(reply.Thinking) {
			c.pieces = append(c.pieces, piece{thinking: t})
		}
	}
	for _, t := range reply.contentTokens() {
		c.pieces = append(c.pieces, piece{content: t})
	}
	c.evalCount = max(len(c.pieces), 1)
	if len(reply.ToolCalls) > 0 {
		calls := append([]api.ToolCall(nil), reply.ToolCalls...)
		for i := range calls {
			if calls[i].ID == "" {
				calls[i].ID = toolCallID()
			}
		}
		c.pieces = append(c.pieces, piece{toolCalls: calls})
	}
	return c
}

// metrics are the duration fields of the done message, measured on this
// delivery and never zero, as from a real model.
func (c *completion) metrics(firstChunk, end time.Time) api.Metrics {
	atLeast := func(d time.Duration) time.Duration { return max(d, time.Microsecond) }
	return api.Metrics{
		TotalDuration:      atLeast(end.Sub(c.start)),
		LoadDuration:       atLeast(c.loaded.Sub(c.start)),
		PromptEvalCount:    c.promptTokens,
		PromptEvalDuration: atLeast(firstChunk.Sub(c.loaded)),
		EvalCount:          c.evalCount,
		EvalDuration:       atLeast(end.Sub(firstChunk)),
	}
}

func (c *completion) whole() *piece {
	var th, ct strings.Builder
	var calls []api.ToolCall
	for _, p := range c.pieces {
		th.WriteString(p.thinking)
		ct.WriteString(p.content)
		calls = append(calls, p.toolCalls...)
	}
	return &piece{thinking: th.String(), content: ct.String(), toolCalls: calls}
}

func (c *completion) doneReason() string {
	if c.reply.DoneReason != "" {
		return c.reply.DoneReason
	}
	return "stop"
}

// deliver sends a completion, streamed as NDJSON or as one JSON object,
// acting out the reply's failures on the way.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request, c *completion, f framer, stream bool) {
	ctx := r.Context()
	reply := c.reply
	delay := reply.Delay
	if delay == 0 {
		s.mu.Lock()
		delay = s.tokenDelay
		s.mu.Unlock()
	}
	if reply.Hang && reply.HangAfter <= 0 {
		s.block(ctx, w)
		return
	}
	rc := http.NewResponseController(w)
	written := false
	first := time.Time{}
	for i, p := range c.pieces {
		switch {
		case reply.CutAfter > 0 && i == reply.CutAfter:
			s.cut(w, rc)
			return
		case reply.Hang && i == reply.HangAfter:
			s.block(ctx, w)
			return
		}
		if !s.sleep(ctx, delay) {
			s.abort(w)
			return
		}
		if first.IsZero() {
			first = time.Now()
		}
		if !stream {
			continue
		}
		if !written {
			w.Header().Set("Content-Type", contentNDJSON)
			written = true
		}
		if !writeLine(w, rc, f.frame(p)) {
			return
		}
	}
	n := len(c.pieces)
	switch {
	case reply.CutAfter > 0 && n >= reply.CutAfter:
		s.cut(w, rc)
		return
	case reply.Hang && n <= reply.HangAfter:
		s.block(ctx, w)
		return
	}
	if first.IsZero() {
		if !s.sleep(ctx, delay) {
			s.abort(w)
			return
		}
		first = time.Now()
	}
	if reply.StreamErr != "" {
		if written {
			// Mid-stream, as streamResponse does: an error line, then the end.
			b, _ := json.Marshal(map[string]string{"error": reply.StreamErr})
			_, _ = w.Write(append(b, '\n'))
			return
		}
		writeError(w, http.StatusInternalServerError, reply.StreamErr)
		return
	}
	m := c.metrics(first, time.Now())
	if !stream {
		writeJSON(w, http.StatusOK, f.final(c.whole(), c.doneReason(), m))
		return
	}
	if !written {
		w.Header().Set("Content-Type", contentNDJSON)
	}
	writeLine(w, rc, f.final(nil, c.doneReason(), m))
}

// writeLine writes one NDJSON line and flushes it to the client.
func writeLine(w http.ResponseWriter, rc *http.ResponseController, v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// cut drops the connection without ending the response, as a dying Ollama
// does: the client reads an unexpected EOF.
func (s *Server) cut(w http.ResponseWriter, rc *http.ResponseController) {
	// Hijack sends what is buffered; chunks were flushed as written.
	conn, _, err := rc.Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): net/http aborts the response itself.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// toolCallID is Ollama's "call_" + 8 random lower-case alphanumerics.
func toolCallID() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 8)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return "call_" + string(b)
}
