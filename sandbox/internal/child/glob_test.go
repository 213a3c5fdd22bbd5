package child

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// glob stands in for path/filepath's Glob in the init's masks: it must
// find what that finds.
func TestGlobMatchesFilepath(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/b/c", "a/bb", "x/.ssh", "x/y", "q[1]", "sp ace/z"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/b/c/key", "a/bb/key.pem", "x/.ssh/id_ed25519", "x/y/.env", "q[1]/f", "sp ace/z/k"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("s"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"x/y/link":     "../.ssh/id_ed25519",
		"x/y/abs":      filepath.Join(root, "a/b/c/key"),
		"x/y/dirlink":  "../../a",
		"x/y/dangling": "nowhere",
		"x/y/loop1":    "loop2",
		"x/y/loop2":    "loop1",
		"a/chain":      "b/../bb/../../x/y/link",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	patterns := []string{
		"*", "*/*", "*/*/*", "*/*/*/*", "a/b*/*", "x/.*/*", "x/*/.env", "?/b/c/key",
		"a/[b]*", "a/[!b]*", "a/[^b]*", `q\[1\]/*`, "q[1]/*", "sp ace/*/k", "*/y/*link*",
		"a/b/c/key", "missing/*", "a/[", "a/\\", "[]a]", "a/**/key", "x/y/loop*", "x/y/dirlink/*/*",
	}
	for _, p := range patterns {
		pat := filepath.Join(root, p)
		want, err := filepath.Glob(pat)
		if err != nil {
			want = nil
		}
		if got := glob(pat); !slices.Equal(got, want) {
			t.Errorf("glob(%q) = %q, filepath.Glob = %q", p, got, want)
		}
	}
}

// FuzzGlob holds glob to filepath.Glob for any pattern under a small tree.
func FuzzGlob(f *testing.F) {
	root := f.TempDir()
	for _, d := range []string{"a/b", "a/.h", "c"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "a/b/f"), nil, 0o600)
	os.Symlink("a", filepath.Join(root, "l"))
	for _, s := range []string{"*", "*/*", "a/[b-c]", `a/\*`, "[", "a/.*", "l/*/f", "?", "**"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		pat := root + "/" + p
		want, err := filepath.Glob(pat)
		if err != nil {
			want = nil
		}
		if got := glob(pat); !slices.Equal(got, want) {
			t.Fatalf("glob(%q) = %q, filepath.Glob = %q", p, got, want)
		}
	})
}
