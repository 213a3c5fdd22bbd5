package osrelease_test

import (
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/osrelease"
)

func TestParse(t *testing.T) {
	in := `# a comment
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME='Debian GNU/Linux'
ID=debian

not a pair
VERSION_ID="12"
`
	got := osrelease.Parse(strings.NewReader(in))
	for k, want := range map[string]string{
		"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)",
		"NAME":        "Debian GNU/Linux",
		"ID":          "debian",
		"VERSION_ID":  "12",
	} {
		if got[k] != want {
			t.Errorf("%s = %q, want %q", k, got[k], want)
		}
	}
	if len(got) != 4 {
		t.Errorf("got %d keys (%v), want 4", len(got), got)
	}
}

func TestLoadReadsThisHost(t *testing.T) {
	if osrelease.Load()["ID"] == "" {
		t.Fatalf("no ID in %v; this test runs on Linux distributions that ship os-release", osrelease.Paths)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("ID=debian\nPRETTY_NAME=\"Debian\"\n")
	f.Add("=\n'\n\"\nA='\n")
	f.Fuzz(func(t *testing.T, in string) {
		for k, v := range osrelease.Parse(strings.NewReader(in)) {
			if k == "" || strings.ContainsAny(k, "\n") || strings.Contains(v, "\n") {
				t.Fatalf("bad pair %q=%q", k, v)
			}
		}
	})
}
