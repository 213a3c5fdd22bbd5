package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// hosts are two network namespaces joined by a veth pair: as far as the
// network goes, two machines.
type hosts struct {
	t              *testing.T
	kernel, worker string // namespace names
	kernelIP       string
}

func newHosts(t *testing.T) *hosts {
	testenv.NeedRoot(t)
	ipBin := testenv.NeedBinary(t, "ip")
	n := os.Getpid() % 100000
	h := &hosts{t: t, kernel: fmt.Sprintf("authk%d", n), worker: fmt.Sprintf("authw%d", n), kernelIP: "10.213.77.1"}
	vk, vw := fmt.Sprintf("authvk%d", n), fmt.Sprintf("authvw%d", n)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ipBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	run("netns", "add", h.kernel)
	t.Cleanup(func() { _ = exec.Command(ipBin, "netns", "del", h.kernel).Run() })
	run("netns", "add", h.worker)
	t.Cleanup(func() { _ = exec.Command(ipBin, "netns", "del", h.worker).Run() })
	run("link", "add", vk, "type", "veth", "peer", "name", vw)
	run("link", "set", vk, "netns", h.kernel)
	run("link", "set", vw, "netns", h.worker)
	for _, c := range []struct{ ns, dev, addr string }{{h.kernel, vk, h.kernelIP + "/30"}, {h.worker, vw, "10.213.77.2/30"}} {
		run("-n", c.ns, "addr", "add", c.addr, "dev", c.dev)
		run("-n", c.ns, "link", "set", c.dev, "up")
		run("-n", c.ns, "link", "set", "lo", "up")
	}
	return h
}

// in returns the command line that runs args inside namespace ns.
func (h *hosts) in(ns string, args ...string) []string {
	return append([]string{"netns", "exec", ns}, args...)
}

// amfIn starts amf inside namespace ns.
func (h *hosts) amfIn(ns string, env []string, args ...string) *proc {
	h.t.Helper()
	ipBin, _ := exec.LookPath("ip")
	p := &proc{t: h.t, done: make(chan struct{})}
	p.cmd = exec.Command(ipBin, h.in(ns, append([]string{amfBin}, args...)...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		h.t.Fatalf("start amf %v in %s: %v", args, ns, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	h.t.Cleanup(func() {
		p.kill()
		if h.t.Failed() {
			h.t.Logf("amf %v (in %s) output:\n%s", args, ns, p.Output())
		}
	})
	return p
}

// TestFleetAcrossHostsOverTLS: a kernel on one "host" with TLS, a worker
// on another with a worker credential; the worker runs tasks, a client
// without TLS or without a credential is refused, and revoking the
// worker's credential cuts it off while the kernel runs on.
func TestFleetAcrossHostsOverTLS(t *testing.T) {
	natsBin := testenv.NeedBinary(t, "nats")
	h := newHosts(t)
	certs := makeCerts(t, h.kernelIP)
	kstate := t.TempDir()
	url := "tls://" + h.kernelIP + ":4222"
	k := h.amfIn(h.kernel, []string{"AMF_STATE_DIR=" + kstate, "AMF_NATS_LISTEN=" + h.kernelIP + ":4222",
		"AMF_NATS_TLS_CERT=" + certs.Cert, "AMF_NATS_TLS_KEY=" + certs.Key}, "kernel")

	// Credentials are files made on the kernel's host, from the keys the
	// kernel made on its first start.
	testenv.EventuallyWithin(t, 60*time.Second, "the kernel made its keys", func() bool {
		return fileExists(filepath.Join(kstate, "auth", "operator.nk"))
	})
	issue := func(args ...string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), args[0]+".creds")
		p := startAmf(t, []string{"AMF_STATE_DIR=" + kstate}, append([]string{"auth", "creds"}, append(args, "-o", path)...)...)
		if code := p.wait(60 * time.Second); code != 0 {
			t.Fatalf("auth creds %v: exit %d\n%s", args, code, p.Output())
		}
		return path
	}
	workerCreds := issue("worker", "--name", "host-b")
	clientCreds := issue("client", "--name", "host-b-client")

	natsIn := func(args ...string) (string, error) {
		ipBin, _ := exec.LookPath("ip")
		out, err := exec.Command(ipBin, h.in(h.worker, append([]string{natsBin, "--timeout", "3s"}, args...)...)...).CombinedOutput()
		return string(out), err
	}
	// The kernel is up once its task API answers over the network.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := natsIn("--server", url, "--tlsca", certs.CA, "--creds", clientCreds, "--inbox-prefix", inboxPrefix(t, clientCreds), "req", ownSubject(t, clientCreds, "status"), "probe")
		if strings.Contains(out, "Received") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kernel never answered over TLS:\n%s\n%s", out, k.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(k.Output(), "kernel ready") {
		t.Fatalf("kernel log:\n%s", k.Output())
	}

	remote := []string{"AMF_NATS_URL=" + url, "AMF_NATS_TLS_CA=" + certs.CA, "AMF_STATE_DIR=" + t.TempDir()}
	w := h.amfIn(h.worker, append([]string{"AMF_NATS_CREDS=" + workerCreds, "OLLAMA_HOST=http://127.0.0.1:1"}, remote...),
		"worker", "--id", "host-b-worker", "--concurrency", "1")
	runTask := func(cmd string) string {
		t.Helper()
		p := h.amfIn(h.worker, append([]string{"AMF_NATS_CREDS=" + clientCreds}, remote...), "run", "--cmd", cmd)
		if code := p.wait(90 * time.Second); code != 0 {
			t.Fatalf("amf run %q: exit %d\n%s\nworker:\n%s", cmd, code, p.Output(), w.Output())
		}
		return p.Output()
	}
	if out := runTask("echo across hosts"); !strings.Contains(out, "across hosts") || !strings.Contains(out, "host-b-worker") {
		t.Fatalf("task across hosts:\n%s", out)
	}

	// Refused: plain TCP to a TLS kernel, and TLS without a credential.
	if out, err := natsIn("--server", "nats://"+h.kernelIP+":4222", "--creds", clientCreds, "pub", "x", "y"); err == nil {
		t.Errorf("a client without TLS connected:\n%s", out)
	}
	if out, err := natsIn("--server", url, "--tlsca", certs.CA, "pub", "x", "y"); err == nil || !strings.Contains(strings.ToLower(out), "authorization violation") {
		t.Errorf("a client without a credential connected: %v\n%s", err, out)
	}

	// Revoked from the worker's side of the network, with the keys'
	// system credential: the live worker is cut off.
	rev := h.amfIn(h.worker, []string{"AMF_STATE_DIR=" + kstate, "AMF_NATS_URL=" + url, "AMF_NATS_TLS_CA=" + certs.CA}, "auth", "revoke", "host-b")
	if code := rev.wait(60 * time.Second); code != 0 || !strings.Contains(rev.Output(), "applied") {
		t.Fatalf("revoke: exit %d\n%s", code, rev.Output())
	}
	if code := w.wait(60 * time.Second); code == 0 || !strings.Contains(w.Output(), "closed the connection") {
		t.Fatalf("revoked worker: exit %d\n%s", code, w.Output())
	}
	if out, err := natsIn("--server", url, "--tlsca", certs.CA, "--creds", workerCreds, "pub", "x", "y"); err == nil {
		t.Errorf("a revoked worker credential connected:\n%s", out)
	}
	select {
	case <-k.done:
		t.Fatalf("the kernel stopped:\n%s", k.Output())
	default:
	}
}
