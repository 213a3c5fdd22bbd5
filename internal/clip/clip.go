// Package clip shortens text for logs, prompts and events without
// splitting a character.
package clip

import "unicode/utf8"

// String shortens s to at most n bytes on a rune boundary, marking the
// cut with an ellipsis.
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
