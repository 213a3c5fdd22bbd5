package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// TestNATSCommandLine drives the kernel with the real `nats` CLI, exactly
// as README tells operators to: the micro service is discoverable and the
// task JSON on the subject is the whole API.
func TestNATSCommandLine(t *testing.T) {
	natsBin := testenv.NeedBinary(t, "nats")
	llm := fakeModel(t)
	env, base, natsAddr := upEnv(t, llm)
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	nats := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(natsBin, append([]string{"--server", "nats://" + natsAddr, "--creds", adminCreds(env), "--timeout", "10s"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("nats %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := nats("micro", "ls"); !strings.Contains(out, "amf-api") {
		t.Fatalf("nats micro ls does not list amf-api:\n%s", out)
	}
	// `amf auth nats-context` makes a context the nats CLI selects.
	xdg := "XDG_CONFIG_HOME=" + t.TempDir()
	ctxCmd := startAmf(t, append(env, xdg), "auth", "nats-context", "--name", "amf-test")
	if code := ctxCmd.wait(60 * time.Second); code != 0 {
		t.Fatalf("amf auth nats-context: exit %d\n%s", code, ctxCmd.Output())
	}
	viaCtx := exec.Command(natsBin, "--context", "amf-test", "micro", "ls")
	viaCtx.Env = append(os.Environ(), xdg)
	if out, err := viaCtx.CombinedOutput(); err != nil || !strings.Contains(string(out), "amf-api") {
		t.Fatalf("nats --context amf-test micro ls: %v\n%s", err, out)
	}
	// `nats sub` with a count ends by itself once the terminal event came.
	// --all reads the task's events from the stream, from the first on, so
	// it sees them all however late its subscription starts.
	sub := exec.Command(natsBin, "--server", "nats://"+natsAddr, "--creds", adminCreds(env), "sub", "amf.events.cli-pub.>", "--all", "--count", "20", "--raw")
	var subOut lockedBuffer
	sub.Stdout, sub.Stderr = &subOut, &subOut
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	defer sub.Process.Kill()
	nats("pub", "amf.tasks.default", `{"id":"cli-pub","command":"echo via nats pub"}`)

	reply := nats("req", "amf.api.submit", `{"command":"echo via nats req"}`, "--raw")
	var sres struct{ ID string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(reply)), &sres); err != nil || sres.ID == "" {
		t.Fatalf("nats req amf.api.submit answered %q: %v", reply, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := nats("req", "amf.api.status", sres.ID, "--raw")
		if strings.Contains(st, `"state":"done"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never done: %s", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for !strings.Contains(subOut.String(), `"type":"done"`) {
		if time.Now().After(deadline) {
			t.Fatalf("nats sub never showed the done event:\n%s", subOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(subOut.String(), "via nats pub") {
		t.Fatalf("nats sub output lacks the command's output:\n%s", subOut.String())
	}
	if pools := nats("req", "amf.api.pools", "", "--raw"); !strings.Contains(pools, `"name":"default"`) || !strings.Contains(pools, `"max_deliver":5`) {
		t.Fatalf("nats req amf.api.pools answered %q", pools)
	}
}
