package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
)

// postTask submits body over HTTP and returns the status and the reply.
func postTask(t *testing.T, base, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/v1/tasks", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// runTask submits body, waits for its end and returns the terminal event.
func runTask(t *testing.T, base, body string) bus.Event {
	t.Helper()
	code, reply := postTask(t, base, body)
	if code != 202 {
		t.Fatalf("POST %s: %d %s", body, code, reply)
	}
	var sub struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(reply), &sub); err != nil {
		t.Fatal(err)
	}
	return lastEvent(sseEvents(t, base, sub.ID))
}

// TestUpSeesTheHostAndWorksInWorkspaces is README's promise on `amf up`:
// tasks that name no profile answer about this machine, secrets stay
// hidden, and a declared workspace is where a task writes, owned on the
// host by the directory's owner.
func TestUpSeesTheHostAndWorksInWorkspaces(t *testing.T) {
	testenv.NeedRoot(t)
	proj := filepath.Join(t.TempDir(), "proj")
	docs := t.TempDir()
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	const owner = 4321
	if err := os.Chown(proj, owner, owner); err != nil {
		t.Fatal(err)
	}
	llm := fakeModel(t)
	env, base, natsAddr := upEnv(t, llm)
	up := startAmf(t, env, "up", "--workspace", "proj="+proj+":rw", "--workspace", "docs="+docs+":ro")
	waitHealthy(t, base, up)

	// Refused at submission, naming the workspaces there are, once the
	// worker's heartbeat has told what it serves.
	var reply string
	testenv.EventuallyWithin(t, 20*time.Second, "unknown workspace refused at submission", func() bool {
		var code int
		code, reply = postTask(t, base, `{"command":"true","workspace":"nope","policy":"workspace"}`)
		return code == 400
	})
	if !strings.Contains(reply, "docs, proj") {
		t.Errorf("the refusal does not name the declared workspaces: %s", reply)
	}
	if code, reply := postTask(t, base, `{"command":"true","workspace":"proj","policy":"strict"}`); code != 400 || !strings.Contains(reply, `profile \"strict\" may not use workspace \"proj\"`) {
		t.Errorf("strict naming a workspace: %d %s", code, reply)
	}
	// The same over the NATS task API: a service error, not a task.
	nc, err := nats.Connect("nats://"+natsAddr, nats.UserCredentials(adminCreds(env)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msg, err := nc.Request("amf.api.submit.workspace", []byte(`{"command":"true","workspace":"nope","policy":"workspace"}`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code, desc := msg.Header.Get("Nats-Service-Error-Code"), msg.Header.Get("Nats-Service-Error"); code != "400" || !strings.Contains(desc, "docs, proj") {
		t.Errorf("NATS submit of an unknown workspace: %s %q %s", code, desc, msg.Data)
	}

	end := runTask(t, base, `{"command":"echo hi > note.txt","workspace":"proj","policy":"workspace","no_answer":true}`)
	if end.Type != bus.EventDone {
		t.Fatalf("rw workspace task ended %+v", end)
	}
	fi, err := os.Stat(filepath.Join(proj, "note.txt"))
	if err != nil {
		t.Fatalf("note.txt is not on the host: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != owner || st.Gid != owner {
		t.Errorf("note.txt is owned by %d:%d, want the directory's owner %d", st.Uid, st.Gid, owner)
	}
	end = runTask(t, base, `{"command":"echo hi > note.txt","workspace":"docs","policy":"workspace","no_answer":true,"max_attempts":1}`)
	if end.Type == bus.EventDone {
		t.Errorf("writing a ro workspace succeeded: %+v", end)
	}
	if _, err := os.Stat(filepath.Join(docs, "note.txt")); err == nil {
		t.Errorf("a ro workspace was written")
	}

	// The default profile answers about the host.
	want, _ := os.ReadDir("/var/log")
	var names []string
	for _, e := range want {
		names = append(names, e.Name())
	}
	end = runTask(t, base, `{"command":"ls -1 /var/log","no_answer":true}`)
	if got := strings.Fields(end.Output); end.Type != bus.EventDone || !slices.Equal(got, names) {
		t.Errorf("/var/log in a default task: %+v\nwant %v", end, names)
	}
	// "Which process uses the most memory?" as a model writes it: the
	// top line is a host process, not one of the sandbox's.
	end = runTask(t, base, `{"command":"ps aux --sort=-%mem | head -2","no_answer":true}`)
	if lines := strings.Split(strings.TrimSpace(end.Output), "\n"); end.Type != bus.EventDone || len(lines) < 2 {
		t.Errorf("ps aux in a default task: %+v", end)
	} else if f := strings.Fields(lines[1]); len(f) < 2 || !hostProcess(f[1]) {
		t.Errorf("the top memory process is not a host process: %q", lines[1])
	}
	end = runTask(t, base, `{"command":"cat /etc/shadow; ls -a /root; cat ~/.ssh/id_* 2>/dev/null; ls -a `+env[0][len("AMF_STATE_DIR="):]+`; true","no_answer":true}`)
	// Only the empty listings of masked directories: no shadow line, no
	// key, nothing of the state dir (auth, jetstream).
	for _, f := range strings.Fields(end.Output) {
		if f != "." && f != ".." {
			t.Errorf("secrets or the state dir show in a default task: %q in\n%s", f, end.Output)
		}
	}
}

// hostProcess says whether pid is a running host process that is none
// of a sandbox's (their host uids start at the runner's id base).
func hostProcess(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			f := strings.Fields(v)
			uid, err := strconv.ParseUint(f[0], 10, 32)
			return err == nil && uid < 1_800_000_000
		}
	}
	return false
}
