package ollamatest

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ollama/ollama/api"
)

// handleChat serves POST /api/chat with ChatHandler's checks, in its order
// and with its messages.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req api.ChatRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	s.chats = append(s.chats, req)
	s.mu.Unlock()

	if req.TopLogprobs < 0 || req.TopLogprobs > 20 {
		writeError(w, http.StatusBadRequest, "top_logprobs must be between 0 and 20")
		return
	}
	if canonicalName(req.Model) == "" {
		writeError(w, http.StatusBadRequest, "model is required")
		return
	}
	m := s.lookup(req.Model)
	if m == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	if len(req.Messages) == 0 && req.KeepAlive != nil && req.KeepAlive.Duration == 0 {
		s.unload(m)
		writeJSON(w, http.StatusOK, api.ChatResponse{
			Model: req.Model, CreatedAt: time.Now().UTC(),
			Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "unload",
		})
		return
	}
	thinking, status, msg := checkThink(m, req.Model, req.Think)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	if m.Embedding {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support chat", req.Model))
		return
	}
	if !s.waitHang(r.Context()) || !s.load(r.Context(), m) {
		s.abort(w)
		return
	}
	loaded := time.Now()
	if len(req.Messages) == 0 {
		writeJSON(w, http.StatusOK, api.ChatResponse{
			Model: req.Model, CreatedAt: time.Now().UTC(),
			Message: api.Message{Role: "assistant"}, Done: true, DoneReason: "load",
		})
		return
	}
	if req.Think != nil && req.Think.IsString() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("think value %q is not supported for this model", req.Think.String()))
		return
	}
	if msg := checkFormat(req.Format); msg != "" {
		writeError(w, http.StatusInternalServerError, msg)
		return
	}

	reply := s.replyFor(&req)
	if reply.Err != nil {
		writeError(w, reply.Err.Status, reply.Err.Message)
		return
	}
	var prompt []byte
	for _, msg := range req.Messages {
		prompt = append(prompt, msg.Content...)
		prompt = append(prompt, '\n')
	}
	c := newCompletion(reply, thinking, string(prompt), start, loaded)
	s.deliver(w, r, c, chatFramer{model: req.Model}, req.Stream == nil || *req.Stream)
}

// checkThink applies Ollama's thinking rules: a thinking model thinks unless
// told not to; asking any other model to think is a 400. A non-zero status
// is the error to answer.
func checkThink(m *modelEntry, name string, think *api.ThinkValue) (thinking bool, status int, msg string) {
	if !m.Thinking {
		if think != nil && think.Bool() {
			return false, http.StatusBadRequest, fmt.Sprintf("%q does not support thinking", name)
		}
		return false, 0, ""
	}
	return think == nil || think.Bool(), 0, ""
}

// checkFormat is the runner's format check: "json", a JSON Schema object,
// or nothing; other values fail the completion (a 500, as Ollama answers).
func checkFormat(format []byte) string {
	switch string(format) {
	case "", "null", `""`, `"json"`:
		return ""
	}
	if format[0] != '{' {
		return fmt.Sprintf("invalid format: %q; expected \"json\" or a valid JSON Schema object", format)
	}
	return ""
}

func (s *Server) unload(m *modelEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.loaded, m.display)
}

// chatFramer shapes /api/chat messages.
type chatFramer struct{ model string }

func (f chatFramer) frame(p piece) any {
	return api.ChatResponse{
		Model:     f.model,
		CreatedAt: time.Now().UTC(),
		Message:   api.Message{Role: "assistant", Content: p.content, Thinking: p.thinking, ToolCalls: p.toolCalls},
	}
}

func (f chatFramer) final(whole *piece, reason string, m api.Metrics) any {
	msg := api.Message{Role: "assistant"}
	if whole != nil {
		msg.Content, msg.Thinking, msg.ToolCalls = whole.content, whole.thinking, whole.toolCalls
	}
	return api.ChatResponse{
		Model:      f.model,
		CreatedAt:  time.Now().UTC(),
		Message:    msg,
		Done:       true,
		DoneReason: reason,
		Metrics:    m,
	}
}
