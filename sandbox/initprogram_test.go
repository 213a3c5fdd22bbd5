//go:build linux

package sandbox

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

func spawnerExe(t *testing.T, r *NamespaceRunner) string {
	t.Helper()
	exe, err := os.Readlink("/proc/" + strconv.Itoa(spawnerPid(r)) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// The runner starts its spawner, and so every init, from the embedded
// sandbox program, not from this binary: were it to fall back without
// a word, every command would cost twice the CPU.
func TestInitsStartFromTheSandboxProgram(t *testing.T) {
	r := newTestRunner(t, Limits{})
	if exe := spawnerExe(t, r); !strings.HasPrefix(exe, "/memfd:amf-sandbox") {
		t.Fatalf("the spawner runs %s, want the embedded sandbox program", exe)
	}
	// Not the number of the descriptor it was started by.
	if comm, err := os.ReadFile("/proc/" + strconv.Itoa(spawnerPid(r)) + "/comm"); err != nil || string(comm) != "amf-spawner\n" {
		t.Fatalf("the spawner is named %q (%v)", comm, err)
	}
	for _, profile := range []string{"strict", "network"} {
		if res, out := run(t, r, profile, "echo ok", 10*time.Second); res.ExitCode != 0 || out != "stdout: ok" {
			t.Fatalf("%s: %+v %q", profile, res, out)
		}
	}
}

// Where no sandbox program is embedded (or it cannot be executed), the
// inits start from this binary, and commands run the same.
func TestInitsStartFromThisBinaryWhereNoProgramIs(t *testing.T) {
	testenv.NeedRoot(t)
	r, err := New(Config{StateDir: t.TempDir(), selfInit: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if exe := spawnerExe(t, r); exe != self {
		t.Fatalf("the spawner runs %s, want this binary (%s)", exe, self)
	}
	for _, profile := range []string{"strict", "network"} {
		if res, out := run(t, r, profile, "echo ok", 10*time.Second); res.ExitCode != 0 || out != "stdout: ok" {
			t.Fatalf("%s: %+v %q", profile, res, out)
		}
	}
}
