package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leftovers lists what dir holds besides the names given.
func leftovers(t *testing.T, dir string, want ...string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, w := range want {
		keep[w] = true
	}
	var out []string
	for _, e := range es {
		if !keep[e.Name()] {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteFileReplacesContentAndMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "admin.creds")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new secret"), 0o600); err != nil {
		t.Fatalf("WriteFile: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new secret" {
		t.Fatalf("content = %q, want %q", got, "new secret")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Fatalf("mode = %v, want %v", got, want)
	}
	if l := leftovers(t, dir, "admin.creds"); len(l) != 0 {
		t.Fatalf("temp files left behind: %v", l)
	}
}

// A write that fails halfway (a full disk, an encoder's error) is
// returned, and the old content stays whole.
func TestFailingWriteKeepsTheOldFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "account.jwt")
	if err := os.WriteFile(path, []byte("old jwt"), 0o644); err != nil {
		t.Fatal(err)
	}
	diskFull := errors.New("no space left on device")
	err := Write(path, 0o644, func(w io.Writer) error {
		if _, err := w.Write([]byte("half a n")); err != nil {
			return err
		}
		return diskFull
	})
	if !errors.Is(err, diskFull) {
		t.Fatalf("Write = %v, want the write's error", err)
	}
	got, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if string(got) != "old jwt" {
		t.Fatalf("after a failed write the file holds %q, want the old %q", got, "old jwt")
	}
	if l := leftovers(t, dir, "account.jwt"); len(l) != 0 {
		t.Fatalf("temp files left behind: %v", l)
	}
}

// The rename is the step that makes a write visible: its failure is the
// caller's, not swallowed.
func TestFailingRenameIsReturned(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.gob")
	refused := errors.New("rename refused")
	rename = func(string, string) error { return refused }
	t.Cleanup(func() { rename = os.Rename })
	if err := WriteFile(path, []byte("index"), 0o600); !errors.Is(err, refused) {
		t.Fatalf("WriteFile = %v, want the rename's error", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("target exists after a failed rename: %v", err)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Fatalf("temp files left behind: %v", l)
	}
}

func TestWriteIntoAMissingDirectorySaysWhere(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "no-such-dir", "key.nk")
	err := WriteFile(path, []byte("seed"), 0o600)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("WriteFile = %v, want ErrNotExist", err)
	}
	if err != nil && !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name %s", err, path)
	}
}
