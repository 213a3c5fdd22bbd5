package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

func init() {
	sub := func(name, synopsis, summary string, aliases ...string) command {
		return command{name: name, aliases: aliases, summary: summary, run: func(ctx context.Context, args []string) error {
			return runSchedule(ctx, name, synopsis, args)
		}}
	}
	register(command{name: "schedule", summary: "make, list, pause, resume and delete recurring tasks", help: scheduleHelp, subs: []command{
		sub("add", `schedule add [flags] SCHEDULE ["what you want"]`, `make a recurring task: amf schedule add "every 5m" "what you want"`),
		sub("ls", "schedule ls [-o json|wide]", "list the schedules", "list"),
		sub("show", "schedule show ID [-o json|wide]", "show one schedule"),
		sub("pause", "schedule pause ID", "stop a schedule's runs until resumed"),
		sub("resume", "schedule resume ID", "start a paused schedule's runs again"),
		sub("rm", "schedule rm ID", "delete a schedule (its past runs stay)", "delete"),
	}})
}

const scheduleHelp = `  amf schedule add [flags] "every 5m" "what you want"
  amf schedule add [flags] --cmd "df -h /" "*/15 * * * *"

A schedule is "every <duration>" (at least 1s), a 5-field cron expression
(minute hour day-of-month month day-of-week; UTC, or another zone with a
"TZ=Europe/Paris " prefix) or @hourly, @daily, @weekly, @monthly, @yearly.
Each run is a task of its own, with the id <schedule id>-<run time>.`

func runSchedule(ctx context.Context, sub, synopsis string, args []string) error {
	var c common
	var t bus.Task
	var cmd, timeout string
	var output string
	f := newFlags("schedule "+sub, synopsis)
	c.bindNATS(f)
	c.bindLog(f)
	if sub != "rm" {
		outputFlag(f, &output, "json", "wide")
	}
	switch sub {
	case "add":
		f.str(&cmd, "cmd", "", "", "run this shell command at each run instead of asking the model")
		f.str(&t.Pool, "pool", "AMF_POOL", bus.DefaultPool, "pool each run goes to")
		f.str(&t.Session, "session", "AMF_SESSION", "", "session every run belongs to")
		f.str(&t.Policy, "policy", "", "", "sandbox profile of each run (strict, network, trusted)")
		f.str(&timeout, "timeout", "", "", "bound each run, e.g. 2m")
		f.str(&t.ID, "id", "", "", "schedule id (default generated); each run's id starts with it")
		f.int(&t.MaxAttempts, "max-attempts", "", 0, "correction attempts of each run, 1–10 (default 3)")
		f.bool(&t.NoAnswer, "no-answer", "", false, "skip the model's plain-language answer")
	}
	if err := f.parse(args); err != nil {
		return err
	}
	if err := checkOutput(output, "json", "wide"); err != nil {
		return err
	}
	var id string
	switch sub {
	case "add":
		if f.NArg() == 0 {
			return fmt.Errorf(`add needs a schedule, e.g. amf schedule add --cmd "df -h /" "every 5m"`)
		}
		t.Schedule, t.Command, t.Instruction = f.Arg(0), cmd, strings.Join(f.Args()[1:], " ")
		if err := setTimeout(&t, timeout); err != nil {
			return err
		}
		// Validated here, before connecting: a bad schedule says why.
		if err := t.Normalize(); err != nil {
			return err
		}
	case "ls":
		if f.NArg() != 0 {
			return fmt.Errorf("ls takes no arguments")
		}
	default:
		if f.NArg() != 1 {
			return fmt.Errorf("%s takes one schedule id", sub)
		}
		id = f.Arg(0)
	}
	c.logLevel = "warn"
	c.logger()
	nc, err := c.connect("amf-schedule")
	if err != nil {
		return err
	}
	defer nc.Close()
	s := client.Schedules{C: &client.Client{NC: nc, Names: c.names(), ViaAPI: true}}
	var sc bus.Schedule
	switch sub {
	case "add":
		sc, err = s.Create(ctx, t)
	case "show":
		sc, err = s.Get(ctx, id)
	case "pause":
		sc, err = s.Pause(ctx, id)
	case "resume":
		sc, err = s.Resume(ctx, id)
	case "rm":
		if err := s.Delete(ctx, id); err != nil {
			return err
		}
		fmt.Printf("deleted schedule %s\n", id)
		return nil
	case "ls":
		list, err := s.List(ctx)
		if err != nil {
			return err
		}
		if output == "json" {
			return writeJSON(os.Stdout, map[string]any{"schedules": list})
		}
		return printSchedules(os.Stdout, list, output == "wide")
	}
	if err != nil {
		return err
	}
	if output == "json" {
		return writeJSON(os.Stdout, sc)
	}
	return printSchedules(os.Stdout, []bus.Schedule{sc}, output == "wide")
}

// printSchedules writes schedules as a table; wide adds the pool, the
// policy, why the kernel paused one and the last run it refused.
func printSchedules(w io.Writer, list []bus.Schedule, wide bool) error {
	header := []string{"ID", "SCHEDULE", "STATE", "NEXT", "LAST RUN", "TASK"}
	if wide {
		header = append(header, "POOL", "POLICY", "PAUSED BECAUSE", "LAST REFUSED")
	}
	rows := make([][]string, 0, len(list))
	for _, sc := range list {
		state, next := "active", "-"
		if sc.Paused {
			state = "paused"
		}
		if sc.Paused && sc.PausedWhy != "" {
			state = "paused by the kernel" // -o wide says why
		}
		if !sc.Next.IsZero() {
			next = sc.Next.UTC().Format(time.RFC3339)
		}
		what := sc.Task.Instruction
		if sc.Task.Command != "" {
			what = "$ " + sc.Task.Command
		}
		row := []string{sc.ID, sc.Spec, state, next, orDash(sc.LastRun), clip(what, 60)}
		if wide {
			refused := "-"
			if sc.LastError != "" {
				refused = sc.LastErrorAt.UTC().Format(time.RFC3339) + " " + clip(sc.LastError, 120)
			}
			row = append(row, orDash(sc.Task.Pool), orDash(sc.Task.Policy), orDash(clip(sc.PausedWhy, 80)), refused)
		}
		rows = append(rows, row)
	}
	return table(w, header, rows)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
