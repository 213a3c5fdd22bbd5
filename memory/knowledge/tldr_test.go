package knowledge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/amf-os/amf/memory/knowledge"
)

// tldrExample is one line of the vendored tldr-pages slice.
type tldrExample struct {
	page, description, command string
}

// mnemonic is tldr's way of pointing at the letter a flag comes from:
// "[c]reate", "E[x]tract". It is not part of the request.
var mnemonic = regexp.MustCompile(`\[([A-Za-z])\]`)

// readTLDR reads a vendored slice (testdata/tldr/*.tsv).
func readTLDR(t *testing.T, path string) []tldrExample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []tldrExample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if n == 1 {
			continue // header
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			t.Fatalf("%s:%d: %d columns, want platform, page, description, command", path, n, len(cols))
		}
		out = append(out, tldrExample{
			page:        cols[0] + "/" + cols[1],
			description: mnemonic.ReplaceAllString(cols[2], "$1"),
			command:     cols[3],
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tldrNearMisses pairs every two examples of one page that run different
// commands for different descriptions: different requests in the words
// one tool's page uses for all of them ("Create a gzipped archive" /
// "Create a bzipped archive"). Two examples with the same description
// are alternatives for one request, not near-misses, and are left out.
func tldrNearMisses(examples []tldrExample) []knowledge.Pair {
	byPage := map[string][]tldrExample{}
	var order []string
	for _, e := range examples {
		if byPage[e.page] == nil {
			order = append(order, e.page)
		}
		byPage[e.page] = append(byPage[e.page], e)
	}
	var out []knowledge.Pair
	for _, page := range order {
		es := byPage[page]
		for i := range es {
			for j := i + 1; j < len(es); j++ {
				if es[i].command == es[j].command || es[i].description == es[j].description {
					continue
				}
				out = append(out, knowledge.Pair{A: es[i].description, B: es[j].description})
			}
		}
	}
	return out
}

// tldrParaphrase is one request of the slice in other words
// (testdata/tldr/paraphrases_*.jsonl).
type tldrParaphrase struct {
	Page        string `json:"page"`
	Description string `json:"description"`
	Paraphrase  string `json:"paraphrase"`
}

// readTLDRParaphrases reads paraphrases and checks each names a
// description of its page in examples, as tldr writes it.
func readTLDRParaphrases(t *testing.T, path string, examples []tldrExample) []tldrParaphrase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	known := map[[2]string]bool{}
	for _, e := range examples {
		known[[2]string{e.page, e.description}] = true
	}
	var out []tldrParaphrase
	for n, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var p tldrParaphrase
		if err := json.Unmarshal([]byte(line), &p); err != nil || p.Paraphrase == "" {
			t.Fatalf("%s:%d: want {\"page\",\"description\",\"paraphrase\"}: %v", path, n+1, err)
		}
		if !known[[2]string{p.Page, p.Description}] {
			t.Fatalf("%s:%d: %s has no example %q", path, n+1, p.Page, p.Description)
		}
		out = append(out, p)
	}
	return out
}

// gateReport is what the reuse gate decided on one part of the slice.
type gateReport struct {
	nearMisses, aboveThreshold, agreeing, wrong int
	paraphrases, replayed                       int
}

// runGate applies the calibrated gate (score and agreement, as Recall
// applies it) to a part of the slice: every near-miss pair, every
// paraphrase against its description, and every paraphrase against the
// other descriptions of its page (near-misses too).
func runGate(t *testing.T, c knowledge.Calibration, emb knowledge.Embedder, examples []tldrExample, paras []tldrParaphrase) gateReport {
	t.Helper()
	pairs := tldrNearMisses(examples)
	byPage := map[string][]tldrExample{}
	for _, e := range examples {
		byPage[e.page] = append(byPage[e.page], e)
	}
	nearMisses := len(pairs)
	for _, p := range paras {
		for _, e := range byPage[p.Page] {
			if e.description != p.Description && e.command != commandOf(byPage[p.Page], p.Description) {
				pairs = append(pairs, knowledge.Pair{A: p.Paraphrase, B: e.description})
			}
		}
	}
	for _, p := range paras {
		pairs = append(pairs, knowledge.Pair{A: p.Paraphrase, B: p.Description, Match: true})
	}
	scores, err := knowledge.PairScores(context.Background(), emb, pairs)
	if err != nil {
		t.Fatal(err)
	}
	var r gateReport
	for i, p := range pairs {
		ok, why := c.Reusable(scores[i], p.A, p.B)
		if p.Match {
			r.paraphrases++
			if ok {
				r.replayed++
			} else {
				t.Logf("paraphrase not replayed: %q / %q: %s", p.A, p.B, why)
			}
			continue
		}
		r.nearMisses++
		if scores[i] >= c.Threshold {
			r.aboveThreshold++
		}
		if agreeing, _ := c.Reusable(1, p.A, p.B); agreeing {
			r.agreeing++
		}
		if ok {
			r.wrong++
			kind := "near-miss"
			if i >= nearMisses {
				kind = "paraphrase near-miss"
			}
			t.Errorf("%s replayed (score %.3f): %q / %q", kind, scores[i], p.A, p.B)
		}
	}
	return r
}

// commandOf is the command of the example with this description.
func commandOf(es []tldrExample, description string) string {
	for _, e := range es {
		if e.description == description {
			return e.command
		}
	}
	return ""
}

// TestPublicNearMisses runs the reuse gate with the local embedder's
// calibrated threshold on the public tldr-pages slice: pairs of
// different requests of one page (the "create a gzipped archive" /
// "create a bzipped archive" kind) must never replay each other's
// command, and the share of paraphrases still replayed is reported.
// The calibration part is what the gate's rules were written against;
// the held-out part was read only to report. Run with -v for the
// numbers (README, Memory).
func TestPublicNearMisses(t *testing.T) {
	emb := knowledge.LocalEmbedder()
	c, err := knowledge.Calibrate(context.Background(), emb)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"calibration", "heldout"} {
		t.Run(part, func(t *testing.T) {
			examples := readTLDR(t, "testdata/tldr/"+part+".tsv")
			paras := readTLDRParaphrases(t, "testdata/tldr/paraphrases_"+part+".jsonl", examples)
			r := runGate(t, c, emb, examples, paras)
			t.Logf("%s: %d near-miss pairs: %d at or above the threshold %.3f, %d agreeing, %d replayed; paraphrases replayed: %d of %d (%.0f%%)",
				part, r.nearMisses, r.aboveThreshold, c.Threshold, r.agreeing, r.wrong, r.replayed, r.paraphrases, 100*float64(r.replayed)/float64(r.paraphrases))
			if r.nearMisses < 1000 {
				t.Fatalf("only %d near-miss pairs: the slice no longer tests the gate", r.nearMisses)
			}
			// The score adds little: a model embedder put such pairs at
			// 0.98 and above. So the agreement alone must refuse them all,
			// whatever an embedder scores.
			if r.agreeing != 0 {
				t.Fatalf("the agreement alone lets %d near-miss pairs through", r.agreeing)
			}
		})
	}
}
