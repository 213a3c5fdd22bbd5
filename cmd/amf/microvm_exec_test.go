package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
)

// TestExecMicroVM runs `amf exec --sandbox microvm` as an operator
// would: the command runs in a guest booted for it (software emulation,
// as in CI) and its output and exit code come back.
func TestExecMicroVM(t *testing.T) {
	testenv.NeedRoot(t)
	testenv.NeedBinary(t, "qemu-system-x86_64")
	out, code := runAmf(t, nil, "exec", "--state-dir", t.TempDir(), "--sandbox", "microvm", "--microvm-accel", "tcg",
		"--", "echo hi from $(uname -n); exit 4")
	if code != 4 || !strings.Contains(out, "hi from amf-sandbox") {
		t.Errorf("exit %d, output %q; want 4 and the guest's greeting", code, out)
	}
}

// A host without QEMU gets an error naming the package to install.
func TestExecMicroVMWithoutQEMU(t *testing.T) {
	out, code := runAmf(t, []string{"PATH=" + t.TempDir()}, "exec", "--state-dir", t.TempDir(), "--sandbox", "microvm", "--", "true")
	if code == 0 || !strings.Contains(out, "qemu-system-x86") {
		t.Errorf("exit %d, output %q; want a failure naming qemu-system-x86", code, out)
	}
	out, code = runAmf(t, nil, "exec", "--state-dir", t.TempDir(), "--sandbox", "microvm", "--microvm-accel", "fast", "--", "true")
	if code == 0 || !strings.Contains(out, "kvm, tcg or auto") {
		t.Errorf("exit %d, output %q; want a failure naming the accelerations", code, out)
	}
}

func runAmf(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(amfBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("amf %s → %d\n%s", strings.Join(args, " "), code, out)
	return string(out), code
}
