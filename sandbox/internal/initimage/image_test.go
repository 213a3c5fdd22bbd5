//go:build linux

package initimage

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestImagesAreBuiltFromThisSource rebuilds every embedded image from
// this tree and fails when one differs (under another toolchain than
// the images', when the digest of their inputs does): what the sandbox
// executes is what package child's source says.
func TestImagesAreBuiltFromThisSource(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		// Not on PATH (sudo's secure_path): the toolchain this test
		// was built by.
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goCmd, "run", "./gen", "-check")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestTheImageCannotBeChanged holds the memory file to its seals: not
// even a writable descriptor of it, which a process that can reach it
// by /proc could open, can change it.
func TestTheImageCannotBeChanged(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		if _, err := Path(); !errors.Is(err, ErrNoImage) {
			t.Fatalf("Path on %s = %v, want ErrNoImage", runtime.GOARCH, err)
		}
		return
	}
	f, err := file()
	if err != nil {
		t.Fatal(err)
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Seals
	if sealsExec(t) {
		want |= unix.F_SEAL_EXEC
	}
	if seals&want != want {
		t.Fatalf("seals %#x, want %#x set", seals, want)
	}
	if fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0); err != nil || fl&unix.O_ACCMODE != unix.O_RDONLY {
		t.Fatalf("the kept descriptor's mode is %#x (%v), want read-only", fl, err)
	}
	if fd, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || fd&unix.FD_CLOEXEC == 0 {
		t.Fatalf("the kept descriptor is inherited by started programs (%#x, %v)", fd, err)
	}
	path, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("reopening for writing: %v", err) // allowed: the seals are what refuse
	}
	defer w.Close()
	if _, err := w.WriteAt([]byte("#!"), 0); !errors.Is(err, unix.EPERM) {
		t.Fatalf("writing over the image: %v, want EPERM", err)
	}
	if err := w.Truncate(0); !errors.Is(err, unix.EPERM) {
		t.Fatalf("truncating the image: %v, want EPERM", err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, 0); !errors.Is(err, unix.EPERM) {
		t.Fatalf("the seals can be changed: %v", err)
	}
	if want&unix.F_SEAL_EXEC != 0 {
		if err := w.Chmod(0o600); !errors.Is(err, unix.EPERM) {
			t.Fatalf("making the image unexecutable: %v, want EPERM", err)
		}
	}
}

// sealsExec reports whether this kernel knows F_SEAL_EXEC.
func sealsExec(t *testing.T) bool {
	fd, err := unix.MemfdCreate("probe", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_EXEC)
	return err == nil
}

// TestTheImageRunsAndRefusesToActAlone executes the image as the
// sandbox does, outside any of its roles: it is the program, and it does
// nothing on its own.
func TestTheImageRunsAndRefusesToActAlone(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		return // no image: TestTheImageCannotBeChanged checks Open says so
	}
	path, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "started by amf's sandbox") {
		t.Fatalf("running the image alone: %v\n%s", err, out)
	}
}
