package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/clictx"
	"github.com/amf-os/amf/internal/testenv"
)

// contextEnv is a user's environment with nothing that names a kernel:
// a home of its own, the default state dir under it, no AMF_NATS_URL.
func contextEnv(t *testing.T) (env []string, stateDir string) {
	home := t.TempDir()
	stateHome := filepath.Join(home, "state")
	return []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"XDG_STATE_HOME=" + stateHome,
		// Empty is unset for amf: whatever the test runner's own
		// environment says does not leak in.
		"AMF_NATS_URL=", "AMF_STATE_DIR=", "AMF_NATS_CREDS=", "AMF_CONTEXT=", "AMF_NATS_TLS_CA=",
	}, filepath.Join(stateHome, "amf")
}

// TestClientCommandsFollowTheKernelsContext starts `amf up` on random
// ports given as flags only, then runs every client command with nothing
// that names the kernel: they reach it through the context `amf up`
// wrote. A URL in the environment still wins; once the kernel is gone
// the context's file is named in the error.
func TestClientCommandsFollowTheKernelsContext(t *testing.T) {
	natsBin := testenv.NeedBinary(t, "nats")
	llm := fakeModel(t)
	env, state := contextEnv(t)
	natsAddr, httpAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	base := "http://" + httpAddr
	bridgeTokens.register(base, adminTokenFile(state))
	up := startAmf(t, append(env, "OLLAMA_HOST="+llm.URL(), "AMF_CONCURRENCY=2"), "up", "--listen", natsAddr, "--http", httpAddr)
	waitHealthy(t, base, up)

	k, err := clictx.Read(clictx.StatePath(state))
	if err != nil {
		t.Fatal(err)
	}
	if k.URL != "nats://"+natsAddr || k.Creds != localCreds(state) {
		t.Fatalf("context %+v, want url nats://%s and creds %s", k, natsAddr, localCreds(state))
	}
	if fi, err := os.Stat(clictx.StatePath(state)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("context file mode: %v %v, want 0600", fi, err)
	}
	testenv.Eventually(t, "the context names the HTTP address", func() bool {
		k, err := clictx.Read(clictx.StatePath(state))
		return err == nil && k.HTTP == httpAddr && k.TokenFile == adminTokenFile(state)
	})

	if out := amfRun(t, env, 0, "run", "--id", "ctx-1", "--cmd", "echo reached through the context"); !strings.Contains(out, "reached through the context") {
		t.Fatalf("amf run:\n%s", out)
	}
	if out := amfRun(t, env, 0, "run", "--id", "ctx-2", "greet me", "--no-answer"); !strings.Contains(out, "hello from the model") {
		t.Fatalf("amf run with the model:\n%s", out)
	}
	var ls struct{ Tasks []struct{ ID string } }
	decodeOut(t, amfRun(t, env, 0, "tasks", "ls", "-o", "json"), &ls)
	if len(ls.Tasks) != 2 {
		t.Fatalf("amf tasks ls: %+v, want ctx-1 and ctx-2", ls.Tasks)
	}
	if out := amfRun(t, env, 0, "tasks", "show", "ctx-1"); !strings.Contains(out, "done") {
		t.Fatalf("amf tasks show:\n%s", out)
	}
	var ws struct{ Workers []struct{ Pool string } }
	decodeOut(t, amfRun(t, env, 0, "workers", "-o", "json"), &ws)
	if len(ws.Workers) != 1 || ws.Workers[0].Pool != "default" {
		t.Fatalf("amf workers: %+v", ws.Workers)
	}
	if out := amfRun(t, env, 0, "pools"); !strings.Contains(out, "default") {
		t.Fatalf("amf pools:\n%s", out)
	}
	if out := amfRun(t, env, 0, "schedule", "add", "--id", "ctx-every", "--cmd", "true", "every 1h"); !strings.Contains(out, "ctx-every") {
		t.Fatalf("amf schedule add:\n%s", out)
	}
	if out := amfRun(t, env, 0, "schedule", "ls"); !strings.Contains(out, "ctx-every") {
		t.Fatalf("amf schedule ls:\n%s", out)
	}
	amfRun(t, env, 0, "memory", "ls")
	amfRun(t, env, 0, "auth", "token", "list")
	show := amfRun(t, env, 0, "context")
	for _, want := range []string{clictx.StatePath(state), "nats://" + natsAddr, httpAddr, "answers"} {
		if !strings.Contains(show, want) {
			t.Errorf("amf context lacks %q:\n%s", want, show)
		}
	}

	// The nats CLI context that amf auth nats-context writes reaches the
	// same kernel, with nothing on its command line but the context.
	amfRun(t, env, 0, "auth", "nats-context", "--name", "amf-ctx")
	viaCtx := exec.Command(natsBin, "--context", "amf-ctx", "req", "amf.api.status", "ctx-1", "--raw", "--timeout", "10s")
	viaCtx.Env = append(os.Environ(), env...)
	if out, err := viaCtx.CombinedOutput(); err != nil || !strings.Contains(string(out), `"state":"done"`) {
		t.Fatalf("nats --context amf-ctx req amf.api.status: %v\n%s", err, out)
	}

	// The environment wins over the context.
	dead := "nats://" + testenv.FreeAddr(t)
	if out := amfRun(t, append(env, "AMF_NATS_URL="+dead), 1, "pools"); !strings.Contains(out, dead) || strings.Contains(out, clictx.StatePath(state)) {
		t.Fatalf("AMF_NATS_URL=%s amf pools: want the error to name that URL and no context:\n%s", dead, out)
	}

	// A context whose kernel is gone says so and names its file.
	up.signal(syscall.SIGTERM)
	if code := up.wait(60 * time.Second); code != 0 {
		t.Fatalf("amf up exit %d:\n%s", code, up.Output())
	}
	out := amfRun(t, env, 1, "pools")
	for _, want := range []string{"connect to the kernel at nats://" + natsAddr, "context " + clictx.StatePath(state), "is gone", "--nats"} {
		if !strings.Contains(out, want) {
			t.Errorf("amf pools after the kernel stopped lacks %q:\n%s", want, out)
		}
	}
}

