package sandbox

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The spawner, every command's init and the id-map holder are this binary
// re-executed; package child must take them over before the rest of the
// program is initialised (the cost of each sandbox's start). The id-map
// holder is the role to watch: it exits as soon as its stdin ends.
func TestChildRolesStartBeforeTheProgramInitialises(t *testing.T) {
	heavy := []string{"github.com/amf-os/amf/sandbox/policy", "github.com/amf-os/amf/sandbox"}

	// The same binary started as itself initialises them: the trace is
	// read right and the packages are in it.
	full := initTrace(t, []string{"sandbox.test", "-test.run=^$"}, nil)
	for _, p := range heavy {
		if !full[p] {
			t.Fatalf("a plain start of the test binary does not initialise %s; inittrace saw %d packages", p, len(full))
		}
	}

	child := initTrace(t, []string{idmapArg0}, []string{idmapEnv + "=1"})
	if len(child) == 0 {
		t.Fatal("the id-map holder printed no init trace")
	}
	for _, p := range heavy {
		if child[p] {
			t.Errorf("the id-map holder initialised %s before package child took it over (%d packages initialised, %d in a plain start): an import of package child pulls it in, or the dispatch moved later", p, len(child), len(full))
		}
	}
}

// initTrace starts this binary with args and env and returns the packages
// GODEBUG=inittrace=1 says it initialised.
func initTrace(t *testing.T, args, env []string) map[string]bool {
	t.Helper()
	var stderr bytes.Buffer
	cmd := &exec.Cmd{
		Path:   "/proc/self/exe",
		Args:   args,
		Env:    append(env, "GODEBUG=inittrace=1"),
		Stderr: &stderr,
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("start %s: %v\n%s", args[0], err, stderr.String())
	}
	pkgs := map[string]bool{}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "init" && strings.HasPrefix(f[2], "@") {
			pkgs[f[1]] = true
		}
	}
	return pkgs
}
