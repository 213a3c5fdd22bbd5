package knowledge

import (
	"context"
	"log/slog"
	"time"

	"github.com/ollama/ollama/api"
)

// Embedder turns texts into vectors. Vectors of one embedder are
// comparable only with each other, which is why the index records the
// embedder's Name and the vectors' dimension and rebuilds itself from the
// stream when either changes.
type Embedder interface {
	// Name identifies the embedder and its version, e.g. "local-v1" or
	// "ollama/nomic-embed-text".
	Name() string
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// ChooseEmbedder returns the Ollama embedder for model when Ollama
// answers with a vector, else the local embedder; an empty model means
// local. The fallback is logged because it changes every vector: the
// index is rebuilt from the stream when the embedder changes.
func ChooseEmbedder(ctx context.Context, client *api.Client, model string, log *slog.Logger) Embedder {
	if model == "" || client == nil {
		return LocalEmbedder()
	}
	e := OllamaEmbedder(client, model)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := e.Embed(pctx, []string{"probe"}); err != nil {
		if log != nil {
			log.Warn("memory: Ollama embeddings unavailable; using the local embedder", "model", model, "err", err)
		}
		return LocalEmbedder()
	}
	return e
}
