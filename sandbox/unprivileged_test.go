//go:build linux

package sandbox

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// TestNamespaceUnprivileged runs the namespace backend as an ordinary
// user. Run as root, it re-runs itself as nobody.
func TestNamespaceUnprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		asNobody(t, "TestNamespaceUnprivileged")
		return
	}
	state := os.Getenv("AMF_SANDBOX_TEST_STATE")
	if state == "" {
		state = t.TempDir()
	}
	r, err := New(Config{StateDir: state})
	if err != nil {
		testenv.Skip(t, "user namespaces unavailable: "+err.Error())
	}
	defer r.Close()
	res, out := run(t, r, "", "id -u; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; echo hi > f && cat f; ls /proc | grep -c '^[0-9]'", 20*time.Second)
	t.Logf("unprivileged run: %+v\n%s", res, out)
	for _, want := range []string{"stdout: 0", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2", "stdout: hi"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if res.ExitCode != 0 {
		t.Errorf("exit %d", res.ExitCode)
	}
}

// asNobody re-runs the test called name as nobody, with a state dir
// and a directory nobody owns (AMF_SANDBOX_TEST_OWN) to work in.
func asNobody(t *testing.T, name string) {
	dir, err := os.MkdirTemp("", "amf-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o777)
	os.Chmod(state, 0o777)
	own := filepath.Join(dir, "own")
	os.Mkdir(own, 0o755)
	os.Chown(own, 65534, 65534)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sandbox.test")
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	src.Close()
	dst.Close()
	cmd := exec.Command(bin, "-test.run", "^"+name+"$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AMF_SANDBOX_TEST_STATE="+state, "AMF_SANDBOX_TEST_OWN="+own, "HOME="+state)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody:\n%s", out)
	if err != nil {
		t.Fatalf("unprivileged run failed: %v", err)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("unprivileged run did not pass")
	}
}
