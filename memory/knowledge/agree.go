package knowledge

import (
	"slices"
	"strings"
)

// A vector score says two instructions are about the same things; it
// cannot say they ask the same thing of them: "delete old logs" and
// "list old logs" share most of their words, and a model embedder put
// "what is the disk usage" at 0.95 from "show the files here". So a
// memory is reused blindly only when, beyond the score, both instructions
// name the same things: the same content words once synonyms, plurals,
// case and filler are folded, the same direction and quantity words, and
// the same literals (paths, numbers, names with dots) in the same order.
// Anything else is an example in the prompt, never replayed.

// polarWords are function words that change what is asked ("bring the
// interface up" / "down", "delete all logs" / "some logs"): dropped as
// filler for the vector, kept for the agreement. Each maps to the head
// of its group.
var polarWords = map[string]string{
	"up": "up", "down": "down", "out": "out", "off": "off", "into": "into", "from": "from",
	"all": "all", "every": "all", "each": "all",
	"some": "some", "any": "some",
}

// terms are what an instruction names: its folded content and polar
// words as a set, and its literals in order.
type terms struct {
	words    []string // sorted, without repeats
	literals []string
}

func termsOf(text string) terms {
	var t terms
	for _, w := range tokens(text) {
		if p, ok := polarWords[w]; ok {
			t.words = append(t.words, p)
			continue
		}
		if stopWords[w] {
			continue
		}
		if isLiteral(w) {
			t.literals = append(t.literals, w)
		}
		t.words = append(t.words, canonical(w))
	}
	slices.Sort(t.words)
	t.words = slices.Compact(t.words)
	return t
}

// isLiteral says a token names something exactly: a path, a number, a
// file name, a flag.
func isLiteral(w string) bool {
	return strings.ContainsAny(w, "0123456789./_~")
}

// agree says whether two instructions name the same things, and if not,
// what differs, for the memory_hit event.
func agree(query, learned string) (bool, string) {
	a, b := termsOf(query), termsOf(learned)
	if !slices.Equal(a.literals, b.literals) {
		return false, "the instructions name different paths, numbers or names (" +
			orNone(a.literals) + " here, " + orNone(b.literals) + " there)"
	}
	if slices.Equal(a.words, b.words) {
		return true, ""
	}
	onlyA, onlyB := difference(a.words, b.words), difference(b.words, a.words)
	return false, "the instructions differ in what they name (" + orNone(onlyA) + " here, " + orNone(onlyB) + " there)"
}

// difference is the sorted words of a not in b.
func difference(a, b []string) []string {
	var out []string
	for _, w := range a {
		if _, found := slices.BinarySearch(b, w); !found {
			out = append(out, w)
		}
	}
	return out
}

func orNone(ws []string) string {
	if len(ws) == 0 {
		return "nothing"
	}
	return strings.Join(ws, " ")
}
