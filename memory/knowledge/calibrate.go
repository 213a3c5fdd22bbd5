package knowledge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
)

// calibrationSet holds instruction pairs that must match (paraphrases:
// the same request in other words) and pairs that must not (near-misses:
// the same words, another request). It is compiled in, so every worker
// of a fleet calibrates the same embedder to the same threshold. The
// held-out pairs that test the result are testdata, never read here.
//
//go:embed calibration.jsonl
var calibrationSet []byte

// calibrationMargin is added to the highest near-miss score: a threshold
// exactly at the worst near-miss would reuse one a little closer.
const calibrationMargin = 0.02

// minCalibrated is the lowest threshold calibration may choose, however
// well an embedder separates the calibration pairs: below it, a score
// says too little for a command to run without the model.
const minCalibrated = 0.75

// minSeparation is how far above the near-misses' mean score the
// paraphrases' mean must be for an embedder to be trusted at all.
const minSeparation = 0.05

// Calibration is an embedder's reuse threshold and how it was chosen.
// It is saved with the index and recomputed when the embedder or the
// calibration set changes.
type Calibration struct {
	// Embedder is the Name of the embedder calibrated.
	Embedder string `json:"embedder"`
	// Set identifies the calibration pairs (a hash of the set).
	Set string `json:"set"`
	// Threshold is the similarity a memory needs to be reused blindly.
	// Above 1, no score is enough: the embedder cannot tell the
	// calibration's near-misses from the same request.
	Threshold float64 `json:"threshold"`
	// WorstNearMiss is the highest score of a near-miss pair that the
	// agreement check lets through (agree.go): what the threshold must
	// stay above.
	WorstNearMiss float64 `json:"worst_near_miss"`
	// Paraphrases is the share of paraphrase pairs that would be reused
	// at Threshold, agreement included.
	Paraphrases float64 `json:"paraphrases"`
	// Pairs counts the paraphrase and near-miss pairs.
	ParaphrasePairs int `json:"paraphrase_pairs"`
	NearMissPairs   int `json:"near_miss_pairs"`
}

// String is the calibration as a log line says it.
func (c Calibration) String() string {
	return fmt.Sprintf("reuse threshold %.3f for %s (worst near-miss %.3f; %.0f%% of %d paraphrase pairs reused)",
		c.Threshold, c.Embedder, c.WorstNearMiss, 100*c.Paraphrases, c.ParaphrasePairs)
}

// Pair is two instructions, labelled: Match says they ask the same.
type Pair struct {
	A     string `json:"a"`
	B     string `json:"b"`
	Match bool   `json:"match"`
}

// gateVersion names the rules that decide with the threshold (agree.go,
// CalibrateOn): a saved calibration made under other rules is redone.
const gateVersion = "gate-2"

// calibrationSetID names the compiled-in set and the rules applied to it.
func calibrationSetID() string {
	h := sha256.Sum256(append([]byte(gateVersion+"\n"), calibrationSet...))
	return hex.EncodeToString(h[:8])
}

// ReadPairs reads JSON lines of Pair.
func ReadPairs(data []byte) ([]Pair, error) {
	var out []Pair
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var p Pair
		if err := json.Unmarshal(line, &p); err != nil || p.A == "" || p.B == "" {
			return nil, fmt.Errorf("pair line %d: want {\"a\":…,\"b\":…,\"match\":bool}: %v", n, err)
		}
		out = append(out, p)
	}
	return out, sc.Err()
}

// Calibrate chooses e's reuse threshold on the compiled-in calibration
// pairs.
func Calibrate(ctx context.Context, e Embedder) (Calibration, error) {
	pairs, err := ReadPairs(calibrationSet)
	if err != nil {
		return Calibration{}, fmt.Errorf("calibrate: %w", err)
	}
	c, err := CalibrateOn(ctx, e, pairs)
	c.Set = calibrationSetID()
	return c, err
}

// CalibrateOn chooses the lowest threshold that reuses none of the
// near-miss pairs the agreement check lets through, plus a margin, and
// never below minCalibrated; it reports how many paraphrases that
// threshold reuses.
func CalibrateOn(ctx context.Context, e Embedder, pairs []Pair) (Calibration, error) {
	c := Calibration{Embedder: e.Name()}
	scores, err := PairScores(ctx, e, pairs)
	if err != nil {
		return c, fmt.Errorf("calibrate %s: %w", e.Name(), err)
	}
	worst := math.Inf(-1)
	var paraSum, nearSum float64
	for i, p := range pairs {
		if p.Match {
			c.ParaphrasePairs++
			paraSum += scores[i]
			continue
		}
		c.NearMissPairs++
		nearSum += scores[i]
		if ok, _ := agree(p.A, p.B); ok {
			worst = max(worst, scores[i])
		}
	}
	c.WorstNearMiss = max(worst, 0)
	c.Threshold = max(worst+calibrationMargin, minCalibrated)
	// The agreement may let no near-miss through, so the threshold alone
	// would not notice an embedder that scores everything alike. One
	// that does not score paraphrases clearly above near-misses on
	// average says nothing a replay could rest on: no score is enough.
	if c.ParaphrasePairs > 0 && c.NearMissPairs > 0 &&
		paraSum/float64(c.ParaphrasePairs)-nearSum/float64(c.NearMissPairs) < minSeparation {
		c.Threshold = 1 + calibrationMargin
	}
	reused := 0
	for i, p := range pairs {
		if ok, _ := agree(p.A, p.B); p.Match && ok && scores[i] >= c.Threshold {
			reused++
		}
	}
	if c.ParaphrasePairs > 0 {
		c.Paraphrases = float64(reused) / float64(c.ParaphrasePairs)
	}
	return c, nil
}

// PairScores is the cosine similarity of each pair under e.
func PairScores(ctx context.Context, e Embedder, pairs []Pair) ([]float64, error) {
	texts := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		texts = append(texts, p.A, p.B)
	}
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(texts) {
		return nil, fmt.Errorf("%w: %s returned %d vectors for %d texts", ErrEmbed, e.Name(), len(vecs), len(texts))
	}
	out := make([]float64, len(pairs))
	for i := range pairs {
		a, b := normalize(vecs[2*i]), normalize(vecs[2*i+1])
		if len(a) != len(b) {
			return nil, fmt.Errorf("%w: %s returned vectors of %d and %d dimensions", ErrEmbed, e.Name(), len(a), len(b))
		}
		var dot float64
		for j := range a {
			dot += float64(a[j]) * float64(b[j])
		}
		out[i] = dot
	}
	return out, nil
}

// Reusable is the whole score-and-meaning part of the reuse decision, as
// Recall applies it: the score reaches the threshold and the two
// instructions name the same things.
func (c Calibration) Reusable(score float64, query, learned string) (bool, string) {
	if score < c.Threshold {
		return false, fmt.Sprintf("similarity %.2f is below %.2f (the threshold calibrated for %s)", score, c.Threshold, c.Embedder)
	}
	return agree(query, learned)
}
