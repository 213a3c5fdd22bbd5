package knowledge

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// recallAt3 embeds the testdata instructions and asks each paraphrase
// for its top 3, with the plain local vectors and a flat scan.
func recallAt3(t *testing.T) float64 {
	f, err := os.Open("testdata/paraphrases.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type item struct {
		Instruction string   `json:"instruction"`
		Paraphrases []string `json:"paraphrases"`
	}
	var items []item
	idx := newFlatIndex()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var it item
		if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
			t.Fatal(err)
		}
		idx.add(it.Instruction, localVector(it.Instruction), "", true)
		items = append(items, it)
	}
	hits, total := 0, 0
	for _, it := range items {
		for _, q := range it.Paraphrases {
			total++
			for _, h := range idx.search(localVector(q), 3, scope{all: true}) {
				if idx.ids[h.i] == it.Instruction {
					hits++
				}
			}
		}
	}
	return float64(hits) / float64(total)
}

// TestSynonymsEarnTheirPlace reports recall@3 with and without the
// synonym table, so its worth is measured rather than assumed.
func TestSynonymsEarnTheirPlace(t *testing.T) {
	with := recallAt3(t)
	useSynonyms = false
	without := recallAt3(t)
	useSynonyms = true
	t.Logf("recall@3: %.3f with synonyms, %.3f with hashed n-grams alone", with, without)
	if with < without {
		t.Fatalf("the synonym table lowers recall: %.3f < %.3f", with, without)
	}
}
