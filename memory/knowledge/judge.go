package knowledge

import (
	"context"
	"fmt"
	"strings"
)

// Verdict is the score-and-meaning part of the reuse decision for one
// new instruction against one learned instruction: what Recall decides
// for a memory that has its successes and fits the host (amf memory
// match prints it).
type Verdict struct {
	Query     string  `json:"query"`
	Learned   string  `json:"learned"`
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	Embedder  string  `json:"embedder"`
	// Reuse: a worker may replay the learned command for the query
	// (after the model's second look, when it has a model).
	Reuse bool `json:"reuse"`
	// Why the command is not replayed; empty when Reuse.
	Why string `json:"why,omitempty"`
}

// Judge scores query against learned with e, as a worker's index scores
// a recalled memory (unit vectors, the accelerator's dot product), and
// applies c.Reusable to it, as Recall does.
func (c Calibration) Judge(ctx context.Context, e Embedder, learned, query string) (Verdict, error) {
	v := Verdict{Query: query, Learned: learned, Threshold: c.Threshold, Embedder: c.Embedder}
	for _, s := range []struct{ name, text string }{{"learned", learned}, {"query", query}} {
		switch t := strings.TrimSpace(s.text); {
		case t == "":
			return v, fmt.Errorf("%w: the %s instruction is empty", ErrBadQuery, s.name)
		case len(t) > MaxQueryBytes:
			return v, fmt.Errorf("%w: the %s instruction is %d bytes, the limit is %d", ErrBadQuery, s.name, len(t), MaxQueryBytes)
		}
	}
	vecs, err := e.Embed(ctx, []string{strings.TrimSpace(learned), strings.TrimSpace(query)})
	if err != nil {
		return v, fmt.Errorf("judge: %w", err)
	}
	if len(vecs) != 2 || len(vecs[0]) == 0 || len(vecs[0]) != len(vecs[1]) {
		return v, fmt.Errorf("judge: %w: %s gave no two vectors of one dimension", ErrEmbed, e.Name())
	}
	stored, q := normalize(vecs[0]), normalize(vecs[1])
	v.Score = float64(dot(q, stored))
	v.Reuse, v.Why = c.Reusable(v.Score, query, learned)
	return v, nil
}