// TestContextUseAndRm: amf context use writes the user's choice, which
// the client commands then follow and amf context shows; rm forgets it;
// a state dir with no kernel's context is refused naming how to make one.
func TestContextUseAndRm(t *testing.T) {
	env, _ := contextEnv(t)
	home := strings.TrimPrefix(env[0], "HOME=")
	user := filepath.Join(home, "config", "amf", clictx.FileName)
	dead := "nats://" + testenv.FreeAddr(t)
	missing := filepath.Join(t.TempDir(), "me.creds")
	if out := amfRun(t, env, 1, "context", "use", "--nats", dead, "--creds", missing); !strings.Contains(out, missing+" does not exist") {
		t.Fatalf("amf context use with a credential that is not there:\n%s", out)
	}
	amfRun(t, env, 0, "context", "use", "--nats", dead)
	k, err := clictx.Read(user)
	if err != nil || k.URL != dead {
		t.Fatalf("amf context use wrote %+v (%v), want %s", k, err, dead)
	}
	var shown struct {
		URL, File string
		Reachable bool
	}
	decodeOut(t, amfRun(t, env, 0, "context", "-o", "json"), &shown)
	if shown.URL != dead || shown.File != user || shown.Reachable {
		t.Fatalf("amf context -o json: %+v, want %s from %s, unreachable", shown, dead, user)
	}
	if out := amfRun(t, env, 1, "workers"); !strings.Contains(out, user) || !strings.Contains(out, "amf context use") {
		t.Fatalf("amf workers through a chosen context whose kernel is not there:\n%s", out)
	}
	var ls struct {
		Contexts []struct {
			Path, URL string
			Used      bool
		}
	}
	decodeOut(t, amfRun(t, env, 0, "context", "ls", "-o", "json"), &ls)
	if len(ls.Contexts) != 1 || ls.Contexts[0].Path != user || !ls.Contexts[0].Used || ls.Contexts[0].URL != dead {
		t.Fatalf("amf context ls: %+v, want the one chosen, in use", ls.Contexts)
	}
	amfRun(t, env, 0, "context", "rm")
	if _, err := os.Stat(user); !os.IsNotExist(err) {
		t.Fatalf("after amf context rm: %v", err)
	}
	if out := amfRun(t, env, 1, "context", "use", t.TempDir()); !strings.Contains(out, "no context file") || !strings.Contains(out, "--state-dir") {
		t.Fatalf("amf context use on a dir no kernel ran from:\n%s", out)
	}
}
