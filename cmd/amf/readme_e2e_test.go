package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/atomicfile"
	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/internal/testenv"
)

// readmeBlock is a shell block of README.md marked to run in CI: the
// line before its fence is <!-- README check: expect="…" … --> (or
// expect='…' for a text with double quotes), each expect a text its
// output must hold.
type readmeBlock struct {
	line   int // of the fence, for messages
	script string
	expect []string
}

var (
	readmeMark   = regexp.MustCompile(`^<!-- README check:(.*)-->\s*$`)
	readmeExpect = regexp.MustCompile(`expect=(?:"([^"]*)"|'([^']*)')`)
)

// readmeBlocks extracts the marked blocks; a mark not followed by a
// ```sh fence is an error, so a marked example cannot silently drop out.
func readmeBlocks(path string) ([]readmeBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var blocks []readmeBlock
	var cur *readmeBlock
	var pending []string
	marked := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.script += line + "\n"
		case marked && line == "```sh":
			cur = &readmeBlock{line: n, expect: pending}
			marked = false
		case marked:
			return nil, fmt.Errorf("%s:%d: a README check mark must be followed by a ```sh block", path, n)
		default:
			if m := readmeMark.FindStringSubmatch(line); m != nil {
				marked, pending = true, nil
				for _, e := range readmeExpect.FindAllStringSubmatch(m[1], -1) {
					pending = append(pending, e[1]+e[2])
				}
			}
		}
	}
	return blocks, sc.Err()
}

// TestReadmeCommandsRunAsWritten runs README's marked shell blocks, as
// written, the way a newcomer on a fresh machine would: a home of their
// own, `amf` and `nats` on PATH, `amf up` on its default ports. It runs
// them in a network namespace of their own (so those ports are free
// whatever else this host runs) with the fake Ollama inside it.
func TestReadmeCommandsRunAsWritten(t *testing.T) {
	testenv.NeedRoot(t)
	for _, bin := range []string{"unshare", "ip", "curl", "nats"} {
		testenv.NeedBinary(t, bin)
	}
	blocks, err := readmeBlocks(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 3 {
		t.Fatalf("README has %d marked shell blocks; want Try it's three at least", len(blocks))
	}
	home := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	natsBin, _ := exec.LookPath("nats")
	var script strings.Builder
	fmt.Fprintf(&script, `set -euo pipefail
ip link set lo up
AMF_TEST_FAKE_OLLAMA=%[1]q %[2]q -test.run='^$' >%[3]q 2>&1 &
for i in $(seq 100); do [ -s %[1]q ] && break; sleep 0.1; done
export OLLAMA_HOST=$(cat %[1]q)
amf up >%[4]q 2>&1 &
for i in $(seq 600); do curl -sf localhost:8080/healthz >/dev/null && break; sleep 0.1; done
`, filepath.Join(home, "ollama.url"), self, filepath.Join(home, "ollama.log"), filepath.Join(home, "up.log"))
	for i, b := range blocks {
		// Each block in a subshell of its own: a failing command ends
		// that block, with its line in README named.
		fmt.Fprintf(&script, "echo '=== block %d'\n( set -euo pipefail\n%s) && echo '=== ok %d' || echo \"=== failed %d: $?\"\n", i, b.script, i, i)
	}
	cmd := exec.Command("unshare", "--net", "--", "bash", "-c", script.String())
	cmd.Dir = home
	cmd.Env = readmeEnv(home, natsBin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// What the blocks leave running in the background (nats sub &)
	// holds the output pipe open after the script ends.
	cmd.WaitDelay = 2 * time.Second
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever the blocks left running (amf up, nats sub &) ends with
	// the process group.
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("README's blocks still running after 3m:\n%s", out.String())
	}
	log := out.String()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil
	}
	if err != nil {
		up, _ := os.ReadFile(filepath.Join(home, "up.log"))
		t.Fatalf("README script: %v\n%s\namf up:\n%s", err, log, up)
	}
	for i, b := range blocks {
		part := between(log, "=== block "+strconv.Itoa(i)+"\n", "=== ")
		if !strings.Contains(log, "=== ok "+strconv.Itoa(i)+"\n") {
			up, _ := os.ReadFile(filepath.Join(home, "up.log"))
			t.Errorf("README.md:%d: the block failed:\n%s\n--- its output:\n%s\n--- amf up:\n%s", b.line, b.script, part, up)
			continue
		}
		for _, want := range b.expect {
			if !strings.Contains(part, want) {
				t.Errorf("README.md:%d: the output lacks %q:\n%s\n--- its output:\n%s", b.line, want, b.script, part)
			}
		}
	}
}

// readmeEnv is a newcomer's environment: a fresh home, amf and nats on
// PATH, nothing of AMF_* or XDG_* from the environment the tests run in.
func readmeEnv(home, natsBin string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AMF_") || strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "NATS_") || k == "HOME" || k == "PATH" || k == "OLLAMA_HOST" {
			continue
		}
		env = append(env, kv)
	}
	// The nats CLI finds its contexts under XDG_CONFIG_HOME, else the
	// home the user database names (not $HOME): a real user's are one.
	return append(env, "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "PATH="+filepath.Dir(amfBin)+":"+filepath.Dir(natsBin)+":"+os.Getenv("PATH"))
}

// between is the text after start up to the next end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	if i := strings.Index(after, end); i >= 0 {
		return after[:i]
	}
	return after
}

// serveFakeOllama is the test binary run as the fake Ollama inside the
// README's network namespace (AMF_TEST_FAKE_OLLAMA names the file its URL
// goes to); it serves until it is killed.
func serveFakeOllama(urlFile string) {
	srv, err := ollamatest.Start(ollamatest.WithHandler(fakeModelReply))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := atomicfile.WriteFile(urlFile, []byte(srv.URL()), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Close()
	os.Exit(0)
}
