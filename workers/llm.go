package workers

import (
	"context"

	"github.com/ollama/ollama/api"
)

// LLM is the part of Ollama's client the worker uses; *api.Client
// implements it, and so does anything else that speaks the chat API.
type LLM interface {
	Chat(ctx context.Context, req *api.ChatRequest, fn api.ChatResponseFunc) error
}

var _ LLM = (*api.Client)(nil)
