package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/sandbox"
)

// A worker's credential kept outside its state dir is hidden from the
// commands that see the host, as the state dir is, even when anyone may
// read it: a command under observe reads the file beside it and finds
// the credential empty.
func TestWorkerCredentialOutsideItsStateDirIsHidden(t *testing.T) {
	testenv.NeedRoot(t)
	f := newAuthFixture(t)
	// Under /var/tmp, which the host view shows (its /tmp is its own).
	dir, err := os.MkdirTemp("/var/tmp", "amf-creds-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	creds := filepath.Join(dir, "far.creds")
	f.amf("auth", "creds", "worker", "--pool", "far", "--name", "far-1", "-o", creds)
	beside := filepath.Join(dir, "beside.txt")
	if err := os.WriteFile(beside, []byte("in view\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{dir: 0o755, creds: 0o644} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	startAmf(t, []string{"AMF_NATS_URL=nats://" + f.natsAddr, "AMF_NATS_CREDS=" + creds,
		"AMF_STATE_DIR=" + t.TempDir(), "OLLAMA_HOST=http://127.0.0.1:1"}, "worker", "--pool", "far", "--id", "far-w")
	// Named, the policy checker refuses it (its scope holds the mask).
	named := startAmf(t, f.env, "run", "--pool", "far", "--policy", "observe", "--cmd", "cat "+creds)
	if code := named.wait(60 * time.Second); code == 0 || !strings.Contains(named.Output(), "masked") {
		t.Fatalf("a command naming the worker's credential: exit %d\n%s", code, named.Output())
	}
	// Reached by a path the checker cannot tell, the sandbox hides it.
	out := f.amf("run", "--pool", "far", "--policy", "observe", "--cmd",
		"cat "+beside+`; d=$(dirname `+beside+`); echo size=$(wc -c < "$d/far.creds")`)
	if !strings.Contains(out, "in view") {
		t.Fatalf("the command did not see the directory the credential is in:\n%s", out)
	}
	if strings.Contains(out, "NATS USER JWT") || !strings.Contains(out, "size=0") {
		t.Fatalf("a command under observe read the worker's credential:\n%s", out)
	}
}

// A credential's path is masked whatever its name holds: pattern
// characters, bytes that are not UTF-8, a path relative to the working
// directory.
func TestMasksOfMatchTheirPathsOnly(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/srv/a[b]/w.creds", "/srv/x*/w.creds", "/srv/q?/w.creds", `/srv/back\slash/w.creds`, "/srv/caf\xe9/w.creds", "rel/w.creds"} {
		abs := p
		if !filepath.IsAbs(p) {
			abs = filepath.Join(wd, p)
		}
		masks := sandbox.ExpandMasks(masksOf(p))
		if !sandbox.Masked(abs, masks) {
			t.Errorf("%q is not masked by %q", abs, masks)
		}
		if sibling := filepath.Join(filepath.Dir(abs), "other"); sandbox.Masked(sibling, masks) {
			t.Errorf("%q is masked by %q too", sibling, masks)
		}
	}
}
