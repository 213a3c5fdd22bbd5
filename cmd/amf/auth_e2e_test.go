package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// plainHTTP is a client without the harness's token: what a stranger has.
var plainHTTP = &http.Client{Transport: http.DefaultTransport}

func statusOf(t *testing.T, c *http.Client, method, url, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestUpCreatesAdminTokenAndCLIManagesTokens: a fresh `amf up` writes an
// admin token (0600, in a 0700 dir), prints a console link holding it,
// refuses strangers, and `amf auth token` issues, lists and revokes.
func TestUpCreatesAdminTokenAndCLIManagesTokens(t *testing.T) {
	env, base, _ := upEnv(t, fakeModel(t))
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	state := strings.TrimPrefix(env[0], "AMF_STATE_DIR=")
	file := adminTokenFile(state)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin token file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(file)); di.Mode().Perm() != 0o700 {
		t.Errorf("auth dir mode %v, want 0700", di.Mode().Perm())
	}
	b, _ := os.ReadFile(file)
	admin := strings.TrimSpace(string(b))
	waitFor(t, up, "#token=")
	m := regexp.MustCompile(`Console \(logs in\): (http://\S+)/#token=(\S+)`).FindStringSubmatch(up.Output())
	if m == nil || m[1] != base || m[2] != admin {
		t.Fatalf("up did not print a login link with the admin token:\n%s", up.Output())
	}
	if strings.Count(up.Output(), admin) != 1 {
		t.Errorf("the admin token appears %d times in the output, want once (the link)", strings.Count(up.Output(), admin))
	}

	if got := statusOf(t, plainHTTP, "POST", base+"/v1/tasks", "", `{"command":"echo hi"}`); got != 401 {
		t.Fatalf("submit without a token: %d, want 401", got)
	}
	if got := statusOf(t, plainHTTP, "GET", base+"/healthz", "", ""); got != 200 {
		t.Fatalf("healthz without a token: %d, want 200", got)
	}
	if got := statusOf(t, plainHTTP, "POST", base+"/v1/tasks", admin, `{"command":"echo hi","policy":"trusted"}`); got != 202 {
		t.Fatalf("admin submit of a trusted task: %d, want 202", got)
	}

	create := startAmf(t, env, "auth", "token", "create", "--scope", "read", "--name", "reader")
	if code := create.wait(30 * time.Second); code != 0 {
		t.Fatalf("token create exited %d:\n%s", code, create.Output())
	}
	lines := strings.Split(strings.TrimSpace(create.Output()), "\n")
	reader := lines[len(lines)-1]
	if !strings.HasPrefix(reader, "amf_") {
		t.Fatalf("the last line of token create is %q, want the token", reader)
	}
	if got := statusOf(t, plainHTTP, "GET", base+"/v1/tasks/nope", reader, ""); got != 404 {
		t.Fatalf("read with the new token: %d, want 404", got)
	}
	if got := statusOf(t, plainHTTP, "POST", base+"/v1/tasks", reader, `{"command":"echo hi"}`); got != 403 {
		t.Fatalf("submit with a read token: %d, want 403", got)
	}
	bad := startAmf(t, env, "auth", "token", "create", "--scope", "write")
	if code := bad.wait(30 * time.Second); code == 0 || !strings.Contains(bad.Output(), `unknown scope "write"`) {
		t.Fatalf("a bad scope: exit %d:\n%s", code, bad.Output())
	}

	list := startAmf(t, env, "auth", "token", "list", "-o", "json")
	if code := list.wait(30 * time.Second); code != 0 {
		t.Fatalf("token list exited %d:\n%s", code, list.Output())
	}
	var doc struct{ Tokens []struct{ ID, Name string } }
	err = json.Unmarshal([]byte(list.Output()), &doc)
	if recs := doc.Tokens; err != nil || len(recs) != 2 {
		t.Fatalf("token list: %v\n%s", err, list.Output())
	}
	if strings.Contains(list.Output(), reader[len(reader)-43:]) || strings.Contains(list.Output(), admin[len(admin)-43:]) {
		t.Fatal("token list shows a secret")
	}
	id := strings.Split(reader, "_")[1]
	revoke := startAmf(t, env, "auth", "token", "revoke", id)
	if code := revoke.wait(30 * time.Second); code != 0 {
		t.Fatalf("token revoke exited %d:\n%s", code, revoke.Output())
	}
	pollUntil(t, "the revoked token to be refused", func() bool {
		return statusOf(t, plainHTTP, "GET", base+"/v1/tasks/nope", reader, "") == 401
	})

	// A restart keeps the admin token (and the revocation).
	up.signal(syscall.SIGTERM)
	if code := up.wait(30 * time.Second); code != 0 {
		t.Fatalf("amf up exit %d on SIGTERM", code)
	}
	again := startAmf(t, env, "up")
	waitHealthy(t, base, again)
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != admin {
		t.Fatal("a restart replaced a valid admin token")
	}
	if got := statusOf(t, plainHTTP, "GET", base+"/v1/tasks/nope", admin, ""); got != 404 {
		t.Fatalf("admin token after restart: %d", got)
	}
	if got := statusOf(t, plainHTTP, "GET", base+"/v1/tasks/nope", reader, ""); got != 401 {
		t.Fatalf("revoked token after restart: %d", got)
	}
}

