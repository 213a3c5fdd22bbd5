package ollamatest

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/ollama/ollama/api"
)

// handleEmbed serves POST /api/embed with EmbedHandler's checks.
func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req api.EmbedRequest
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	s.mu.Unlock()

	var input []string
	switch in := req.Input.(type) {
	case nil:
	case string:
		if in != "" {
			input = append(input, in)
		}
	case []any:
		for _, v := range in {
			str, ok := v.(string)
			if !ok {
				writeError(w, http.StatusBadRequest, "invalid input type")
				return
			}
			input = append(input, str)
		}
	default:
		writeError(w, http.StatusBadRequest, "invalid input type")
		return
	}
	m, ok := s.embedModel(w, req.Model)
	if !ok {
		return
	}
	if !s.waitHang(r.Context()) || !s.load(r.Context(), m) {
		s.abort(w)
		return
	}
	loaded := time.Now()
	if len(input) == 0 {
		writeJSON(w, http.StatusOK, api.EmbedResponse{Model: req.Model, Embeddings: [][]float32{}})
		return
	}
	vecs := make([][]float32, len(input))
	tokens := 0
	for i, text := range input {
		v := s.vector(m.display, text)
		if req.Dimensions > 0 && req.Dimensions < len(v) {
			v = normalize(v[:req.Dimensions])
		}
		vecs[i] = v
		tokens += max(countTokens(text), 1)
	}
	writeJSON(w, http.StatusOK, api.EmbedResponse{
		Model:           req.Model,
		Embeddings:      vecs,
		TotalDuration:   max(time.Since(start), time.Microsecond),
		LoadDuration:    max(loaded.Sub(start), time.Microsecond),
		PromptEvalCount: tokens,
	})
}

// embedModel resolves the model of an embedding request, answering the
// error when there is none. Ollama embeds with any model, chat models too.
func (s *Server) embedModel(w http.ResponseWriter, name string) (*modelEntry, bool) {
	if canonicalName(name) == "" {
		writeError(w, http.StatusBadRequest, "model is required")
		return nil, false
	}
	m := s.lookup(name)
	if m == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q not found, try pulling it first", name))
		return nil, false
	}
	return m, true
}

func (s *Server) vector(model, text string) []float32 {
	return normalize(hashEmbed(text, s.embedDims))
}

// hashEmbed is the embedder: deterministic, and similar texts get
// similar vectors, so nearest-neighbour search behaves sensibly. Each
// lower-cased word and each of its character trigrams is hashed to a signed
// dimension (feature hashing). The result is L2-normalised.
func hashEmbed(text string, dims int) []float32 {
	v := make([]float32, dims)
	if dims <= 0 {
		return v
	}
	add := func(feature string, weight float32) {
		h := fnv.New64a()
		_, _ = h.Write([]byte(feature))
		sum := h.Sum64()
		i := int(sum % uint64(dims))
		if sum>>63 == 1 {
			weight = -weight
		}
		v[i] += weight
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	for _, w := range words {
		add("w:"+w, 1)
		padded := []rune("^" + w + "$")
		for i := 0; i+3 <= len(padded); i++ {
			add("t:"+string(padded[i:i+3]), 0.5)
		}
	}
	if len(words) == 0 {
		// Never the zero vector: its cosine similarity is undefined.
		add("raw:"+text, 1)
	}
	return normalize(v)
}

// normalize scales v to unit length as Ollama's EmbedHandler does.
func normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	norm := float32(1 / math.Max(math.Sqrt(sum), 1e-12))
	for i := range v {
		v[i] *= norm
	}
	return v
}
