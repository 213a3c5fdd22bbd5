package statelock

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestSecondHolderIsRefusedWithThePid takes the lock in another process
// (flock is per open file, so this process's own second try would be
// refused too, but the pid would be ours) and is refused naming it; once
// that process ends, the lock is free.
func TestSecondHolderIsRefusedWithThePid(t *testing.T) {
	dir := t.TempDir()
	if os.Getenv("STATELOCK_HOLD") != "" {
		l, err := Acquire(os.Getenv("STATELOCK_HOLD"))
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		buf := make([]byte, 1)
		_, _ = os.Stdin.Read(buf) // hold until told
		_ = l.Release()
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondHolderIsRefusedWithThePid$")
	cmd.Env = append(os.Environ(), "STATELOCK_HOLD="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 5)
	if _, err := stdout.Read(line); err != nil || string(line) != "held\n" {
		t.Fatalf("holder did not take the lock: %q %v", line, err)
	}
	_, err = Acquire(dir)
	if !errors.Is(err, ErrHeld) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Acquire: %v; want ErrHeld naming pid %d and %s", err, cmd.Process.Pid, dir)
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder ended: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}
