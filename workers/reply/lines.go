package reply

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"
)

// maxLines bounds how many lines of prose are searched for a command.
const maxLines = 200

// fromLines finds the command in a reply without JSON or shell fences:
// the first line that is a command once list markers, labels
// ("Command:") and prompts ("$ ") are gone, or else a code span in prose
// ("run `du -sh *` to …") that is one.
func fromLines(text string) (Proposal, bool) {
	lines := strings.Split(text, "\n")
	if len(lines) > maxLines {
		lines = lines[:maxLines]
	}
	var inline string
	for _, raw := range lines {
		line := stripListMarker(strings.TrimSpace(raw))
		if line == "" {
			continue
		}
		labelled := false
		if rest := stripLabel(line); rest != line {
			line, labelled = rest, true
		}
		if rest, ok := stripPrompt(line); ok {
			line, labelled = rest, true
		}
		if span, ok := wholeSpan(line); ok {
			line, labelled = span, true
		}
		if line == "" || fenceWords[strings.ToLower(line)] {
			// A fence's language tag left on its own line once the
			// backticks were lost: "bash" alone is not the command.
			continue
		}
		if looksLikeCommand(line) || labelled && parses(line) && plausibleName(firstWord(line)) {
			return Proposal{Command: line, Shape: ShapeLine}, true
		}
		if inline == "" {
			for _, m := range spanRE.FindAllStringSubmatch(line, 8) {
				s := strings.TrimSpace(m[1])
				if strings.ContainsAny(s, " |") && looksLikeCommand(s) {
					inline = s
					break
				}
			}
		}
	}
	if inline != "" {
		return Proposal{Command: inline, Shape: ShapeInline}, true
	}
	return Proposal{}, false
}

var fenceWords = setOf("bash", "sh", "shell", "zsh", "console", "terminal", "json", "python", "text", "plaintext", "shell-session")

var spanRE = regexp.MustCompile("`([^`\n]+)`")

// wholeSpan returns the inside of a line that is one code span.
func wholeSpan(line string) (string, bool) {
	if len(line) >= 2 && line[0] == '`' && line[len(line)-1] == '`' {
		inner := strings.Trim(line, "`")
		if !strings.Contains(inner, "`") {
			return strings.TrimSpace(inner), true
		}
	}
	return line, false
}

var listMarkerRE = regexp.MustCompile(`^(?:[-*+•]|\d{1,2}[.)])\s+`)

func stripListMarker(line string) string {
	return listMarkerRE.ReplaceAllString(line, "")
}

var labelRE = regexp.MustCompile(`(?i)^(?:\*\*|__)?(?:the |final |suggested |proposed |corrected |fixed |shell |bash |linux )?` +
	`(?:command|cmd|command line|run|execute|shell|bash|terminal|solution|answer|action input)` +
	`(?: to run| to execute)?(?:\*\*|__)?\s*[:：]\s*(?:\*\*|__)?\s*`)

// stripLabel removes a "Command:" style label from the start of a line.
func stripLabel(line string) string {
	loc := labelRE.FindStringIndex(line)
	if loc == nil {
		return line
	}
	return strings.TrimSpace(line[loc[1]:])
}

// proseStarts are first words of sentences that no reply means as a
// program name.
var proseStarts = setOf("i", "im", "sure", "here", "heres", "the", "this", "that",
	"these", "those", "to", "you", "your", "we", "let", "lets", "first", "then",
	"next", "finally", "note", "please", "sorry", "unfortunately", "as", "it", "its",
	"if", "in", "on", "for", "of", "and", "or", "but", "so", "okay", "ok", "certainly",
	"great", "alright", "based", "since", "however", "also", "explanation", "output",
	"result", "assuming", "a", "an", "my", "use", "using", "try", "step", "thought",
	"action", "there", "what", "when", "why", "how", "would", "could", "should",
	"can", "will", "may", "might", "need", "needs", "hello", "hi", "hmm", "well",
	"now", "unable", "cannot", "is", "are", "was", "done", "absolutely", "of",
	"yes", "no", "thanks", "thank", "below", "above", "after", "before", "because",
	"do", "does", "make", "made", "instead", "otherwise", "although", "again",
	"apologies", "sadly", "understood", "got", "perfect", "correct", "wrong", "oops",
	"error", "warning", "reason", "answer", "response", "user", "assistant", "system")

// stopWords mark prose when a line has no shell syntax at all.
var stopWords = setOf("the", "a", "an", "to", "of", "is", "are", "will", "you", "your",
	"this", "that", "it", "with", "for", "and", "in", "on", "which", "can", "should",
	"would", "from", "by", "be", "these", "those", "i", "we", "me", "my", "please")

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_./~][A-Za-z0-9_.+~/-]*$`)
var assignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// looksLikeCommand says whether one line reads as a shell command rather
// than a sentence: a plausible program name first, no sentence shape,
// and valid shell syntax.
func looksLikeCommand(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 4096 || strings.ContainsRune(s, '\n') {
		return false
	}
	name := firstWord(s)
	if !plausibleName(name) || sentenceEnd(s) {
		return false
	}
	words := strings.Fields(s)
	if !strings.ContainsAny(s, "|&;<>$`'\"*=(){}[]\\/.~") && !hasFlag(words) && len(words) >= 3 {
		for _, w := range words[1:] {
			if stopWords[strings.ToLower(strings.Trim(w, ",.:;!?"))] {
				return false
			}
		}
		if strings.ContainsAny(s[len(s)-1:], ".:?!") {
			return false
		}
	}
	return parses(s)
}

// firstWord is the program name of a simple command line, past any
// leading VAR=value assignments.
func firstWord(s string) string {
	for _, w := range strings.Fields(s) {
		if !assignRE.MatchString(w) {
			return w
		}
	}
	return ""
}

// sentenceEnd reports a line that ends like a sentence ("Done.",
// "try again!"), which a command line does not.
func sentenceEnd(s string) bool {
	n := len(s)
	return n >= 2 && strings.ContainsRune(".!?,", rune(s[n-1])) && unicode.IsLetter(rune(s[n-2]))
}

func plausibleName(w string) bool {
	if w == "" || !nameRE.MatchString(w) {
		return false
	}
	if proseStarts[strings.ToLower(strings.TrimRight(w, ".,:;!?"))] {
		return false
	}
	// A capitalised word ("Find", "List") starts a sentence; program
	// names are lower case or all caps ("GET").
	r, size := utf8.DecodeRuneInString(w)
	if unicode.IsUpper(r) && len(w) > size && strings.ToLower(w[size:]) == w[size:] && strings.ContainsFunc(w[size:], unicode.IsLetter) {
		return false
	}
	return true
}

func hasFlag(words []string) bool {
	for _, w := range words[1:] {
		if len(w) > 1 && w[0] == '-' {
			return true
		}
	}
	return false
}

// parses reports whether s is valid shell (bash dialect, which is what
// models write).
func parses(s string) bool {
	_, err := syntax.NewParser().Parse(strings.NewReader(s), "")
	return err == nil
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}
