package memory

import "context"

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
