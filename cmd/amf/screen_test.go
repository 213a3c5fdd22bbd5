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
		{"rtl \u061c mark, \u200f, tag \U000e0041", "", "rtl \u061c mark, \u200f, tag \U000e0041"},
	} {
		if got := visible(c.in, c.keep); got != c.want {
			t.Errorf("visible(%q, %q) = %q, want %q", c.in, c.keep, got, c.want)
		}
	}
	// A command, shown for a reader to judge, escapes what shows as
	// nothing or as a blank too.
	for in, want := range map[string]string{
		"grep 'mallory\U000e0020@evil' log\r": `grep 'mallory\U000e0020@evil' log\x0d`,
		"echo cleaned\u061c\u00a0ok, é":       `echo cleaned\u061c\u00a0ok, é`,
	} {
		if got := shown(in); got != want {
			t.Errorf("shown(%q) = %q, want %q", in, got, want)
		}
	}
}

// What a person vouches for shows, besides control characters, what
// prints as nothing or as another space: two commands that differ never
// look alike. Text of any script is left as it is.
func TestShownShowsInvisibleCharacters(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"du -sh ~, é, 日本", "du -sh ~, é, 日本"},
		{"ls\r\x1b[2Krm -rf ~", `ls\x0d\x1b[2Krm -rf ~`},
		{"cat a\u200b.txt", `cat a\u200b.txt`},             // zero-width space
		{"echo \u202egnp.exe", `echo \u202egnp.exe`},       // right-to-left override
		{"rm\u00a0-rf", `rm\u00a0-rf`},                     // no-break space
		{"x\u2028y\u3164z\ufe0f", `x\u2028y\u3164z\ufe0f`}, // line separator, Hangul filler, variation selector
		{"tag\U000e0041", `tag\U000e0041`},                 // tag character
		{"lone \xff byte, lone \x9b byte", `lone \xff byte, lone \x9b byte`},
	} {
		if got := shown(c.in); got != c.want {
			t.Errorf("shown(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
