package ollamatest

import (
	"unicode"
	"unicode/utf8"
)

// Tokenize splits text into pieces shaped like a BPE model's output tokens,
// so a consumer sees many small chunks as it would from a real model: a
// word carries its leading space (" compress"), long words and numbers are
// cut into short pieces, punctuation stands alone or in short runs ("&&",
// "|"), newlines are their own tokens. Joining the pieces gives back text
// exactly.
func Tokenize(text string) []string {
	var toks []string
	for i := 0; i < len(text); {
		n := tokenLen(text[i:])
		toks = append(toks, text[i:i+n])
		i += n
	}
	return toks
}

// countTokens is len(Tokenize(text)) without the allocation.
func countTokens(text string) int {
	n := 0
	for i := 0; i < len(text); n++ {
		i += tokenLen(text[i:])
	}
	return n
}

const (
	maxWordPiece  = 6 // runes of a word in one token
	maxDigitPiece = 3 // digits in one token, as llama-style tokenizers do
	maxPunctRun   = 2 // "&&", "||", ">>"
)

// tokenLen is the length in bytes of the token at the start of s (s ≠ "").
func tokenLen(s string) int {
	r, size := utf8.DecodeRuneInString(s)
	switch {
	case r == '\n':
		return runLen(s, func(r rune) bool { return r == '\n' }, 1<<30)
	case r == ' ' && len(s) > 1:
		next, _ := utf8.DecodeRuneInString(s[1:])
		if next == ' ' || next == '\n' || next == '\t' {
			// Indentation: the spaces but the last, which goes with what follows.
			n := runLen(s, func(r rune) bool { return r == ' ' }, 1<<30)
			if n > 1 && n < len(s) && s[n] != '\n' && s[n] != '\t' {
				n--
			}
			return n
		}
		return size + bodyLen(s[size:])
	case unicode.IsSpace(r):
		return runLen(s, func(r rune) bool { return unicode.IsSpace(r) && r != '\n' }, 1<<30)
	}
	return bodyLen(s)
}

// bodyLen is the length of the word, number or punctuation run at the start
// of s; at least one rune.
func bodyLen(s string) int {
	if s == "" {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(s)
	switch {
	case unicode.IsDigit(r):
		return runLen(s, unicode.IsDigit, maxDigitPiece)
	case unicode.IsLetter(r) || r == '_':
		return runLen(s, func(r rune) bool { return unicode.IsLetter(r) || r == '_' }, maxWordPiece)
	case unicode.IsSpace(r):
		return 0
	default:
		return runLen(s, func(c rune) bool { return c == r }, maxPunctRun)
	}
}

// runLen is the byte length of the longest prefix of s, at most max runes,
// whose runes satisfy ok.
func runLen(s string, ok func(rune) bool, max int) int {
	n, runes := 0, 0
	for n < len(s) && runes < max {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !ok(r) {
			break
		}
		n += size
		runes++
	}
	return n
}