// TestRawBusTasksCannotSmuggleEnv publishes tasks straight on the task
// subject, past the HTTP check: the worker decodes them with the same
// bus code and refuses each, so nothing hidden runs in a sandbox. A task
// with an ordinary variable runs with it.
func TestRawBusTasksCannotSmuggleEnv(t *testing.T) {
	env, base, natsAddr := upEnv(t, fakeModel(t))
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	nc, err := nats.Connect("nats://"+natsAddr, nats.UserCredentials(adminCreds(env)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hidden := map[string]map[string]string{
		"fn":      {"BASH_FUNC_ls%%": "() { echo HIDDEN-fn; }"},
		"xtrace":  {"PS4": "$(echo HIDDEN-ps4)", "SHELLOPTS": "xtrace"},
		"preload": {"LD_PRELOAD": "/tmp/HIDDEN.so"},
		"bashenv": {"BASH_ENV": "/proc/self/fd/0"},
	}
	for name, vars := range hidden {
		id := "raw-" + name
		task, _ := json.Marshal(map[string]any{"id": id, "command": "ls /", "env": vars})
		if err := nc.Publish(bus.Names{}.Task("default"), task); err != nil {
			t.Fatal(err)
		}
		evs := eventsWhenKnown(t, base, id)
		last := lastEvent(evs)
		if last.Type != bus.EventFailed || last.Rule != "invalid-task" || !strings.Contains(last.Reason, "refused") {
			t.Fatalf("%s: last event %s %q %q, want failed invalid-task saying refused", name, last.Type, last.Rule, last.Reason)
		}
		named := false
		for k := range vars {
			named = named || strings.Contains(last.Reason, k)
		}
		if !named {
			t.Errorf("%s: reason %q names none of %v", name, last.Reason, vars)
		}
		for _, e := range evs {
			if e.Type == bus.EventExecStart || strings.Contains(e.Text, "HIDDEN") {
				t.Fatalf("%s: a command ran: %+v", name, e)
			}
		}
	}
	task, _ := json.Marshal(map[string]any{"id": "raw-ok", "command": `echo "greeting=$GREETING"`, "env": map[string]string{"GREETING": "hi"}})
	if err := nc.Publish(bus.Names{}.Task("default"), task); err != nil {
		t.Fatal(err)
	}
	evs := eventsWhenKnown(t, base, "raw-ok")
	if lastEvent(evs).Type != bus.EventDone || !hasLine(evs, "greeting=hi") {
		t.Fatalf("an allowed variable did not reach the command: %+v", evs)
	}
}

// TestSecretsInvisibleInsideSandbox runs, in the confined sandbox of an
// `amf up` whose environment holds credentials, a command that prints
// its environment and looks for the state dir's auth files and the admin
// token everywhere it can see.
func TestSecretsInvisibleInsideSandbox(t *testing.T) {
	env, base, _ := upEnv(t, fakeModel(t))
	state := strings.TrimPrefix(env[0], "AMF_STATE_DIR=")
	const canary = "canary-secret-3f9a1c"
	env = append(env, "AMF_TOKEN="+canary, "AMF_NATS_CREDS=/"+canary, "NATS_URL=nats://"+canary, "REDIS_URL=redis://"+canary, "AMF_REDIS_PASSWORD="+canary)
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)
	b, err := os.ReadFile(adminTokenFile(state))
	if err != nil {
		t.Fatal(err)
	}
	admin := strings.TrimSpace(string(b))
	secret := admin[len(admin)-43:]
	probe := strings.Join([]string{
		`echo "--- env"; env`,
		`echo "--- state dir"; ls -la ` + state + ` 2>&1; ls -la ` + filepath.Dir(adminTokenFile(state)) + ` 2>&1`,
		`echo "--- files"; find / \( -path /proc -o -path /sys \) -prune -o \( -name '*.token' -o -name '*.creds' -o -name 'http-admin*' -o -name '*.nk' \) -print 2>/dev/null`,
		`echo "--- grep"; grep -rIl -e '` + secret + `' -e '` + canary + `' /etc /tmp /home /root /var /opt /srv /work /run 2>/dev/null`,
		`echo "--- procs"; for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f"; done 2>/dev/null | sort -u`,
		`echo "--- end"`,
	}, "\n")
	// The trusted profile turns most validation rules off, so only
	// confinement stands between the probe and the host.
	body, _ := json.Marshal(map[string]any{"command": probe, "max_attempts": 1, "policy": "trusted"})
	req, _ := http.NewRequest("POST", base+"/v1/tasks", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sub struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&sub)
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	evs := sseEvents(t, base, sub.ID)
	var out strings.Builder
	for _, e := range evs {
		if e.Type == bus.EventStdout || e.Type == bus.EventStderr {
			out.WriteString(e.Text + "\n")
		}
	}
	seen := out.String()
	if !strings.Contains(seen, "--- end") || !strings.Contains(seen, "PATH=") {
		t.Fatalf("the probe did not run to its end (last event %s %q):\n%s", lastEvent(evs).Type, lastEvent(evs).Reason, seen)
	}
	t.Logf("seen from inside the sandbox:\n%s", seen)
	for _, leak := range []string{canary, secret, "AMF_", "NATS_", "REDIS", "http-admin", ".creds"} {
		if strings.Contains(seen, leak) {
			t.Errorf("%q is visible inside the sandbox:\n%s", leak, seen)
		}
	}
	if !strings.Contains(seen, "No such file or directory") {
		t.Errorf("the state dir should not exist inside the sandbox:\n%s", seen)
	}
}

// eventsWhenKnown reads a task's events once the bridge knows the task:
// a task published straight on the bus has no events for a moment.
func eventsWhenKnown(t *testing.T, base, id string) []bus.Event {
	t.Helper()
	pollUntil(t, "task "+id+" to have events", func() bool {
		return statusOf(t, http.DefaultClient, "GET", base+"/v1/tasks/"+id+"/events", "", "") == 200
	})
	return sseEvents(t, base, id)
}

func hasLine(evs []bus.Event, text string) bool {
	for _, e := range evs {
		if e.Type == bus.EventStdout && e.Text == text {
			return true
		}
	}
	return false
}

// pollUntil polls cond until it holds, failing after a minute.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
