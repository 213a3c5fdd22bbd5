package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/atomicfile"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

func init() {
	sub := func(name, synopsis, summary string, aliases ...string) command {
		return command{name: name, aliases: aliases, summary: summary, run: func(ctx context.Context, args []string) error {
			return runMemory(ctx, name, synopsis, args)
		}}
	}
	register(command{name: "memory", summary: "search, match, list, confirm, forget, export and import what the fleet learned", subs: []command{
		sub("search", `memory search [flags] [-o json] "what you want"`, "the memories nearest an instruction"),
		// match needs no kernel: it compares two instructions here.
		{name: "match", summary: "say whether a learned instruction would be reused for another, and why", run: memoryMatchMain},
		sub("ls", "memory ls [--limit N] [-o json]", "list the memories you may recall (every owner's for admins and read-all)", "list"),
		sub("confirm", "memory confirm ID…", "vouch for memories so they may be reused blind"),
		sub("forget", "memory forget ID…", "forget memories", "rm"),
		sub("export", "memory export [-o FILE]", "write every memory as JSON lines"),
		sub("import", "memory import FILE.jsonl", "learn memories from JSON lines (- for standard input)"),
	}})
}

func runMemory(ctx context.Context, sub, synopsis string, args []string) error {
	var c common
	var embedModel, ollamaHost string
	var k int
	var output, out, pool, distro string
	f := newFlags("memory "+sub, synopsis)
	c.bindNATS(f)
	c.bindLog(f)
	f.str(&embedModel, "embed-model", "AMF_EMBED_MODEL", "", "Ollama embedding model; empty = the local embedder (must match the workers')")
	f.str(&ollamaHost, "ollama", "OLLAMA_HOST", defaultOllama, "Ollama address")
	switch sub {
	case "search":
		f.int(&k, "k", "", 5, "how many memories to show")
		outputFlag(f, &output, "json")
		f.str(&pool, "pool", "", "", "only memories learned in this pool")
		f.str(&distro, "distro", "", "", "only memories learned on this distribution (os-release ID, e.g. debian)")
	case "ls":
		outputFlag(f, &output, "json")
		f.int(&k, "limit", "", bus.DefaultMemoryList, fmt.Sprintf("show the newest N memories (at most %d)", bus.MaxMemoryList))
	case "export":
		f.str(&out, "o", "", "", "write to this file instead of standard output")
	}
	if err := f.parse(args); err != nil {
		return err
	}
	if err := checkOutput(output, "json"); err != nil {
		return err
	}
	asJSON := output == "json"
	if c.logLevel == "info" {
		c.logLevel = "warn"
	}
	log := c.logger()
	nc, err := c.connect("amf-memory")
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	names := c.names()
	if sub == "import" {
		if f.NArg() != 1 {
			return fmt.Errorf("import takes one FILE.jsonl (use - for standard input)")
		}
		return memoryImport(ctx, memory.Publisher{JS: js, Names: names}, f.Arg(0))
	}
	if sub == "confirm" {
		return memoryConfirm(ctx, &client.Client{NC: nc, Names: names}, f.Args())
	}
	req := memory.SearchRequest{Query: strings.Join(f.Args(), " "), K: k, Pool: pool, Distro: distro, Host: memory.DetectHostFacts()}
	if sub == "search" {
		if strings.TrimSpace(req.Query) == "" {
			return fmt.Errorf(`search needs an instruction, e.g. amf memory search "free disk space"`)
		}
		// A worker's index answers; only without a worker does the
		// command build an index of its own from the stream.
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cl := &client.Client{NC: nc, Names: names}
		rep, err := memory.SearchOn(sctx, nc, names, cl.MemorySearchSubject(ctx), req)
		cancel()
		if err == nil {
			if !asJSON && len(rep.Matches) > 0 {
				defer fmt.Fprintf(os.Stderr, "blind reuse needs similarity ≥ %.3f (calibrated for %s), the same things named exactly as written, successes on two worker credentials or a confirmation, and the model's second look (amf memory match --learned … --query … says why not)\n", rep.ReuseScore, rep.Embedder)
			}
			return printMatches(os.Stdout, rep.Matches, asJSON, true)
		}
		if !errors.Is(err, memory.ErrNoSearchService) {
			return err
		}
		log.Warn("no worker serves memory search; building an index from the stream here", "err", err)
	}
	if sub == "ls" {
		// A worker's index answers, with what this credential sees.
		cl := &client.Client{NC: nc, Names: names}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		rep, err := memory.ListOn(sctx, nc, names, cl.MemoryListSubject(ctx), k)
		cancel()
		if err == nil {
			if len(rep.Memories) < rep.Total {
				defer fmt.Fprintf(os.Stderr, "the newest %d of %d memories (--limit)\n", len(rep.Memories), rep.Total)
			}
			return printMatches(os.Stdout, rep.Memories, asJSON, false)
		}
		if !errors.Is(err, memory.ErrNoSearchService) {
			return err
		}
		log.Warn("no worker serves memory listings; building an index from the stream here", "err", err)
	}
	if sub == "search" || sub == "ls" {
		// Only admins read the memory stream: anyone else would wait
		// on a refused request for ever.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := js.Stream(sctx, names.MemoryStream())
		cancel()
		if err != nil {
			return fmt.Errorf("no worker serves memory (start one with amf up or amf worker), and this credential cannot read %s itself to build an index: %w", names.MemoryStream(), err)
		}
	}

	var emb knowledge.Embedder
	if embedModel != "" {
		client, _, err := ollamaClient(ollamaHost)
		if err != nil {
			return err
		}
		emb = knowledge.ChooseEmbedder(ctx, client, embedModel, log)
	}
	kn, err := knowledge.Open(ctx, js, knowledge.Config{Names: names, Embedder: emb, Logger: log})
	if err != nil {
		return err
	}
	defer kn.Close()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := kn.Sync(sctx); err != nil {
		return err
	}

	switch sub {
	case "search":
		// Only a credential that reads the memory stream gets here:
		// an admin's, which sees every owner's.
		ms, err := kn.Search(ctx, bus.Admin, req)
		if err != nil {
			return err
		}
		return printMatches(os.Stdout, ms, asJSON, true)
	case "ls":
		return printMatches(os.Stdout, kn.All(), asJSON, false)
	case "forget":
		if f.NArg() == 0 {
			return fmt.Errorf("forget needs at least one memory ID (see amf memory ls)")
		}
		host, _ := os.Hostname()
		for _, id := range f.Args() {
			if _, err := kn.Get(id); err != nil {
				return fmt.Errorf("no memory has id %q (see amf memory ls)", id)
			}
			if err := kn.Forget(ctx, id, "amf memory forget@"+host); err != nil {
				return err
			}
			fmt.Printf("forgot %s\n", id)
		}
		return nil
	case "export":
		var n int
		export := func(w io.Writer) (err error) {
			n, err = kn.Export(w)
			return err
		}
		var err error
		if out == "" {
			err = export(os.Stdout)
		} else {
			// A failed export leaves an earlier one at out whole.
			err = atomicfile.Write(out, 0o644, export)
		}
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(os.Stderr, "exported %d memories\n", n)
		return nil
	}
	return nil
}

