package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// terminalProc is an amf process whose standard input, output and error
// are a new pseudo-terminal, as a person's shell runs it.
type terminalProc struct {
	ptmx *os.File
	cmd  *exec.Cmd
	out  lockedBuffer
	read chan struct{} // closed once the terminal closed
	done chan error
}

func startOnTerminal(t *testing.T, env []string, args ...string) *terminalProc {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close() })
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
	// No output processing: the line discipline would add a carriage
	// return before each newline.
	tio, err := unix.IoctlGetTermios(int(pts.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Oflag &^= unix.OPOST
	if err := unix.IoctlSetTermios(int(pts.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	p := &terminalProc{ptmx: ptmx, read: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		_, _ = io.Copy(&p.out, ptmx) // EIO once no process holds the other end
		close(p.read)
	}()
	p.cmd = exec.Command(amfBin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = pts, pts, pts
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close()
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	return p
}

// waitFor returns what the terminal showed once it shows s.
func (p *terminalProc) waitFor(t *testing.T, s string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.out.String(), s) {
		select {
		case err := <-p.done:
			t.Fatalf("amf ended (%v) before the terminal showed %q:\n%s", err, s, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal did not show %q:\n%s", s, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p.out.String()
}

// answer types text on the terminal.
func (p *terminalProc) answer(t *testing.T, text string) {
	t.Helper()
	if _, err := p.ptmx.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// wait returns the exit code and everything the terminal showed.
func (p *terminalProc) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("amf did not end:\n%s", p.out.String())
	}
	select {
	case <-p.read:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal did not close")
	}
	return p.cmd.ProcessState.ExitCode(), p.out.String()
}
