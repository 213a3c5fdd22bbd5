package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

func init() {
	register(command{name: "run", summary: "submit a task and stream it live; exit code follows the task", run: runRun})
}

// Exit codes of `amf run`.
const (
	exitFailed    = 1
	exitCancelled = 130
)

func runRun(ctx context.Context, args []string) error {
	var c common
	var t bus.Task
	var cmd, timeout string
	var asJSON bool
	f := newFlags("run", `run [flags] "what you want"   or   amf run --cmd "shell command"`)
	c.bindNATS(f)
	c.bindLog(f)
	f.str(&cmd, "cmd", "", "", "run this shell command instead of asking the model; words after -- are more of its argv, each kept as one word (--cmd sh -- -c 'echo hi | tr a-z A-Z')")
	f.str(&t.Pool, "pool", "AMF_POOL", bus.DefaultPool, "pool to send the task to")
	f.str(&t.Session, "session", "AMF_SESSION", "", "session that groups a conversation")
	f.str(&t.Policy, "policy", "", "", "sandbox profile (strict, network, trusted, observe, workspace)")
	f.str(&t.Workspace, "workspace", "", "", "a workspace the workers declare (--workspace NAME=PATH on amf up or amf worker): the commands run in it")
	f.meta("workspace", "NAME")
	f.str(&timeout, "timeout", "", "", "bound the whole task, e.g. 2m")
	f.str(&t.ID, "id", "", "", "task id (default generated); the same id twice is one task")
	f.int(&t.MaxAttempts, "max-attempts", "", 0, "correction attempts, 1–10 (default 3)")
	f.bool(&t.NoAnswer, "no-answer", "", false, "skip the model's plain-language answer")
	f.bool(&asJSON, "json", "", false, "print each event as a JSON line")
	if err := f.parse(args); err != nil {
		return err
	}
	if cmd != "" && f.NArg() > 0 {
		// --cmd sh -- -c 'echo hi | tr a-z A-Z': the words after -- are
		// more of the command's argv.
		full, err := shellCommand(append([]string{cmd}, f.Args()...))
		if err != nil {
			return fmt.Errorf("--cmd: %w", err)
		}
		t.Command = full
	} else {
		t.Command = cmd
		t.Instruction = strings.Join(f.Args(), " ")
	}
	if err := setTimeout(&t, timeout); err != nil {
		return err
	}
	// Validated once, here, before connecting; Submit takes it as it is.
	if err := t.Normalize(); err != nil {
		return err
	}
	c.logLevel = "warn"
	c.logger()
	nc, err := c.connect("amf-run")
	if err != nil {
		return err
	}
	defer nc.Close()
	cl := &client.Client{NC: nc, Names: c.names(), ViaAPI: true}
	// One request submits the task and opens its events.
	sm, err := cl.SubmitOpen(ctx, client.Reader{}, t)
	if err != nil {
		return err
	}
	t, warning := sm.Task, sm.Warning
	p := &printer{out: onScreen(os.Stdout), err: onScreen(os.Stderr), json: asJSON, warned: warning}
	if warning != "" {
		fmt.Fprintf(os.Stderr, "amf run: warning: %s\n", warning)
	}
	// Ctrl-C cancels the task, then keeps streaming until the worker
	// confirms, so the user sees how it ended.
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatch()
	go func() {
		select {
		case <-ctx.Done():
			fmt.Fprintln(os.Stderr, "\ncancelling…")
			_ = cl.Cancel(watchCtx, t.ID, "interrupted from amf run")
			time.AfterFunc(5*time.Second, stopWatch)
		case <-watchCtx.Done():
		}
	}()
	var last bus.Event
	show := func(e bus.Event) error {
		last = e
		p.print(e)
		return nil
	}
	if sm.Stream != nil {
		err = sm.Stream.EachEvent(watchCtx, show)
	} else {
		// Not opened with the submission (StreamErr): opened again here,
		// which waits or says why it cannot be.
		err = cl.Watch(watchCtx, t.ID, 0, true, show)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	switch last.Type {
	case bus.EventDone:
		return nil
	case bus.EventCancelled:
		return exitError{exitCancelled}
	}
	return exitError{exitFailed}
}

// printer renders events for a person: tokens inline, then the command,
// its output and the result.
type printer struct {
	out, err io.Writer
	json     bool
	inTokens bool
	inAnswer bool
	// warned is the submission's warning, printed already: the progress
	// event repeating it is not printed again.
	warned string
}

func (p *printer) print(e bus.Event) {
	if p.json {
		b, _ := json.Marshal(e)
		fmt.Fprintln(p.out, string(b))
		return
	}
	// A streamed line ends where it was written: the answer's on stdout,
	// the tokens' on stderr.
	if p.inAnswer && e.Type != bus.EventAnswer {
		fmt.Fprintln(p.out)
		p.inAnswer = false
	}
	if p.inTokens && e.Type != bus.EventToken {
		fmt.Fprintln(p.err)
		p.inTokens = false
	}
	switch e.Type {
	case bus.EventAccepted:
		fmt.Fprintf(p.err, "▶ task %s accepted\n", e.TaskID)
	case bus.EventAssigned:
		fmt.Fprintf(p.err, "▶ on worker %s (host %s, delivery %d)\n", e.Worker, e.Host, e.Delivery)
	case bus.EventMemoryHit:
		fmt.Fprintf(p.err, "▶ remembered (score %.2f): %s\n", e.Score, shown(e.Command))
	case bus.EventToken:
		p.inTokens = true
		fmt.Fprint(p.err, e.Text)
	case bus.EventAnswer:
		p.inAnswer = true
		fmt.Fprint(p.out, e.Text)
	case bus.EventCommand:
		fmt.Fprintf(p.err, "$ %s\n", shown(e.Command))
	case bus.EventRejected:
		fmt.Fprintf(p.err, "✗ refused by rule %s: %s\n", e.Rule, e.Reason)
	case bus.EventStdout:
		fmt.Fprintln(p.out, e.Text)
	case bus.EventStderr:
		fmt.Fprintln(p.err, e.Text)
	case bus.EventExecEnd:
		if e.Exec != nil {
			fmt.Fprintf(p.err, "▶ exit %d in %.0f ms\n", e.Exec.ExitCode, e.Exec.DurationMS)
		}
	case bus.EventRetry:
		if e.Rule == bus.RuleModel {
			// The model request failed; say why now, not only at the end.
			fmt.Fprintf(p.err, "↻ %s: %s\n", e.Text, e.Reason)
		} else {
			fmt.Fprintf(p.err, "↻ %s, after: %s\n", e.Text, e.Reason)
		}
	case bus.EventProgress:
		if e.Text == p.warned {
			return
		}
		fmt.Fprintf(p.err, "⋯ %s\n", e.Text)
	case bus.EventLearned:
		fmt.Fprintln(p.err, "▶ learned")
	case bus.EventDone:
		fmt.Fprintf(p.err, "✓ done (attempt %d)\n", e.Attempt)
	case bus.EventFailed:
		fmt.Fprintf(p.err, "✗ failed: %s\n", e.Reason)
	case bus.EventCancelled:
		fmt.Fprintf(p.err, "✗ cancelled: %s\n", e.Reason)
	}
}

// finish ends a line of streamed tokens or answer the events left open.
func (p *printer) finish() {
	if p.inAnswer {
		fmt.Fprintln(p.out)
	}
	if p.inTokens {
		fmt.Fprintln(p.err)
	}
	p.inAnswer, p.inTokens = false, false
}

// setTimeout sets t's timeout from a --timeout flag's value, when given.
func setTimeout(t *bus.Task, timeout string) error {
	if timeout == "" {
		return nil
	}
	d, err := time.ParseDuration(timeout)
	if err != nil {
		return fmt.Errorf("--timeout %q: want a duration such as 90s or 5m", timeout)
	}
	t.Timeout = bus.Duration(d)
	return nil
}