// memoryConfirm confirms each memory for blind reuse: a worker says it
// exists, then this credential publishes the confirmation; its
// permissions decide whether this user may.
func memoryConfirm(ctx context.Context, c *client.Client, ids []string) error {
	if len(ids) == 0 {
		return fmt.Errorf("confirm needs at least one memory ID (see amf memory ls or search)")
	}
	host, _ := os.Hostname()
	user := os.Getenv("USER")
	for _, id := range ids {
		m, err := c.ConfirmMemory(ctx, id, "amf memory confirm@"+host+" "+user)
		if err != nil {
			return err
		}
		// The whole command, not clipped: this is what everyone's
		// workers may now run unasked.
		fmt.Printf("confirmed %s: %q → %s (%d/%d ok/fail); every worker may now reuse it without asking the model\n",
			m.ID, clip(m.Instruction, 60), shown(m.Command), m.Successes, m.Failures)
	}
	return nil
}

// printMatches writes memories as a table, or as one JSON document:
// {"matches": […]} for a search (with scores), {"memories": […]} for ls.
func printMatches(w io.Writer, ms []memory.Match, asJSON, scores bool) error {
	if asJSON {
		if ms == nil {
			ms = []memory.Match{}
		}
		if scores {
			return writeJSON(w, map[string]any{"matches": ms})
		}
		return writeJSON(w, map[string]any{"memories": ms})
	}
	if len(ms) == 0 {
		fmt.Fprintln(os.Stderr, "no memories")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if scores {
		fmt.Fprintln(tw, "SCORE\tREUSE\tID\tOK/FAIL\tINSTRUCTION\tCOMMAND")
	} else {
		fmt.Fprintln(tw, "ID\tOWNER\tOK/FAIL\tLEARNED\tINSTRUCTION\tCOMMAND")
	}
	for _, m := range ms {
		if scores {
			reuse := "no"
			if m.Reuse {
				reuse = "yes"
			}
			fmt.Fprintf(tw, "%.3f\t%s\t%s\t%d/%d\t%s\t%s\n", m.Score, reuse, m.ID, m.Successes, m.Failures, clip(m.Instruction, 60), clip(m.Command, 60))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", m.ID, ownerColumn(m), m.Successes, m.Failures, m.Learned.Format(time.DateTime), clip(m.Instruction, 60), clip(m.Command, 60))
		}
	}
	return tw.Flush()
}

// ownerColumn says whose a memory is: "-" for the installation's, and
// "(shared)" after an owner's that an admin confirmed for everyone.
func ownerColumn(m memory.Match) string {
	switch {
	case m.Owner == "":
		return "-"
	case m.ConfirmedBy != "":
		return string(m.Owner) + " (shared)"
	}
	return string(m.Owner)
}

// clip puts s on one line of at most n runes, its control characters
// shown (screen.go).
func clip(s string, n int) string {
	s = shown(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// memoryImport publishes a JSONL file with a progress bar on standard
// error; bad lines are listed and make the exit status 1.
func memoryImport(ctx context.Context, pub memory.Publisher, path string) error {
	var r io.Reader = os.Stdin
	total := 0
	if path != "-" {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		total = strings.Count(string(data), "\n")
		if len(data) > 0 && data[len(data)-1] != '\n' {
			total++
		}
		r = strings.NewReader(string(data))
	}
	bar := newProgress(os.Stderr, total)
	res, err := pub.Import(ctx, r, bar.set)
	bar.done()
	fmt.Fprintf(os.Stderr, "imported %d memories", res.Learned)
	if len(res.Skipped) > 0 {
		fmt.Fprintf(os.Stderr, ", skipped %d lines:\n", len(res.Skipped))
		for _, e := range res.Skipped {
			fmt.Fprintf(os.Stderr, "  %v\n", e)
		}
	} else {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	if len(res.Skipped) > 0 {
		return exitError{1}
	}
	return nil
}

// progress draws a one-line bar on a terminal and nothing elsewhere, so
// logs of scripted imports stay clean.
type progress struct {
	w     io.Writer
	total int
	tty   bool
	last  time.Time
}

func newProgress(f *os.File, total int) *progress {
	st, err := f.Stat()
	return &progress{w: f, total: total, tty: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (p *progress) set(n int) {
	if !p.tty || (time.Since(p.last) < 50*time.Millisecond && n != p.total) {
		return
	}
	p.last = time.Now()
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%d lines", n)
		return
	}
	const width = 30
	filled := min(width, n*width/p.total)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d %3d%%", strings.Repeat("=", filled), strings.Repeat(" ", width-filled), n, p.total, n*100/p.total)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	return b
}
