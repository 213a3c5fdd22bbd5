package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// matchPairs are learned / query pairs: paraphrases a worker replays and
// near-misses it must not.
var matchPairs = [][2]string{
	{"show the disk usage", "display the disk usage"},
	{"list the files in this directory", "show the files in this folder"},
	{"Please list all running processes.", "list every running process"},
	{"delete a.txt", "delete A.txt"},
	{"grep for orm* in the sources", "grep for orm.* in the sources"},
	{"rsync src/ to the backup host", "rsync src to the backup host"},
	{"list files changed in the last day", "list files modified in the last day"},
	{"find files owned by root and writable by others", "find files owned by root or writable by others"},
	{"remove the folder a and its contents", "remove the folder and its contents"},
	{"rename draft to final", "rename final to draft"},
	{"compress the reports to .gz", "compress the reports to zip"},
	{"find log files here", "find log files"},
	{"print $HOME", "print home"},
	{"show the kernel version", "print the kernel release"},
	{"count the lines of main.go", "count the lines of main.go"},
}

// TestMemoryMatchAgreesWithTheWorker: for every pair, amf memory match
// prints what a worker's recall decides for the learned memory (learned
// on two worker credentials, so only the score and the agreement
// decide): "reuse" exactly when the recalled memory is marked for reuse,
// and otherwise "ask: " with the very reason the worker's memory_hit
// event carries.
func TestMemoryMatchAgreesWithTheWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t.Setenv("AMF_EMBED_MODEL", "")
	k := kerneltest.Start(t)
	// The index as a worker opens it (cmd/amf parts.go): the local
	// embedder when no embedding model is set.
	kn, err := knowledge.Open(ctx, k.JS, knowledge.Config{Embedder: knowledge.ChooseEmbedder(ctx, nil, "", nil), Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer kn.Close()
	ids := map[string]string{}
	names := bus.Names{}
	for i, name := range []string{"w1", "w2"} {
		creds := k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleWorker})
		js, err := jetstream.New(k.ConnectAs(creds))
		if err != nil {
			t.Fatal(err)
		}
		prefix, err := kernel.CredsInboxPrefix(creds)
		if err != nil {
			t.Fatal(err)
		}
		cred := strings.TrimPrefix(prefix, "_INBOX_")
		for j, p := range matchPairs {
			// The worker ran the task: the kernel's accepted event and
			// one of the worker's, which the kernel's memory voucher
			// looks for before any index learns the record.
			task := bus.Task{ID: fmt.Sprintf("t%d-%d", i, j), Pool: bus.DefaultPool}
			if _, err := k.JS.PublishMsg(ctx, names.EventMsg(bus.Event{TaskID: task.ID, Type: bus.EventAccepted, Task: &task})); err != nil {
				t.Fatal(err)
			}
			if _, err := js.PublishMsg(ctx, names.EventMsgBy(bus.Event{TaskID: task.ID, Type: bus.EventAssigned}, task.Pool, cred)); err != nil {
				t.Fatal(err)
			}
			id, err := memory.Publisher{JS: js}.Learn(ctx, bus.Learned{Instruction: p[0], Command: fmt.Sprintf("echo %d", j), TaskID: task.ID})
			if err != nil {
				t.Fatal(err)
			}
			ids[p[0]] = id
		}
	}
	if err := kn.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	reused, asked := 0, 0
	for _, p := range matchPairs {
		ms, err := kn.Recall(ctx, "", p[1], memory.HostFacts{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		var worker *memory.Match
		for i := range ms {
			if ms[i].ID == ids[p[0]] {
				worker = &ms[i]
			}
		}
		if worker == nil {
			t.Fatalf("%q: the worker did not recall %q at all", p[1], p[0])
		}
		want := "reuse"
		if !worker.Reuse {
			want = "ask: " + worker.NoReuse
			asked++
		} else {
			reused++
		}
		var out bytes.Buffer
		if err := runMemoryMatch(ctx, []string{"--learned", p[0], "--query", p[1]}, &out); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out.String()); got != want {
			t.Errorf("learned %q, query %q:\n amf memory match: %s\n worker:            %s", p[0], p[1], got, want)
		}
		out.Reset()
		if err := runMemoryMatch(ctx, []string{"--learned", p[0], "--query", p[1], "-o", "json"}, &out); err != nil {
			t.Fatal(err)
		}
		var v knowledge.Verdict
		if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.Reuse != worker.Reuse || v.Why != worker.NoReuse || v.Score != worker.Score {
			t.Errorf("-o json = %s (%v); the worker scored %v, reuse %v, %q", out.String(), err, worker.Score, worker.Reuse, worker.NoReuse)
		}
	}
	if reused == 0 || asked == 0 {
		t.Fatalf("reused %d, asked %d: the pairs must test both verdicts", reused, asked)
	}
}

// TestMemoryMatchBadInput: a missing instruction or a stray argument is
// refused with what to type instead.
func TestMemoryMatchBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--learned", "show the disk usage"}, "needs both instructions"},
		{[]string{"--learned", " ", "--query", "x"}, "needs both instructions"},
		{[]string{"--learned", "a", "--query", "b", "c"}, "quote each instruction"},
		{[]string{"--learned", strings.Repeat("x", knowledge.MaxQueryBytes+1), "--query", "b"}, "the limit is"},
	} {
		var out bytes.Buffer
		err := runMemoryMatch(context.Background(), c.args, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("memory match %q: err = %v, want %q", c.args, err, c.want)
		}
	}
}
