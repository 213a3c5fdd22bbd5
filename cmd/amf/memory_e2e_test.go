package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
)

func submitHTTP(t *testing.T, base, body string) string {
	t.Helper()
	resp, err := http.Post(base+"/v1/tasks", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 202 {
		t.Fatalf("submit %s: %d %v", body, resp.StatusCode, err)
	}
	return s.ID
}

// TestFleetLearnsAndReuses: a success is learned, shows up in
// `amf memory`, is confirmed with `amf memory confirm --yes`, and the same
// instruction later runs the remembered command without asking the
// model; forget removes it again.
func TestFleetLearnsAndReuses(t *testing.T) {
	llm := fakeModel(t)
	env, base, _ := upEnv(t, llm)
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)

	first := sseEvents(t, base, submitHTTP(t, base, `{"instruction":"greet the operator","no_answer":true}`))
	if e := lastEvent(first); e.Type != bus.EventDone {
		t.Fatalf("first task: %+v", e)
	}
	if countType(first, bus.EventLearned) != 1 {
		t.Fatalf("no learned event: %v", first)
	}
	// The memory reaches the index by the stream; the CLI reads the same.
	var out string
	testenv.EventuallyWithin(t, 20*time.Second, "amf memory search finds it", func() bool {
		p := startAmf(t, env, "memory", "search", "greet the operator")
		p.wait(30 * time.Second)
		out = p.Output()
		// Answered by the worker's index, not one the CLI built itself.
		return strings.Contains(out, "echo hello from the model") && !strings.Contains(out, "no worker serves memory search")
	})

	t.Logf("amf memory search:\n%s", out)
	ls := startAmf(t, env, "memory", "ls", "-o", "json")
	ls.wait(30 * time.Second)
	var doc struct{ Memories []struct{ ID string } }
	if err := json.Unmarshal([]byte(ls.Output()), &doc); err != nil || len(doc.Memories) == 0 || doc.Memories[0].ID == "" {
		t.Fatalf("amf memory ls -o json: %q", ls.Output())
	}
	rec := doc.Memories[0]
	// One success is not enough for blind reuse; a user's confirmation is.
	if !regexp.MustCompile(`\bno\s+` + rec.ID).MatchString(out) {
		t.Fatalf("a memory learned once is marked for reuse:\n%s", out)
	}
	cf := startAmf(t, env, "memory", "confirm", "--yes", rec.ID)
	if code := cf.wait(30 * time.Second); code != 0 || !strings.Contains(cf.Output(), "confirmed "+rec.ID) {
		t.Fatalf("confirm exit %d: %s", code, cf.Output())
	}
	asked := len(llm.Requests())
	second := sseEvents(t, base, submitHTTP(t, base, `{"instruction":"greet the operator","no_answer":true}`))
	if e := lastEvent(second); e.Type != bus.EventDone || !strings.Contains(e.Output, "hello from the model") {
		t.Fatalf("second task: %+v", e)
	}
	if countType(second, bus.EventMemoryHit) == 0 {
		t.Fatalf("second task did not use memory: %v", second)
	}
	// The model is asked once: its second look at the remembered
	// command, never for a command.
	if reqs := llm.Requests()[asked:]; len(reqs) != 1 || !strings.Contains(string(reqs[0].Format), `"same"`) {
		t.Fatalf("the model was asked %d times for a remembered command, want only its second look", len(reqs))
	}

	// export, forget, and the ls that follows no longer lists it
	exportFile := filepath.Join(t.TempDir(), "memories.jsonl")
	ex := startAmf(t, env, "memory", "export", "-o", exportFile)
	if code := ex.wait(30 * time.Second); code != 0 {
		t.Fatalf("export exit %d: %s", code, ex.Output())
	}
	if data, _ := os.ReadFile(exportFile); !strings.Contains(string(data), "echo hello from the model") {
		t.Fatalf("export holds %q", data)
	}
	fg := startAmf(t, env, "memory", "forget", rec.ID)
	if code := fg.wait(30 * time.Second); code != 0 {
		t.Fatalf("forget exit %d: %s", code, fg.Output())
	}
	testenv.EventuallyWithin(t, 20*time.Second, "forgotten memory gone from ls", func() bool {
		// --json is the deprecated spelling of -o json.
		p := startAmf(t, env, "memory", "ls", "--json")
		p.wait(30 * time.Second)
		return !strings.Contains(p.Output(), rec.ID)
	})
}

// TestMemorySearchWithoutWorkers: with no worker to answer, the CLI
// says so and builds an index from the stream itself; --pool filters.
func TestMemorySearchWithoutWorkers(t *testing.T) {
	k := kerneltest.Start(t)
	pub := memory.Publisher{JS: k.JS}
	for _, l := range []bus.Learned{
		{Instruction: "show the disk usage per filesystem", Command: "df -h", Pool: "ops", TaskID: "a"},
		{Instruction: "show the disk usage of the home directory", Command: "du -sh ~", Pool: "dev", TaskID: "b"},
	} {
		if _, err := pub.Learn(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"AMF_NATS_URL=" + k.ClientURL(), "AMF_NATS_CREDS=" + k.AdminCreds}
	p := startAmf(t, env, "memory", "search", "--pool", "dev", "disk usage")
	if code := p.wait(60 * time.Second); code != 0 {
		t.Fatalf("exit %d: %s", code, p.Output())
	}
	out := p.Output()
	if !strings.Contains(out, "no worker serves memory search") || !strings.Contains(out, "du -sh ~") || strings.Contains(out, "df -h") {
		t.Fatalf("amf memory search --pool dev without workers:\n%s", out)
	}
}
