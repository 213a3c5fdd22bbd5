package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/sandbox"
)

// amfBin is the amf binary built once for the tests that run it as a
// separate process, as an operator would.
var amfBin string

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	if f := os.Getenv("AMF_TEST_FAKE_OLLAMA"); f != "" {
		serveFakeOllama(f) // never returns
	}
	dir, err := os.MkdirTemp("", "amf-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	amfBin = filepath.Join(dir, "amf")
	if out, err := exec.Command("go", "build", "-o", amfBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build amf: %v\n%s", err, out)
		os.Exit(1)
	}
	http.DefaultClient.Transport = bridgeTokens
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a child process's output while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is an amf process started by a test.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  lockedBuffer
	done chan struct{}
	err  error
}

// Output is what the process printed so far (stdout and stderr).
func (p *proc) Output() string { return p.out.String() }

// startAmf runs `amf args…` with env added; it is killed when the test ends.
func startAmf(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(amfBin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start amf %v: %v", args, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("amf %v output:\n%s", args, p.Output())
		}
	})
	return p
}

func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) signal(s syscall.Signal) { _ = p.cmd.Process.Signal(s) }

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(d time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.t.Fatalf("amf %v still running after %v; output:\n%s", p.cmd.Args[1:], d, p.Output())
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitHealthy polls a bridge's /healthz until it answers 200: the
// process is separate, so there is no in-process readiness to wait on.
func waitHealthy(t testing.TB, base string, p *proc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("amf exited before it was healthy:\n%s", p.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s not healthy in time:\n%s", base, p.Output())
}

// waitNATS polls until a kernel process serves its task API.
func waitNATS(t testing.TB, addr string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if nc, err := nats.Connect("nats://"+addr, nats.Timeout(time.Second), nats.UserCredentials(adminCreds(p.cmd.Env))); err == nil {
			// The micro service answers last, once the kernel has
			// provisioned its streams and opened the hot cache.
			_, err := nc.Request(bus.Names{}.API()+".status", []byte("probe"), time.Second)
			nc.Close()
			if err == nil {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatalf("amf exited before listening:\n%s", p.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("kernel at %s not listening in time:\n%s", addr, p.Output())
}

// adminCreds is the admin credential a kernel started with env writes in
// its state dir.
func adminCreds(env []string) string {
	path := ""
	for _, kv := range env { // the last setting wins, as in exec
		if dir, ok := strings.CutPrefix(kv, "AMF_STATE_DIR="); ok {
			path = localCreds(dir)
		}
	}
	return path
}

// tokenTransport adds the admin token of the `amf up` a test started to
// that bridge's requests; it reads the token file at each request, since
// it appears only once the process is up.
type tokenTransport struct {
	mu    sync.Mutex
	files map[string]string // base URL → token file
}

var bridgeTokens = &tokenTransport{files: map[string]string{}}

func (tt *tokenTransport) register(base, file string) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.files[base] = file
}

func (tt *tokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tt.mu.Lock()
	file := tt.files[r.URL.Scheme+"://"+r.URL.Host]
	tt.mu.Unlock()
	if file != "" && r.Header.Get("Authorization") == "" {
		if b, err := os.ReadFile(file); err == nil {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+string(bytes.TrimSpace(b)))
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}
