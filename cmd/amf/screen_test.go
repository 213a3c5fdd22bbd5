package main

import "testing"

// Control characters are shown, text of any script is left as it is.
func TestVisibleShowsControlCharacters(t *testing.T) {
	for _, c := range []struct{ in, keep, want string }{
		{"plain text, é, 日本, \uFFFD", "", "plain text, é, 日本, \uFFFD"},
		{"\x1b]52;c;aGk=\x07", "", `\x1b]52;c;aGk=\x07`},
		{"rm -rf ~\rls -l", "", `rm -rf ~\x0dls -l`},
		{"a\tb\nc", "\n\t", "a\tb\nc"},
		{"a\tb\nc", "", `a\x09b\x0ac`},
		{"del\x7f bs\b", "", `del\x7f bs\x08`},
		{"csi \u009b2J", "", `csi \u009b2J`},
		{"lone \x9b byte, lone \xff byte", "", "lone \\x9b byte, lone \xff byte"},
	} {
		if got := visible(c.in, c.keep); got != c.want {
			t.Errorf("visible(%q, %q) = %q, want %q", c.in, c.keep, got, c.want)
		}
	}
}
