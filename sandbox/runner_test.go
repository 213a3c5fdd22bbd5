//go:build linux

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRunRefusesBeforeRunning(t *testing.T) {
	r := newTestRunner(t, Limits{})
	defer r.Close()
	_, err := r.Run(context.Background(), Spec{Command: "sudo id"}, nil)
	var ref *Refusal
	if !errors.As(err, &ref) || ref.Rule != RuleRoot {
		t.Fatalf("got %v; want a root-escalation refusal", err)
	}
}

func TestRunTruncatesOutput(t *testing.T) {
	r := newTestRunner(t, Limits{})
	defer r.Close()
	var c collector
	delivered := 0
	res, err := r.Run(context.Background(), Spec{Command: "seq 1 100000", MaxOutput: 1000}, func(s Stream, line string) {
		if !strings.HasPrefix(line, "[amf: output truncated") {
			delivered += len(line)
		}
		c.out(s, line)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.LimitHit != "output" {
		t.Errorf("result %+v: want truncated output", res)
	}
	out := c.text()
	if !strings.Contains(out, "output truncated") {
		t.Errorf("truncation is not marked in the output")
	}
	if delivered > 1000 {
		t.Errorf("%d bytes delivered past a 1000-byte cap", delivered)
	}
}

func TestRunCancel(t *testing.T) {
	r := newTestRunner(t, Limits{})
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := r.Run(ctx, Spec{Command: "sleep 30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if res.TimedOut || res.Signal == "" {
		t.Errorf("result %+v: want killed, not timed out", res)
	}
}

func TestRunEnvironmentIsClean(t *testing.T) {
	r := newTestRunner(t, Limits{})
	defer r.Close()
	t.Setenv("AMF_WORKER_SECRET", "s3cret")
	var c collector
	_, err := r.Run(context.Background(), Spec{Command: "env", Env: []string{"GREETING=hello"}}, c.out)
	if err != nil {
		t.Fatal(err)
	}
	out := c.text()
	if strings.Contains(out, "s3cret") {
		t.Errorf("the worker's environment leaked in")
	}
	if !strings.Contains(out, "GREETING=hello") {
		t.Errorf("Spec.Env did not reach the command")
	}
}

func TestRunKeepsWorkDir(t *testing.T) {
	r := newTestRunner(t, Limits{})
	defer r.Close()
	dir := t.TempDir()
	if _, err := r.Run(context.Background(), Spec{Command: "echo kept > note.txt", WorkDir: dir}, nil); err != nil {
		t.Fatal(err)
	}
	// The next command in the same work dir (a session's) finds it.
	var c collector
	if _, err := r.Run(context.Background(), Spec{Command: "cat note.txt", WorkDir: dir}, c.out); err != nil {
		t.Fatal(err)
	}
	if c.text() != "stdout: kept" {
		t.Fatalf("work dir file: %q", c.text())
	}
}

func TestDescribeDetectsTools(t *testing.T) {
	f, err := Describe("strict")
	if err != nil {
		t.Fatal(err)
	}
	if f.Network || f.WorkDir != "/work" || !strings.Contains(f.Shell, "sh") {
		t.Errorf("facts %+v", f)
	}
	has := func(tool string) bool {
		for _, x := range f.Tools {
			if x == tool {
				return true
			}
		}
		return false
	}
	if !has("grep") || !has("find") {
		t.Errorf("grep and find not detected: %v", f.Tools)
	}
	for _, tool := range f.Tools {
		found := false
		for _, d := range sandboxPath {
			if _, err := os.Stat(d + "/" + tool); err == nil {
				found = true
			}
		}
		if !found {
			t.Errorf("tool %s reported but not present", tool)
		}
	}
	p := f.Prompt()
	if !strings.Contains(p, "sudo") || !strings.Contains(p, "no network") {
		t.Errorf("prompt text lacks the policy: %s", p)
	}
	if _, err := Describe("nope"); err == nil {
		t.Errorf("unknown profile described")
	}
}

func TestHostRunner(t *testing.T) {
	h, err := NewHost(Config{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	res, err := h.Run(context.Background(), Spec{Command: "echo $((6*7)); exit 4"}, c.out)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 4 || !strings.Contains(c.text(), "stdout: 42") {
		t.Errorf("host run: %+v %s", res, c.text())
	}
	if _, err := h.Run(context.Background(), Spec{Command: "sudo id"}, nil); err == nil {
		t.Errorf("host backend skipped validation")
	}
	res, err = h.Run(context.Background(), Spec{Command: "sleep 30", Timeout: 200 * time.Millisecond}, nil)
	if err != nil || !res.TimedOut {
		t.Errorf("host timeout: %+v %v", res, err)
	}
}

func TestRunConcurrent(t *testing.T) {
	r := newTestRunner(t, Limits{})
	const n = 6
	errs := make(chan error, n)
	for i := range n {
		go func() {
			var c collector
			want := fmt.Sprintf("task-%d", i)
			res, err := r.Run(context.Background(), Spec{Command: "echo " + want + "; ls /work | wc -l; touch mine"}, c.out)
			switch {
			case err != nil:
				errs <- err
			case res.ExitCode != 0 || !strings.Contains(c.text(), "stdout: "+want+"\n") || !strings.Contains(c.text(), "stdout: 0"):
				errs <- fmt.Errorf("task %d: %+v\n%s", i, res, c.text())
			default:
				errs <- nil
			}
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
