package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// TestSecondKernelOnOneStateDirIsRefused is an operator starting a second
// kernel on the store one already serves: it exits at once naming the
// first one's pid, and the first keeps serving; once that one stops, a
// kernel starts on the store again.
func TestSecondKernelOnOneStateDirIsRefused(t *testing.T) {
	state := t.TempDir()
	addr := testenv.FreeAddr(t)
	env := []string{"AMF_STATE_DIR=" + state, "AMF_NATS_URL=nats://" + addr}
	first := startAmf(t, append(env, "AMF_NATS_LISTEN="+addr), "kernel")
	waitNATS(t, addr, first)
	pid := "pid " + strconv.Itoa(first.cmd.Process.Pid)
	for _, args := range [][]string{{"kernel"}, {"up", "--http", testenv.FreeAddr(t)}} {
		second := startAmf(t, append(env, "AMF_NATS_LISTEN="+testenv.FreeAddr(t)), args...)
		if code := second.wait(15 * time.Second); code == 0 || !strings.Contains(second.Output(), pid) || !strings.Contains(second.Output(), state) {
			t.Errorf("amf %v on a state dir in use: exit %d; want a refusal naming %s and %s:\n%s", args, code, pid, state, second.Output())
		}
	}
	waitNATS(t, addr, first)

	first.signal(syscall.SIGTERM)
	if code := first.wait(30 * time.Second); code != 0 {
		t.Fatalf("first kernel exit %d:\n%s", code, first.Output())
	}
	again := startAmf(t, append(env, "AMF_NATS_LISTEN="+addr), "kernel")
	waitNATS(t, addr, again)
}
