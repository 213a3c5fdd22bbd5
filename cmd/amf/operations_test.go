package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	kapi "github.com/amf-os/amf/kernel/client"
)

// docBlock returns the first ```sh block after heading in a docs page, so
// a test runs the very commands the page gives operators.
func docBlock(t *testing.T, page, heading string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("../../docs", page))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/%s has no heading %q", page, heading)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatalf("docs/%s: no sh block under %q", page, heading)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// TestOperationsTLSRecipe runs the OpenSSL recipe of docs/OPERATIONS.md
// for this host's loopback address, starts a kernel on the certificate it
// made, and reaches the task API through TLS checked against its CA, by
// address and by name.
func TestOperationsTLSRecipe(t *testing.T) {
	testenv.NeedBinary(t, "openssl")
	recipe := docBlock(t, "OPERATIONS.md", "## TLS: a CA and certificates")
	recipe = regexp.MustCompile(`(?m)^KERNEL_NAME=.*$`).ReplaceAllString(recipe, "KERNEL_NAME=localhost KERNEL_IP=127.0.0.1")
	dir := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", recipe)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the recipe failed: %v\n%s", err, out)
	}
	state := t.TempDir()
	addr := testenv.FreeAddr(t)
	env := []string{"AMF_STATE_DIR=" + state, "AMF_NATS_LISTEN=" + addr, "OLLAMA_HOST=http://127.0.0.1:1",
		"AMF_NATS_TLS_CERT=" + filepath.Join(dir, "kernel.pem"), "AMF_NATS_TLS_KEY=" + filepath.Join(dir, "kernel.key")}
	k := startAmf(t, env, "kernel")
	_, port, _ := strings.Cut(addr, ":")
	for _, host := range []string{"127.0.0.1", "localhost"} {
		url := "tls://" + host + ":" + port
		deadline := time.Now().Add(60 * time.Second)
		for {
			nc, err := nats.Connect(url, nats.RootCAs(filepath.Join(dir, "ca.pem")),
				nats.UserCredentials(adminCreds(env)), nats.Timeout(2*time.Second))
			if err == nil {
				_, err = nc.Request(bus.Names{}.API()+".status", []byte("probe"), 2*time.Second)
				nc.Close()
				if err == nil {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no task API through TLS at %s: %v\n%s", url, err, k.Output())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// A client that does not trust the recipe's CA is refused.
	if nc, err := nats.Connect("tls://127.0.0.1:"+port, nats.UserCredentials(adminCreds(env)), nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Fatal("a client without the CA connected")
	}
}

// TestOperationsBackupRestore backs up a stopped kernel's state dir as
// docs/OPERATIONS.md says (tar of jetstream and auth), restores it into
// an empty dir on another port, and finds the queued task delivered and
// run, a credential issued before the backup accepted and one revoked
// before it refused.
func TestOperationsBackupRestore(t *testing.T) {
	state := t.TempDir()
	addr := testenv.FreeAddr(t)
	env := []string{"AMF_STATE_DIR=" + state, "AMF_NATS_LISTEN=" + addr, "AMF_NATS_URL=nats://" + addr, "OLLAMA_HOST=http://127.0.0.1:1"}
	k1 := startAmf(t, env, "kernel")
	waitNATS(t, addr, k1)
	nc, err := nats.Connect("nats://"+addr, nats.UserCredentials(adminCreds(env)))
	if err != nil {
		t.Fatal(err)
	}
	task, _, err := (&kapi.Client{NC: nc}).Submit(context.Background(), bus.Task{ID: "backed-up", Command: "echo restored"})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	amf := func(env []string, args ...string) {
		t.Helper()
		p := startAmf(t, env, args...)
		if code := p.wait(60 * time.Second); code != 0 {
			t.Fatalf("amf %v: exit %d\n%s", args, code, p.Output())
		}
	}
	kept, gone := filepath.Join(t.TempDir(), "kept.creds"), filepath.Join(t.TempDir(), "gone.creds")
	amf(env, "auth", "creds", "client", "--name", "kept", "-o", kept)
	amf(env, "auth", "creds", "client", "--name", "gone", "-o", gone)
	amf(env, "auth", "revoke", "gone")
	k1.signal(syscall.SIGTERM)
	if code := k1.wait(30 * time.Second); code != 0 {
		t.Fatalf("kernel exit %d", code)
	}

	archive := filepath.Join(t.TempDir(), "amf-backup.tgz")
	restored := t.TempDir()
	for _, args := range [][]string{
		{"-C", state, "-czf", archive, "jetstream", "auth"},
		{"-C", restored, "-xzf", archive},
	} {
		if out, err := exec.Command("tar", args...).CombinedOutput(); err != nil {
			t.Fatalf("tar %v: %v\n%s", args, err, out)
		}
	}

	addr2 := testenv.FreeAddr(t)
	env2 := []string{"AMF_STATE_DIR=" + restored, "AMF_NATS_LISTEN=" + addr2, "AMF_NATS_URL=nats://" + addr2,
		"OLLAMA_HOST=http://127.0.0.1:1", "AMF_SANDBOX=host"}
	k2 := startAmf(t, env2, "kernel")
	waitNATS(t, addr2, k2)
	startAmf(t, env2, "worker")
	nc2, err := nats.Connect("nats://"+addr2, nats.UserCredentials(kept), nats.CustomInboxPrefix(inboxPrefix(t, kept)))
	if err != nil {
		t.Fatalf("a credential issued before the backup is refused after the restore: %v", err)
	}
	defer nc2.Close()
	// The task is the operator's (submitted with the admin credential):
	// read with the restored admin credential, which a client's may not.
	adminNC, err := nats.Connect("nats://"+addr2, nats.UserCredentials(filepath.Join(restored, "auth", "admin.creds")))
	if err != nil {
		t.Fatalf("the admin credential after the restore: %v", err)
	}
	defer adminNC.Close()
	evs := watchAll(t, &kapi.Client{NC: adminNC}, task.ID)
	if e := lastEvent(evs); e.Type != bus.EventDone || e.Output != "restored" {
		t.Fatalf("the queued task after the restore: %+v", e)
	}
	if nc3, err := nats.Connect("nats://"+addr2, nats.UserCredentials(gone), nats.Timeout(2*time.Second)); err == nil {
		nc3.Close()
		t.Fatal("a credential revoked before the backup connects after the restore")
	}
}
