package ollamatest_test

import (
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/ollamatest"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "", nil},
		{"words", "ls -la /var/log", []string{"ls", " -", "la", " /", "var", "/", "log"}},
		{"pipes", "a && b || c", []string{"a", " &&", " b", " ||", " c"}},
		{"long word", "compression", []string{"compre", "ssion"}},
		{"numbers", "head -n 12345", []string{"head", " -", "n", " 123", "45"}},
		{"newlines", "a\n\nb", []string{"a", "\n\n", "b"}},
		{"indent", "if x:\n    y", []string{"if", " x", ":", "\n", "   ", " y"}},
		{"utf8", "héllo wörld", []string{"héllo", " wörld"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ollamatest.Tokenize(tc.in)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("Tokenize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzTokenize checks the streaming invariant: the tokens, joined, are the
// text, and none is empty.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", " ", "  x", "a\tb", "\xff\xfe", "find . -name '*.go' | xargs wc -l", "\n \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := ollamatest.Tokenize(s)
		for i, tok := range toks {
			if tok == "" {
				t.Fatalf("token %d empty in %q", i, toks)
			}
		}
		if got := strings.Join(toks, ""); got != s {
			t.Fatalf("joined %q, want %q", got, s)
		}
	})
}
