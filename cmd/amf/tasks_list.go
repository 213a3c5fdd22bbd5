package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

func runTasksList(ctx context.Context, args []string) error {
	var c common
	var output string
	var limit int
	f := newFlags("tasks ls", "tasks ls [--limit N] [-o json|wide]")
	clientFlags(f, &c)
	f.int(&limit, "limit", "", 20, "how many tasks, 1–1000: the most recently active")
	outputFlag(f, &output, "json", "wide")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 0 {
		return fmt.Errorf("takes no arguments (got %q); amf tasks show ID shows one: %w", f.Args(), errUsage)
	}
	if limit < 1 || limit > 1000 {
		return fmt.Errorf("--limit %d: want a whole number from 1 to 1000", limit)
	}
	if err := checkOutput(output, "json", "wide"); err != nil {
		return err
	}
	cl, done, err := taskClient(&c, "amf-tasks")
	if err != nil {
		return err
	}
	defer done()
	// The task API lists what the credential may see (its owner's
	// tasks, or every owner's for operators).
	list, err := cl.List(ctx, nil, limit)
	if err != nil {
		// A kernel without its hot cache cannot list: an operator's
		// credential reads the events stream, the record of truth.
		ids, scanErr := recentTaskIDs(ctx, cl, limit)
		if scanErr != nil {
			return fmt.Errorf("%w (reading the events stream instead: %v)", err, scanErr)
		}
		if list, err = statuses(ctx, cl, ids); err != nil {
			return err
		}
	}
	if output == "json" {
		return writeJSON(os.Stdout, map[string]any{"tasks": list})
	}
	return printTasks(list, output == "wide")
}

// recentTaskIDs reads the events stream backwards, in windows that
// double, until it has seen limit tasks or the stream's start: the
// stream is the record of truth, and any credential that may read a
// task's events may list them. Newest activity first.
func recentTaskIDs(ctx context.Context, cl *client.Client, limit int) ([]string, error) {
	js, err := jetstream.New(cl.NC)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	stream, err := js.Stream(ctx, cl.Names.EventsStream())
	if err != nil {
		return nil, fmt.Errorf("events stream %s: %w", cl.Names.EventsStream(), err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("events stream %s: %w", cl.Names.EventsStream(), err)
	}
	first, hi := info.State.FirstSeq, info.State.LastSeq
	if info.State.Msgs == 0 {
		return nil, nil
	}
	newest := map[string]uint64{} // task id → sequence of its newest event
	window := uint64(limit) * 32  // a task is a few dozen events, or more when it streams tokens
	for {
		lo := first
		if hi >= first+window {
			lo = hi - window + 1
		}
		if err := readEventSubjects(ctx, stream, cl.Names, lo, hi, newest); err != nil {
			return nil, err
		}
		if len(newest) >= limit || lo == first {
			break
		}
		hi, window = lo-1, window*2
	}
	ids := make([]string, 0, len(newest))
	for id := range newest {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(newest[b], newest[a]) })
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids, nil
}

// readEventSubjects notes the task of every event from lo to hi. It
// reads headers only: a task's id is its subject.
func readEventSubjects(ctx context.Context, stream jetstream.Stream, names bus.Names, lo, hi uint64, newest map[string]uint64) error {
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{names.Events()},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    lo,
		HeadersOnly:    true,
	})
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			seq := md.Sequence.Stream
			if seq > hi {
				return nil
			}
			src, ok := names.SourceOf(m.Subject())
			if !ok {
				continue
			}
			id := src.Task
			newest[id] = max(newest[id], seq)
			if seq == hi {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("read events: %w", err)
		}
		if n == 0 {
			return nil // the rest was removed (age or size limits)
		}
	}
}

// statuses folds each task's status from its events, a few at a time.
func statuses(ctx context.Context, cl *client.Client, ids []string) ([]bus.Status, error) {
	list := make([]bus.Status, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			list[i], errs[i] = cl.Status(ctx, id)
		}()
	}
	wg.Wait()
	// A task removed between listing and reading is left out.
	out := list[:0]
	for i, st := range list {
		switch {
		case errors.Is(errs[i], client.ErrNotFound):
		case errs[i] != nil:
			return nil, fmt.Errorf("status of %s: %w", ids[i], errs[i])
		default:
			out = append(out, st)
		}
	}
	return out, nil
}

func printTasks(list []bus.Status, wide bool) error {
	header := []string{"ID", "STATE", "POOL", "WORKER", "AGE", "TASK"}
	if wide {
		header = []string{"ID", "STATE", "OWNER", "POOL", "WORKER", "SESSION", "ATTEMPT", "EXIT", "SUBMITTED", "UPDATED", "TASK", "ERROR"}
	}
	now := time.Now()
	rows := make([][]string, 0, len(list))
	for _, st := range list {
		// An instruction is quoted, so one written "$ df -h" cannot
		// pass for an explicit command.
		what := "“" + st.Instruction + "”"
		if st.Command != "" && st.Instruction == "" {
			what = "$ " + st.Command
		}
		if !wide {
			rows = append(rows, []string{st.ID, string(st.State), orDash(st.Pool), orDash(st.Worker), age(now, st.Submitted), clip(what, 50)})
			continue
		}
		rows = append(rows, []string{st.ID, string(st.State), orDash(string(st.Owner)), orDash(st.Pool), orDash(st.Worker), orDash(st.Session),
			orDash(countOrEmpty(st.Attempt)), orDash(exitOrEmpty(st.ExitCode)), orDash(timeOrEmpty(st.Submitted)),
			orDash(timeOrEmpty(st.Updated)), clip(what, 80), orDash(clip(st.Error, 80))})
	}
	return table(os.Stdout, header, rows)
}

// age is how long ago t was, as kubectl shows it: 45s, 12m, 3h, 2d.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
