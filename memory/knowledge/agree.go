package knowledge

import (
	"slices"
	"strings"
)

// A vector score says two instructions are about the same things; it
// cannot say they ask the same thing of them: "files changed today" and
// "files modified today", "archive src/" and "archive src", "grep orm*"
// and "grep orm.*" all score above 0.98 with every embedder tried. So a
// memory is reused blindly only when, beyond the score, both instructions
// name the same things exactly as written:
//
//   - literals (quoted text, paths, globs, regexes, file names, numbers,
//     $VARS, flags, words with capitals inside, a word after "named" or
//     "called", an "a" that is a name rather than an article) byte for
//     byte and in the same order;
//   - every other word in the same order, lower-cased, with only filler
//     dropped (articles, politeness, pronouns, auxiliaries) and only the
//     synonyms a shell cannot tell apart folded (agree_words.go).
//
// Connectives, negations, time fields, scope words, units and comparison
// words are not filler, so they are kept by construction: the gate keeps
// what it does not know to be harmless. Anything else is an example in
// the prompt, never replayed.

// phrase is what an instruction names, in order.
type phrase struct {
	terms    []term
	literals []string
}

// term is one thing named: a literal exactly as written, or a folded word.
type term struct {
	text    string
	literal bool
}

func (t term) String() string {
	if t.literal {
		return "`" + t.text + "`"
	}
	return t.text
}

// phraseOf reads what text names.
func phraseOf(text string) phrase {
	var p phrase
	toks := splitRaw(text)
	// singular: the words after "all"/"every", up to a function word or
	// a literal, are folded to their singular ("all running processes"
	// is "every running process").
	singular := false
	for i, tk := range toks {
		if tk.quoted || isLiteralToken(tk, i > 0 && !toks[i-1].endsSentence) || namer[lowerWord(prev(toks, i))] {
			p.add(term{text: tk.text, literal: true})
			singular = false
			continue
		}
		w := lowerWord(tk.text)
		if w == "" {
			continue
		}
		if strings.HasSuffix(w, "n't") {
			p.add(term{text: "not"})
			singular = false
			continue
		}
		w = strings.TrimSuffix(w, "'s")
		if w == "a" || w == "an" {
			if !articleBefore(toks, i) {
				// "remove the folder a and its contents": an article
				// comes before what it introduces; one that does not is
				// a name.
				p.add(term{text: tk.text, literal: true})
			}
			continue
		}
		if gateFiller[w] || (w == "to" && leadIn[lowerWord(prev(toks, i))]) {
			continue
		}
		if s, ok := gateSynonyms[w]; ok {
			w = s
		}
		switch {
		case w == "all":
			singular = true
		case functionWords[w]:
			singular = false
		case singular:
			w = singularOf(w)
		}
		p.add(term{text: w})
	}
	return p
}

func (p *phrase) add(t term) {
	p.terms = append(p.terms, t)
	if t.literal {
		p.literals = append(p.literals, t.text)
	}
}

// prev is the text of the token before i, or "".
func prev(toks []rawToken, i int) string {
	if i == 0 || toks[i-1].quoted {
		return ""
	}
	return toks[i-1].text
}

// articleBefore says whether the "a" or "an" at i introduces something:
// the next token is a literal or a word that is not a function word.
func articleBefore(toks []rawToken, i int) bool {
	if i+1 >= len(toks) || toks[i].endsSentence {
		return false
	}
	next := toks[i+1]
	if next.quoted || isLiteralToken(next, true) {
		return true
	}
	return !functionWords[lowerWord(next.text)]
}

// agree says whether two instructions name the same things, and if not,
// what differs, for the memory_hit event and amf memory match.
func agree(query, learned string) (bool, string) {
	a, b := phraseOf(query), phraseOf(learned)
	if !slices.Equal(a.literals, b.literals) {
		if sameMultiset(a.literals, b.literals) {
			return false, "the instructions name the same literals in another order (" + contrast(quoteAll(a.literals), quoteAll(b.literals)) + ")"
		}
		return false, "the instructions name different literals (" + contrast(quoteAll(a.literals), quoteAll(b.literals)) + "); literals must match byte for byte"
	}
	if slices.Equal(a.terms, b.terms) {
		return true, ""
	}
	wa, wb := words(a.terms), words(b.terms)
	if sameMultiset(wa, wb) {
		return false, "the instructions say the same words in another order (" + contrast(strings.Join(wa, " "), strings.Join(wb, " ")) + ")"
	}
	onlyA, onlyB := difference(wa, wb), difference(wb, wa)
	if len(onlyA) == 0 && len(onlyB) == 0 {
		onlyA, onlyB = wa, wb // the same words, repeated differently
	}
	return false, "the instructions differ in what they say (" + contrast(strings.Join(onlyA, " "), strings.Join(onlyB, " ")) + ")"
}

// words is the word terms of ts, in order.
func words(ts []term) []string {
	var out []string
	for _, t := range ts {
		if !t.literal {
			out = append(out, t.text)
		}
	}
	return out
}

func sameMultiset(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(sa, sb)
}

// difference is the words of a not in b, each once, in a's order.
func difference(a, b []string) []string {
	var out []string
	for _, w := range a {
		if !slices.Contains(b, w) && !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

func quoteAll(ls []string) string {
	q := make([]string, len(ls))
	for i, l := range ls {
		q[i] = "`" + l + "`"
	}
	return strings.Join(q, " ")
}

// contrast says what the new instruction (asked) and the learned one
// have that the other has not.
func contrast(asked, learned string) string {
	return "asked: " + orNone(asked) + "; learned: " + orNone(learned)
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
