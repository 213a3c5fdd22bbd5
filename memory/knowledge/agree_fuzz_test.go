package knowledge

import (
	"strings"
	"testing"
)

// FuzzAgree: the agreement never panics, is symmetric, an instruction
// always agrees with itself, and its literals are pieces of its text.
func FuzzAgree(f *testing.F) {
	for _, s := range [][2]string{
		{"delete old logs", "list old logs"},
		{"copy a.txt to b.txt", "copy b.txt to a.txt"},
		{"bring eth0 up", "bring eth0 down"},
		{"", "   "},
		{"/// ... ---", "ls -la ~/.config"},
		{`find "unclosed 'quote`, "`a` (b) $(c) \"d\"."},
		{"remove the folder a and (its) contents?", "a an the a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, _ := agree(a, b)
		ba, _ := agree(b, a)
		if ab != ba {
			t.Fatalf("agree(%q, %q) = %v but agree(%q, %q) = %v", a, b, ab, b, a, ba)
		}
		if ok, why := agree(a, a); !ok {
			t.Fatalf("%q does not agree with itself: %s", a, why)
		}
		// Literals are compared as written: each is a piece of the text.
		for _, l := range phraseOf(a).literals {
			if !strings.Contains(a, l) {
				t.Fatalf("literal %q of %q is not in the text", l, a)
			}
		}
	})
}

// FuzzReadPairs: any input is read or refused with an error, never a
// panic, and every pair read has both instructions.
func FuzzReadPairs(f *testing.F) {
	f.Add([]byte(`{"a":"list files","b":"count files","match":false}` + "\n"))
	f.Add([]byte("{}\n\n{\"a\":1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pairs, err := ReadPairs(data)
		if err != nil {
			return
		}
		for _, p := range pairs {
			if p.A == "" || p.B == "" {
				t.Fatalf("pair without both instructions: %+v", p)
			}
		}
	})
}
