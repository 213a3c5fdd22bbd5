package knowledge

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode"
)

// LocalDim is the dimension of the local embedder's vectors: large enough
// that hashed features rarely collide in short admin instructions, small
// enough that an exhaustive search of 100k memories stays in milliseconds.
const LocalDim = 384

// Feature weights: whole words carry the meaning, word pairs keep some
// order ("copy a to b"), character trigrams catch inflections and typos.
const (
	weightWord    = 1.0
	weightBigram  = 0.5
	weightTrigram = 0.25
)

// LocalEmbedder returns the embedder that needs no model: hashed words,
// word pairs and character trigrams (the "hashing trick"), L2-normalised.
// It is deterministic across hosts and versions of the same name, so every
// worker of a fleet computes the same vectors.
func LocalEmbedder() Embedder { return localEmbedder{} }

type localEmbedder struct{}

func (localEmbedder) Name() string { return fmt.Sprintf("local-v1-%d", LocalDim) }

func (e localEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ErrEmbed, ctx.Err())
		}
		out[i] = localVector(t)
	}
	return out, nil
}

// localVector embeds one text; it never returns a zero vector, which the
// cosine similarity could not normalise.
func localVector(text string) []float32 {
	v := make([]float32, LocalDim)
	words := contentWords(text)
	for i, w := range words {
		addFeature(v, 'w', w, "", weightWord)
		if i > 0 {
			addFeature(v, 'b', words[i-1], w, weightBigram)
		}
		p := []rune("<" + w + ">")
		for j := 0; j+3 <= len(p); j++ {
			addFeature(v, 'c', string(p[j:j+3]), "", weightTrigram)
		}
	}
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		addFeature(v, 'e', "", "", 1)
		norm = 1
	}
	inv := float32(1 / math.Sqrt(norm))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// addFeature hashes (kind, a, b) with FNV-1a into one signed coordinate;
// the sign bit halves the bias that collisions add to similarities.
func addFeature(v []float32, kind byte, a, b string, w float32) {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	h = (h ^ ' ') * prime
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * prime
	}
	if h>>63 == 1 {
		w = -w
	}
	v[h%uint64(len(v))] += w
}

// contentWords maps synonyms to one word and drops filler words. When
// only filler is left it keeps the filler, so short texts still mean
// something.
func contentWords(text string) []string {
	raw := tokens(text)
	words := make([]string, 0, len(raw))
	for _, w := range raw {
		if stopWords[w] {
			continue
		}
		words = append(words, canonical(w))
	}
	if len(words) == 0 {
		return raw
	}
	return words
}

// tokens lowercases and splits on anything but letters, digits and a few
// path characters.
func tokens(text string) []string {
	raw := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '/' && r != '_' && r != '-'
	})
	out := raw[:0]
	for _, w := range raw {
		if w = strings.Trim(w, ".-/"); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// useSynonyms is switched off only by tests that measure what the
// synonym table adds.
var useSynonyms = true

// canonical maps a word to its synonym group's head, after stripping a
// plural or verb ending so "files", "deleting" and "removed" meet.
func canonical(w string) string {
	if !useSynonyms {
		return w
	}
	if s, ok := synonyms[w]; ok {
		return s
	}
	for _, suf := range []string{"ing", "ed", "es", "s"} {
		if len(w) > len(suf)+3 && strings.HasSuffix(w, suf) {
			if s, ok := synonyms[strings.TrimSuffix(w, suf)]; ok {
				return s
			}
			if suf == "s" || suf == "es" {
				return strings.TrimSuffix(w, suf)
			}
		}
	}
	return w
}
