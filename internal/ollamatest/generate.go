package ollamatest

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"time"

	"github.com/ollama/ollama/api"
)

// handleGenerate serves POST /api/generate with GenerateHandler's checks.
// The handler and the queue see it as a chat request: the system prompt
// and the prompt become a system and a user message.
func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req api.GenerateRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	s.generates = append(s.generates, req)
	s.mu.Unlock()

	if req.TopLogprobs < 0 || req.TopLogprobs > 20 {
		writeError(w, http.StatusBadRequest, "top_logprobs must be between 0 and 20")
		return
	}
	m := s.lookup(req.Model)
	if m == nil {
		// Ollama answers an empty or unknown name alike here.
		writeError(w, http.StatusNotFound, fmt.Sprintf("model '%s' not found", req.Model))
		return
	}
	if req.Prompt == "" && req.KeepAlive != nil && req.KeepAlive.Duration == 0 {
		s.unload(m)
		writeJSON(w, http.StatusOK, api.GenerateResponse{
			Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: "unload",
		})
		return
	}
	if req.Raw && (req.Template != "" || req.System != "" || len(req.Context) > 0) {
		writeError(w, http.StatusBadRequest, "raw mode does not support template, system, or context")
		return
	}
	if req.Think != nil && req.Think.IsString() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("think value %q is not supported for this model", req.Think.String()))
		return
	}
	thinking, status, msg := checkThink(m, req.Model, req.Think)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	if m.Embedding {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q does not support generate", req.Model))
		return
	}
	if !s.waitHang(r.Context()) || !s.load(r.Context(), m) {
		s.abort(w)
		return
	}
	loaded := time.Now()
	if req.Prompt == "" {
		writeJSON(w, http.StatusOK, api.GenerateResponse{
			Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: "load",
		})
		return
	}
	if msg := checkFormat(req.Format); msg != "" {
		writeError(w, http.StatusInternalServerError, msg)
		return
	}

	chat := api.ChatRequest{
		Model: req.Model, Stream: req.Stream, Format: req.Format, KeepAlive: req.KeepAlive,
		Options: req.Options, Think: req.Think,
	}
	if req.System != "" {
		chat.Messages = append(chat.Messages, api.Message{Role: "system", Content: req.System})
	}
	chat.Messages = append(chat.Messages, api.Message{Role: "user", Content: req.Prompt})
	reply := s.replyFor(&chat)
	if reply.Err != nil {
		writeError(w, reply.Err.Status, reply.Err.Message)
		return
	}
	prompt := req.System + "\n" + req.Prompt
	c := newCompletion(reply, thinking, prompt, start, loaded)
	f := generateFramer{model: req.Model}
	if !req.Raw {
		f.context = tokenIDs(prompt + c.whole().content)
	}
	s.deliver(w, r, c, f, req.Stream == nil || *req.Stream)
}

// generateFramer shapes /api/generate messages.
type generateFramer struct {
	model   string
	context []int
}

func (f generateFramer) frame(p piece) any {
	return api.GenerateResponse{
		Model:     f.model,
		CreatedAt: time.Now().UTC(),
		Response:  p.content,
		Thinking:  p.thinking,
		ToolCalls: p.toolCalls,
	}
}

func (f generateFramer) final(whole *piece, reason string, m api.Metrics) any {
	res := api.GenerateResponse{
		Model:      f.model,
		CreatedAt:  time.Now().UTC(),
		Done:       true,
		DoneReason: reason,
		Context:    f.context,
		Metrics:    m,
	}
	if whole != nil {
		res.Response, res.Thinking, res.ToolCalls = whole.content, whole.thinking, whole.toolCalls
	}
	return res
}

// tokenIDs stands in for the token ids Ollama returns as the generate
// context: stable ids of the text's tokens in a 150k vocabulary.
func tokenIDs(text string) []int {
	toks := Tokenize(text)
	ids := make([]int, len(toks))
	for i, t := range toks {
		h := fnv.New32a()
		_, _ = h.Write([]byte(t))
		ids[i] = int(h.Sum32() % 151_936)
	}
	return ids
}
