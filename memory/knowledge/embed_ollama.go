package knowledge

import (
	"context"
	"fmt"

	"github.com/ollama/ollama/api"
)

// DefaultEmbedModel is a small, widely available Ollama embedding model.
const DefaultEmbedModel = "nomic-embed-text"

// ollamaBatch bounds one /api/embed request so a long catch-up does not
// build a request the server refuses.
const ollamaBatch = 64

// OllamaEmbedder embeds with an Ollama model through /api/embed.
func OllamaEmbedder(client *api.Client, model string) Embedder {
	if model == "" {
		model = DefaultEmbedModel
	}
	return &ollamaEmbedder{client: client, model: model}
}

type ollamaEmbedder struct {
	client *api.Client
	model  string
}

func (e *ollamaEmbedder) Name() string { return "ollama/" + e.model }

func (e *ollamaEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if e.client == nil {
		return nil, fmt.Errorf("%w: no Ollama client", ErrEmbed)
	}
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += ollamaBatch {
		chunk := texts[start:min(start+ollamaBatch, len(texts))]
		resp, err := e.client.Embed(ctx, &api.EmbedRequest{Model: e.model, Input: chunk})
		if err != nil {
			return nil, fmt.Errorf("%w: ollama %s: %w", ErrEmbed, e.model, err)
		}
		if len(resp.Embeddings) != len(chunk) {
			return nil, fmt.Errorf("%w: ollama %s returned %d vectors for %d texts", ErrEmbed, e.model, len(resp.Embeddings), len(chunk))
		}
		for i, v := range resp.Embeddings {
			if len(v) == 0 {
				return nil, fmt.Errorf("%w: ollama %s returned an empty vector for text %d", ErrEmbed, e.model, start+i)
			}
		}
		out = append(out, resp.Embeddings...)
	}
	return out, nil
}
