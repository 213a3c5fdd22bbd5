package bus

import (
	"regexp"
	"strings"
	"testing"
)

// The patterns the matchers replace, as the bus documented them.
var (
	tokenPattern     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	workspacePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

func TestNameMatchersAreTheirPatterns(t *testing.T) {
	cases := []string{
		"", "a", "A", "0", "_", "-", ".", "a.b", "t-6b15a238-m53ca301ra", "pool_1",
		"ünïcode", "a b", "a/b", "a*", "a>", "a\x00", "a\n", ".hidden", "-lead", "_lead",
		strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65),
		strings.Repeat("x", 127), strings.Repeat("x", 128), strings.Repeat("x", 129),
	}
	for _, s := range cases {
		if got, want := tokenRE.MatchString(s), tokenPattern.MatchString(s); got != want {
			t.Errorf("token %q: %v, want %v", s, got, want)
		}
		if got, want := workspaceRE.MatchString(s), workspacePattern.MatchString(s); got != want {
			t.Errorf("workspace %q: %v, want %v", s, got, want)
		}
	}
}

func FuzzNameMatchers(f *testing.F) {
	for _, s := range []string{"", "a", "a.b", "-x", strings.Repeat("z", 128)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := tokenRE.MatchString(s), tokenPattern.MatchString(s); got != want {
			t.Fatalf("token %q: %v, want %v", s, got, want)
		}
		if got, want := workspaceRE.MatchString(s), workspacePattern.MatchString(s); got != want {
			t.Fatalf("workspace %q: %v, want %v", s, got, want)
		}
	})
}
