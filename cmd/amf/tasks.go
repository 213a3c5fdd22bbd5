package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

func init() {
	register(command{name: "tasks", summary: "list, inspect, follow and cancel tasks", subs: []command{
		{name: "ls", aliases: []string{"list"}, summary: "the most recently active tasks, newest first", run: runTasksList},
		{name: "show", aliases: []string{"status"}, summary: "one task's status", run: runTasksShow},
		{name: "logs", summary: "a task's events as amf run prints them; -f follows until it ends", run: runTasksLogs},
		{name: "cancel", summary: "ask whoever runs a task to stop it", run: runTasksCancel},
	}})
}

// taskClient connects with the settings every client command shares
// (--nats, --creds, TLS, --prefix) and returns a client of the task API.
func taskClient(c *common, part string) (*client.Client, func(), error) {
	c.logLevel = "warn"
	c.logger()
	nc, err := c.connect(part)
	if err != nil {
		return nil, nil, err
	}
	return &client.Client{NC: nc, Names: c.names(), ViaAPI: true}, nc.Close, nil
}

// clientFlags binds the connection settings of a client command.
func clientFlags(f flags, c *common) {
	c.bindNATS(f)
	c.bindLog(f)
}

func runTasksShow(ctx context.Context, args []string) error {
	var c common
	var output string
	f := newFlags("tasks show", "tasks show ID [-o json]")
	clientFlags(f, &c)
	outputFlag(f, &output, "json")
	if err := f.parse(args); err != nil {
		return err
	}
	id, err := oneArg(f, "a task id (amf tasks ls lists them)")
	if err != nil {
		return err
	}
	if err := checkOutput(output, "json"); err != nil {
		return err
	}
	cl, done, err := taskClient(&c, "amf-tasks")
	if err != nil {
		return err
	}
	defer done()
	st, err := cl.Status(ctx, id)
	if err != nil {
		return noTask(id, err)
	}
	if output == "json" {
		return writeJSON(os.Stdout, st)
	}
	return printStatus(st)
}

// noTask says a missing task is missing, and how to find one.
func noTask(id string, err error) error {
	if errors.Is(err, client.ErrNotFound) {
		return fmt.Errorf("no task %s (amf tasks ls lists the recent ones)", id)
	}
	return err
}

func printStatus(st bus.Status) error {
	rows := [][2]string{
		{"id", st.ID}, {"state", string(st.State)}, {"pool", st.Pool}, {"session", st.Session},
		{"schedule", st.ScheduleID}, {"instruction", st.Instruction}, {"command", st.Command},
		{"worker", st.Worker}, {"attempt", countOrEmpty(st.Attempt)}, {"exit code", exitOrEmpty(st.ExitCode)},
		{"error", st.Error}, {"submitted", timeOrEmpty(st.Submitted)}, {"updated", timeOrEmpty(st.Updated)},
		{"answer", st.Answer},
	}
	for _, r := range rows {
		if r[1] != "" {
			fmt.Printf("%-12s %s\n", r[0]+":", strings.ReplaceAll(visible(r[1], "\n"), "\n", "\n             "))
		}
	}
	return nil
}

func countOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func exitOrEmpty(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

func timeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func runTasksLogs(ctx context.Context, args []string) error {
	var c common
	var output string
	var follow bool
	f := newFlags("tasks logs", "tasks logs ID [-f] [-o json]")
	clientFlags(f, &c)
	f.bool(&follow, "f", "", false, "follow: wait for new events until the task ends; the exit code then follows the task's, as amf run's does")
	outputFlag(f, &output, "json")
	if err := f.parse(args); err != nil {
		return err
	}
	id, err := oneArg(f, "a task id (amf tasks ls lists them)")
	if err != nil {
		return err
	}
	if err := checkOutput(output, "json"); err != nil {
		return err
	}
	cl, done, err := taskClient(&c, "amf-tasks")
	if err != nil {
		return err
	}
	defer done()
	// Following a task that does not exist would wait for ever. The
	// kernel answers a task this credential may not read as one that
	// does not exist.
	st, err := cl.Open(ctx, id, 0, follow)
	if err != nil {
		return noTask(id, err)
	}
	p := &printer{out: onScreen(os.Stdout), err: onScreen(os.Stderr), json: output == "json"}
	var last bus.Event
	err = st.EachEvent(ctx, func(e bus.Event) error {
		last = e
		p.print(e)
		return nil
	})
	p.finish()
	if err != nil {
		return err
	}
	if !follow {
		return nil
	}
	switch last.Type {
	case bus.EventDone:
		return nil
	case bus.EventCancelled:
		return exitError{exitCancelled}
	}
	return exitError{exitFailed}
}

func runTasksCancel(ctx context.Context, args []string) error {
	var c common
	var reason string
	f := newFlags("tasks cancel", "tasks cancel ID [--reason TEXT]")
	clientFlags(f, &c)
	f.str(&reason, "reason", "", "cancelled from amf tasks cancel", "why, recorded in the task's cancelled event")
	f.meta("reason", "TEXT")
	if err := f.parse(args); err != nil {
		return err
	}
	id, err := oneArg(f, "a task id (amf tasks ls lists them)")
	if err != nil {
		return err
	}
	cl, done, err := taskClient(&c, "amf-tasks")
	if err != nil {
		return err
	}
	defer done()
	if err := cl.Cancel(ctx, id, reason); err != nil {
		if errors.Is(err, client.ErrFinished) {
			return fmt.Errorf("task %s has already ended: %w", id, err)
		}
		return noTask(id, err)
	}
	fmt.Fprintf(os.Stderr, "cancelling task %s; amf tasks logs %s -f shows how it ends\n", id, id)
	return nil
}
