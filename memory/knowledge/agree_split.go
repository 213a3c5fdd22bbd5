package knowledge

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// rawToken is one whitespace-separated piece of an instruction, as
// written, with sentence punctuation taken off.
type rawToken struct {
	text string
	// quoted: the token is a quoted string ("…", '…' or `…`), quotes kept.
	quoted bool
	// endsSentence: a full stop, "!" or "?" followed it.
	endsSentence bool
}

// quoteChars open a quoted literal.
const quoteChars = "\"'`"

// splitRaw cuts text at whitespace outside quotes. Nothing is
// lower-cased or folded here: which tokens are literals is decided on
// the text as written.
func splitRaw(text string) []rawToken {
	var out []rawToken
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if unicode.IsSpace(r) {
			i += n
			continue
		}
		start := i
		for i < len(text) {
			r, n = utf8.DecodeRuneInString(text[i:])
			if unicode.IsSpace(r) {
				break
			}
			// An apostrophe inside a word ("don't", "file's") opens no
			// quote.
			if strings.ContainsRune(quoteChars, r) && (r != '\'' || i == start || !isLetterBefore(text, i)) {
				if end := strings.IndexRune(text[i+n:], r); end >= 0 {
					i += n + end + n
					continue
				}
			}
			i += n
		}
		tk := trimToken(text[start:i], i >= len(strings.TrimRightFunc(text, unicode.IsSpace)))
		if tk.text != "" {
			out = append(out, tk)
		}
	}
	return out
}

func isLetterBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r)
}

// trimToken takes sentence punctuation off a token: commas, semicolons
// and colons after it, parentheses around it (an aside, not "$(cmd)"), a full stop or "!" after a
// letter, digit, quote or bracket, and a question mark that ends the
// text. What is left is compared byte for byte when it is a literal, so
// "src/" keeps its slash and "orm.*" its dot.
func trimToken(s string, last bool) rawToken {
	var tk rawToken
	for s != "" {
		switch {
		case strings.HasSuffix(s, ",") || strings.HasSuffix(s, ";") || strings.HasSuffix(s, ":"):
			s = s[:len(s)-1]
		case strings.HasSuffix(s, ")") && strings.Count(s, "(") < strings.Count(s, ")"):
			s = s[:len(s)-1]
		case strings.HasPrefix(s, "(") && strings.Count(s, "(") > strings.Count(s, ")"):
			s = s[1:]
		case len(s) > 2 && s[0] == '(' && s[len(s)-1] == ')' && strings.Count(s, "(") == 1 && strings.Count(s, ")") == 1:
			s = s[1 : len(s)-1] // "(compressed)": an aside, not a subshell

		case (strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!")) && len(s) > 1 && endsWord(s[:len(s)-1]):
			s = s[:len(s)-1]
			tk.endsSentence = true
		case strings.HasSuffix(s, "?") && last && len(s) > 1 && endsWord(s[:len(s)-1]):
			s = s[:len(s)-1]
			tk.endsSentence = true
		default:
			tk.text = s
			tk.quoted = len(s) >= 2 && strings.ContainsRune(quoteChars, rune(s[0])) && s[len(s)-1] == s[0]
			return tk
		}
	}
	return tk
}

// endsWord says s ends with a letter, digit, quote or closing bracket:
// punctuation after it belongs to the sentence.
func endsWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(quoteChars+")]}", r)
}

// isLiteralToken says a token names something exactly: it holds a digit
// or any character other than letters, inner hyphens and apostrophes
// (paths, globs, regexes, $VARS, numbers, file names), starts with a
// dash (a flag), has a capital after its first letter (README, .JPG,
// MyApp), or is capitalised in mid-sentence (a proper name).
func isLiteralToken(tk rawToken, midSentence bool) bool {
	if tk.quoted {
		return true
	}
	s := tk.text
	if strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") {
		return true
	}
	for i, r := range s {
		switch {
		case r == '-' || r == '\'':
		case !unicode.IsLetter(r):
			return true
		case unicode.IsUpper(r) && (i > 0 || (midSentence && s != "I")):
			return true
		}
	}
	return false
}

// lowerWord is a word token as the word comparison sees it.
func lowerWord(s string) string { return strings.ToLower(s) }
