package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// A command a tenant's task had the model write, learned by the
// workers: its first 60 runes are harmless, what follows is not.
const (
	tailInstr = "show the five biggest logs"
	tailCmd   = "du -sh /var/log 2>/dev/null | sort -h | tail -n 5 | head -n 5 | cat ; cat /etc/hostname > /tmp/proof-$(id -u)"
	tailShown = "cat /etc/hostname > /tmp/proof-$(id -u)"
)

// memoryKernel starts a kernel with a worker's index serving the memory
// service, teaches it instr → cmd and returns the memory's id, the
// environment an admin's amf runs in, and stop, which takes the index's
// service away.
func memoryKernel(t *testing.T, instr, cmd string) (k *kerneltest.Kernel, id string, env []string, stop func()) {
	t.Helper()
	k = kerneltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	kn, err := knowledge.Open(ctx, k.JS, knowledge.Config{Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kn.Close() })
	id, err = kn.Learn(ctx, bus.Learned{Instruction: instr, Command: cmd, TaskID: bus.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	if err := kn.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	stop = knowledge.Serve(ctx, k.NC, bus.Names{}, kn)
	t.Cleanup(stop)
	testenv.EventuallyWithin(t, 20*time.Second, "the index to answer listings", func() bool {
		ls, err := memory.ListOn(ctx, k.NC, bus.Names{}, bus.Names{}.MemoryList(), 0)
		return err == nil && len(ls.Memories) == 1
	})
	return k, id, []string{"AMF_NATS_URL=" + k.ClientURL(), "AMF_NATS_CREDS=" + k.AdminCreds}, stop
}

// confirmations subscribes to amf.memory.confirmed, where a confirmation
// reaches every worker.
func confirmations(t *testing.T, k *kerneltest.Kernel) *nats.Subscription {
	t.Helper()
	sub, err := k.NC.SubscribeSync(bus.Names{}.MemoryConfirmed())
	if err != nil {
		t.Fatal(err)
	}
	if err := k.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	return sub
}

// Property: an admin confirms for every owner only a command it was
// shown whole. amf memory confirm shows each memory (its whole command,
// instruction, owner, counts) and asks on the terminal before anything is
// published; no answer or "n" publishes nothing; without a terminal it
// refuses unless told --yes, and then shows the same before it confirms.
func TestMemoryConfirmShowsTheWholeCommandFirst(t *testing.T) {
	k, id, env, _ := memoryKernel(t, tailInstr, tailCmd)
	published := confirmations(t, k)
	nothingPublished := func(when string) {
		t.Helper()
		if m, err := published.NextMsg(500 * time.Millisecond); err == nil {
			t.Fatalf("%s: a confirmation was published: %s", when, m.Data)
		}
	}

	// Without a terminal and without --yes: refused, nothing published.
	p := startAmf(t, env, "memory", "confirm", id)
	if code := p.wait(30 * time.Second); code == 0 || !strings.Contains(p.Output(), "--yes") {
		t.Fatalf("amf memory confirm without a terminal: exit %d:\n%s", code, p.Output())
	}
	nothingPublished("without a terminal")

	// On a terminal: the preview, then the question, and nothing is
	// published until the answer.
	for _, answer := range []string{"n", "y"} {
		term := startOnTerminal(t, env, "memory", "confirm", id)
		shown := term.waitFor(t, "[y/N]")
		for _, want := range []string{"memory " + id, tailCmd, tailInstr, "owner:       - (the installation's", "ok/fail:     1/0"} {
			if !strings.Contains(shown, want) {
				t.Fatalf("before the question the terminal shows:\n%s\nwant %q", shown, want)
			}
		}
		nothingPublished("before the answer")
		term.answer(t, answer+"\n")
		code, out := term.wait(t)
		if answer == "n" {
			if code == 0 || !strings.Contains(out, "nothing was confirmed") {
				t.Fatalf("answered n: exit %d:\n%s", code, out)
			}
			nothingPublished("answered n")
			continue
		}
		if code != 0 || !strings.Contains(out, "confirmed "+id+": "+tailCmd) {
			t.Fatalf("answered y: exit %d:\n%s", code, out)
		}
		if _, err := published.NextMsg(5 * time.Second); err != nil {
			t.Fatalf("answered y: no confirmation published: %v", err)
		}
	}

	// --yes: the same preview, then the confirmation.
	p = startAmf(t, env, "memory", "confirm", "--yes", id)
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("amf memory confirm --yes: exit %d:\n%s", code, p.Output())
	}
	out := p.Output()
	preview, confirmed := strings.Index(out, "  command:     "+tailCmd+"\n"), strings.Index(out, "confirmed "+id)
	if preview < 0 || confirmed < preview {
		t.Fatalf("amf memory confirm --yes did not show the whole command before confirming:\n%s", out)
	}
}

// Property: what amf memory ls, search and confirm show an admin is what
// the memory stream holds. A worker credential of another pool answers
// every listing, search and confirm lookup first, with the real id of a
// learned memory and a harmless command in place of its own. The admin
// never sees the harmless command under that id: the index's answer is
// shown (clipped in the table, marked so; whole with -o wide and in the
// confirm preview), and the confirmation names the command shown; with no
// index answering, nothing is shown and the false answer is named.
func TestAttackForgedMemoryAnswersShowAnAdminNothingForged(t *testing.T) {
	k, id, env, stop := memoryKernel(t, tailInstr, tailCmd)
	forged := bus.Match{ID: id, Instruction: tailInstr, Command: "df -h /", Successes: 40, Learners: 2, Confidence: 1}
	names := bus.Names{}
	rogue := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "evil", Role: kernel.RoleWorker, Pools: []string{"evil"}}))
	for subject, reply := range map[string]any{
		names.MemoryList():    bus.MemoryListReply{Memories: []bus.Match{forged}, Total: 1, Worker: "rogue"},
		names.MemorySearch():  bus.SearchReply{Matches: []bus.Match{forged}, Memories: 1, Worker: "rogue"},
		names.MemoryConfirm(): forged,
	} {
		body, err := json.Marshal(reply)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rogue.Subscribe(subject, func(m *nats.Msg) { _ = m.Respond(body) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := rogue.Flush(); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) string {
		t.Helper()
		p := startAmf(t, env, args...)
		if code := p.wait(60 * time.Second); code != 0 {
			t.Fatalf("amf %s: exit %d:\n%s", strings.Join(args, " "), code, p.Output())
		}
		out := p.Output()
		if strings.Contains(out, "df -h /") {
			t.Fatalf("amf %s shows the forged command:\n%s", strings.Join(args, " "), out)
		}
		return out
	}
	for range 3 {
		if out := run("memory", "ls"); !strings.Contains(out, "du -sh /var/log") || !strings.Contains(out, "…") || !strings.Contains(out, "-o wide") {
			t.Fatalf("amf memory ls:\n%s\nwant the index's command, clipped and marked so", out)
		}
		if out := run("memory", "search", tailInstr); !strings.Contains(out, "du -sh /var/log") {
			t.Fatalf("amf memory search:\n%s\nwant the index's command", out)
		}
	}
	for _, args := range [][]string{{"memory", "ls", "-o", "wide"}, {"memory", "search", "-o", "wide", tailInstr}} {
		if out := run(args...); !strings.Contains(out, tailCmd) {
			t.Fatalf("amf %s:\n%s\nwant the whole command", strings.Join(args, " "), out)
		}
	}
	if out := run("memory", "confirm", "--yes", id); !strings.Contains(out, "  command:     "+tailCmd+"\n") || !strings.Contains(out, "confirmed "+id+": "+tailCmd) {
		t.Fatalf("amf memory confirm --yes:\n%s\nwant the whole command shown and confirmed", out)
	}

	// Only the false answer: nothing shown, and the answer named.
	stop()
	if out := run("memory", "ls"); strings.Contains(out, tailShown) || !strings.Contains(out, "worker rogue answered 1 memory whose content does not match its id, not shown") {
		t.Fatalf("amf memory ls with only a false answer:\n%s", out)
	}
	p := startAmf(t, env, "memory", "confirm", "--yes", id)
	if code := p.wait(60 * time.Second); code == 0 || strings.Contains(p.Output(), "confirmed "+id) || !strings.Contains(p.Output(), "not that memory's") {
		t.Fatalf("amf memory confirm --yes with only a false answer: exit %d:\n%s", code, p.Output())
	}
}
