package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// TestTasksWorkersPoolsAgainstAKernel drives amf tasks, workers and pools
// as an operator would, against a real `amf up` on random ports, with the
// same connection settings as amf run (AMF_NATS_URL and the local admin
// credential).
func TestTasksWorkersPoolsAgainstAKernel(t *testing.T) {
	llm := fakeModel(t)
	env, base, _ := upEnv(t, llm)
	env = append(env, "AMF_WORKSPACES=proj="+t.TempDir())
	up := startAmf(t, env, "up")
	waitHealthy(t, base, up)

	// A flag after the instruction is a flag, not more instruction.
	greet := startAmf(t, env, "run", "--id", "greet-1", "greet me", "--no-answer")
	if code := greet.wait(60 * time.Second); code != 0 || !strings.Contains(greet.Output(), "hello from the model") {
		t.Fatalf("amf run … --no-answer: exit %d:\n%s", code, greet.Output())
	}
	if code := startAmf(t, env, "run", "--id", "echo-1", "--cmd", "echo listed").wait(60 * time.Second); code != 0 {
		t.Fatal("amf run --cmd failed")
	}

	t.Run("show", func(t *testing.T) {
		var st bus.Status
		decodeOut(t, amfRun(t, env, 0, "tasks", "show", "greet-1", "-o", "json"), &st)
		if st.ID != "greet-1" || st.State != bus.StateDone || st.Instruction != "greet me" || st.Command != "echo hello from the model" {
			t.Fatalf("status %+v, want greet-1 done with the instruction alone (--no-answer was a flag)", st)
		}
		text := amfRun(t, env, 0, "tasks", "show", "echo-1")
		for _, want := range []string{"id:", "echo-1", "state:", "done", "command:", "echo listed", "exit code:"} {
			if !strings.Contains(text, want) {
				t.Errorf("tasks show lacks %q:\n%s", want, text)
			}
		}
		if out := amfRun(t, env, 1, "tasks", "show", "no-such-task"); !strings.Contains(out, "no task no-such-task") {
			t.Errorf("an unknown task: %s", out)
		}
	})

	t.Run("ls", func(t *testing.T) {
		var res struct{ Tasks []bus.Status }
		decodeOut(t, amfRun(t, env, 0, "tasks", "ls", "-o", "json"), &res)
		if len(res.Tasks) != 2 || res.Tasks[0].ID != "echo-1" || res.Tasks[1].ID != "greet-1" {
			t.Fatalf("tasks ls: %+v, want echo-1 then greet-1 (newest first)", res.Tasks)
		}
		decodeOut(t, amfRun(t, env, 0, "tasks", "ls", "--limit", "1", "-o", "json"), &res)
		if len(res.Tasks) != 1 || res.Tasks[0].ID != "echo-1" {
			t.Fatalf("tasks ls --limit 1: %+v", res.Tasks)
		}
		table := amfRun(t, env, 0, "tasks", "ls")
		// An instruction is quoted, so none passes for a command.
		if !strings.Contains(table, "STATE") || !strings.Contains(table, "greet-1") || !strings.Contains(table, "$ echo listed") || !strings.Contains(table, "“greet me”") {
			t.Fatalf("tasks ls table:\n%s", table)
		}
		if wide := amfRun(t, env, 0, "tasks", "ls", "-o", "wide"); !strings.Contains(wide, "SUBMITTED") || !strings.Contains(wide, "OWNER") {
			t.Fatalf("tasks ls -o wide:\n%s", wide)
		}
		if out := amfRun(t, env, 1, "tasks", "ls", "-o", "yaml"); !strings.Contains(out, `-o "yaml": say table, json or wide`) {
			t.Fatalf("a format it does not print: %s", out)
		}
		if out := amfRun(t, env, 1, "tasks", "ls", "--limit", "0"); !strings.Contains(out, "from 1 to 1000") {
			t.Fatalf("--limit 0: %s", out)
		}
	})

	t.Run("logs", func(t *testing.T) {
		out := amfRun(t, env, 0, "tasks", "logs", "echo-1")
		for _, want := range []string{"▶ task echo-1 accepted", "$ echo listed", "listed", "✓ done"} {
			if !strings.Contains(out, want) {
				t.Errorf("tasks logs lacks %q:\n%s", want, out)
			}
		}
		lines := strings.Split(strings.TrimSpace(amfRun(t, env, 0, "tasks", "logs", "echo-1", "-o", "json")), "\n")
		var last bus.Event
		decodeOut(t, lines[len(lines)-1], &last)
		if last.Type != bus.EventDone || last.TaskID != "echo-1" {
			t.Fatalf("last JSON event %+v", last)
		}
	})

	t.Run("follow and cancel", func(t *testing.T) {
		long := startAmf(t, env, "run", "--id", "long-1", "--cmd", "echo waiting; sleep 30")
		waitFor(t, long, "waiting")
		follow := startAmf(t, env, "tasks", "logs", "-f", "long-1")
		waitFor(t, follow, "waiting")
		amfRun(t, env, 0, "tasks", "cancel", "long-1", "--reason", "enough")
		if code := follow.wait(20 * time.Second); code != exitCancelled || !strings.Contains(follow.Output(), "cancelled: enough") {
			t.Fatalf("tasks logs -f: exit %d, want %d:\n%s", code, exitCancelled, follow.Output())
		}
		long.wait(20 * time.Second)
		if out := amfRun(t, env, 1, "tasks", "cancel", "long-1"); !strings.Contains(out, "already ended") {
			t.Fatalf("cancelling an ended task: %s", out)
		}
		if out := amfRun(t, env, 1, "tasks", "cancel", "no-such-task"); !strings.Contains(out, "no task no-such-task") {
			t.Fatalf("cancelling an unknown task: %s", out)
		}
	})

	t.Run("workers", func(t *testing.T) {
		var res struct{ Workers []bus.WorkerInfo }
		decodeOut(t, amfRun(t, env, 0, "workers", "-o", "json"), &res)
		if len(res.Workers) != 1 || res.Workers[0].Pool != bus.DefaultPool || res.Workers[0].Capacity != 2 {
			t.Fatalf("workers: %+v, want the one worker of amf up, capacity 2", res.Workers)
		}
		if table := amfRun(t, env, 0, "workers", "-o", "wide"); !strings.Contains(table, res.Workers[0].ID) || !strings.Contains(table, "WORKSPACES") {
			t.Fatalf("workers -o wide:\n%s", table)
		}
	})

	t.Run("pools", func(t *testing.T) {
		var res struct{ Pools []client.Pool }
		decodeOut(t, amfRun(t, env, 0, "pools", "-o", "json"), &res)
		if len(res.Pools) == 0 || res.Pools[0].Name != bus.DefaultPool || res.Pools[0].NoWorkers {
			t.Fatalf("pools: %+v, want the default pool, served", res.Pools)
		}
		if table := amfRun(t, env, 0, "pools"); !strings.Contains(table, "WAITING") || !strings.Contains(table, bus.DefaultPool) {
			t.Fatalf("pools table:\n%s", table)
		}
	})

	t.Run("completion asks the kernel", func(t *testing.T) {
		if out := amfRun(t, env, 0, "complete", "pools"); strings.TrimSpace(out) != bus.DefaultPool {
			t.Fatalf("amf complete pools: %q", out)
		}
		if out := amfRun(t, env, 0, "complete", "workspaces"); strings.TrimSpace(out) != "proj" {
			t.Fatalf("amf complete workspaces: %q", out)
		}
		// The scripts run amf from PATH, as an installed one would be.
		shellEnv := append(slices.Clone(env), "PATH="+filepath.Dir(amfBin)+":"+os.Getenv("PATH"))
		for _, shell := range []string{"bash", "zsh", "fish"} {
			if got := completionsWith(t, shell, shellEnv, "amf", "run", "--workspace", "p"); !slices.Contains(got, "proj") {
				t.Errorf("%s: amf run --workspace p completes to %q, want proj", shell, got)
			}
			if got := completionsWith(t, shell, shellEnv, "amf", "run", "--pool", "d"); !slices.Contains(got, bus.DefaultPool) {
				t.Errorf("%s: amf run --pool d completes to %q, want %s", shell, got, bus.DefaultPool)
			}
		}
	})

	up.signal(syscall.SIGTERM)
	up.wait(30 * time.Second)
	if out := amfRun(t, env, 1, "tasks", "ls"); !strings.Contains(out, "connect to the kernel") {
		t.Fatalf("tasks ls without a kernel: %s", out)
	}
}

// amfRun runs amf to its end and checks its exit code; it returns
// everything it printed.
func amfRun(t *testing.T, env []string, code int, args ...string) string {
	t.Helper()
	p := startAmf(t, env, args...)
	if got := p.wait(60 * time.Second); got != code {
		t.Fatalf("amf %s: exit %d, want %d:\n%s", strings.Join(args, " "), got, code, p.Output())
	}
	return p.Output()
}

func decodeOut(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
}
