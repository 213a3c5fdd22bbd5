package main

import (
	"bufio"
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
		sub("search", `memory search [flags] [-o json|wide] "what you want"`, "the memories nearest an instruction"),
		// match needs no kernel: it compares two instructions here.
		{name: "match", summary: "say whether a learned instruction would be reused for another, and why", run: memoryMatchMain},
		sub("ls", "memory ls [--limit N] [-o json|wide]", "list the memories you may recall (every owner's for admins and read-all)", "list"),
		sub("confirm", "memory confirm [--yes] ID…", "show memories whole, then vouch for them so every owner's tasks may reuse them blind"),
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
	var yes bool
	f := newFlags("memory "+sub, synopsis)
	c.bindNATS(f)
	c.bindLog(f)
	f.str(&embedModel, "embed-model", "AMF_EMBED_MODEL", "", "Ollama embedding model; empty = the local embedder (must match the workers')")
	f.str(&ollamaHost, "ollama", "OLLAMA_HOST", defaultOllama, "Ollama address")
	switch sub {
	case "search":
		f.int(&k, "k", "", 5, "how many memories to show")
		outputFlag(f, &output, "json", "wide")
		f.str(&pool, "pool", "", "", "only memories learned in this pool")
		f.str(&distro, "distro", "", "", "only memories learned on this distribution (os-release ID, e.g. debian)")
	case "ls":
		outputFlag(f, &output, "json", "wide")
		f.int(&k, "limit", "", bus.DefaultMemoryList, fmt.Sprintf("show the newest N memories (at most %d)", bus.MaxMemoryList))
	case "confirm":
		f.bool(&yes, "yes", "", false, "confirm what is shown without asking (for scripts; otherwise it asks on the terminal)")
	case "export":
		f.str(&out, "o", "", "", "write to this file instead of standard output")
	}
	if err := f.parse(args); err != nil {
		return err
	}
	if err := checkOutput(output, "json", "wide"); err != nil {
		return err
	}
	form := tableForm
	switch output {
	case "json":
		form = jsonForm
	case "wide":
		form = wideForm
	}
	asJSON := form == jsonForm
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
		return memoryConfirm(ctx, &client.Client{NC: nc, Names: names}, f.Args(), yes)
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
			defer reportMismatched(os.Stderr, rep.Mismatched)
			if !asJSON && len(rep.Matches) > 0 {
				defer fmt.Fprintf(os.Stderr, "blind reuse needs similarity ≥ %.3f (calibrated for %s), the same things named exactly as written, successes on two worker credentials or a confirmation, and the model's second look (amf memory match --learned … --query … says why not)\n", rep.ReuseScore, rep.Embedder)
			}
			return printMatches(os.Stdout, rep.Matches, form, true)
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
			defer reportMismatched(os.Stderr, rep.Mismatched)
			if len(rep.Memories) < rep.Total {
				defer fmt.Fprintf(os.Stderr, "the newest %d of %d memories (--limit)\n", len(rep.Memories), rep.Total)
			}
			return printMatches(os.Stdout, rep.Memories, form, false)
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
		return printMatches(os.Stdout, ms, form, true)
	case "ls":
		return printMatches(os.Stdout, kn.All(), form, false)
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

// memoryConfirm confirms each memory for blind reuse by every owner's
// tasks. It shows every memory first, as a worker's index answers it
// checked against its id (client.Client.MemoryToConfirm), with its whole
// command: a confirmation names only the id, a digest of owner,
// instruction and command, so what is shown is exactly what every worker
// may then replay unasked. Then it asks on the terminal, or, with yes,
// goes on without asking; nothing is confirmed before. This credential's
// permissions decide whether this user may confirm.
func memoryConfirm(ctx context.Context, c *client.Client, ids []string, yes bool) error {
	if len(ids) == 0 {
		return fmt.Errorf("confirm needs at least one memory ID (see amf memory ls or search)")
	}
	// Refused before anything is looked up, so that a script without
	// --yes fails at once, not after the fleet answered.
	ask := !yes
	if ask && (!isTerminal(os.Stdin) || !isTerminal(os.Stderr)) {
		return fmt.Errorf("amf memory confirm shows each memory whole and asks on a terminal before it confirms anything, " +
			"and standard input or error is not one: nothing was confirmed (read amf memory ls -o wide, then pass --yes to confirm what it shows without asking)")
	}
	ms := make([]bus.Match, 0, len(ids))
	for _, id := range ids {
		m, mismatched, err := c.MemoryToConfirm(ctx, id)
		reportMismatched(os.Stderr, mismatched)
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	for _, m := range ms {
		previewMemory(os.Stderr, m)
	}
	if ask {
		ok, err := askYes(ctx, os.Stdin, os.Stderr, "confirm for every owner? [y/N] ")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("nothing was confirmed")
		}
	}
	host, _ := os.Hostname()
	user := os.Getenv("USER")
	for _, m := range ms {
		m, err := c.ConfirmShown(ctx, m, "amf memory confirm@"+host+" "+user)
		if err != nil {
			return err
		}
		// The whole command, not clipped: this is what everyone's
		// workers may now run unasked.
		fmt.Printf("confirmed %s: %s; every worker may now reuse it for every owner without asking the model\n", m.ID, shown(m.Command))
	}
	return nil
}

// previewMemory shows one memory about to be confirmed: its whole
// command, instruction and owner with every control or invisible
// character as an escape (shown), and the counts a worker reports.
func previewMemory(w io.Writer, m bus.Match) {
	owner := "- (the installation's: an operator's task taught it)"
	if m.Owner != "" {
		owner = shown(string(m.Owner))
	}
	cmd := shown(m.Command)
	fmt.Fprintf(w, "memory %s\n", m.ID)
	fmt.Fprintf(w, "  command:     %s\n", cmd)
	if cmd != m.Command {
		fmt.Fprintf(w, "               (\\xNN, \\uNNNN: control or invisible characters of the command)\n")
	}
	fmt.Fprintf(w, "  instruction: %s\n", shown(m.Instruction))
	fmt.Fprintf(w, "  owner:       %s\n", owner)
	fmt.Fprintf(w, "  ok/fail:     %d/%d (as a worker reports them)\n", m.Successes, m.Failures)
	if m.ConfirmedBy != "" {
		fmt.Fprintf(w, "  confirmed:   already, by %s\n", shown(m.ConfirmedBy))
	}
}

// askYes asks question on w and reads the answer from in: yes for "y" or
// "yes". The end of ctx (an interrupt) is no.
func askYes(ctx context.Context, in io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprint(w, question)
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	case <-ctx.Done():
		fmt.Fprintln(w)
		return false, fmt.Errorf("nothing was confirmed: %w", ctx.Err())
	}
}

// reportMismatched says which answers held memories whose content is
// not their id's: left out, never shown (memory.SearchOn).
func reportMismatched(w io.Writer, mismatched []bus.MismatchedAnswer) {
	for _, a := range mismatched {
		worker := "a worker"
		if a.Worker != "" {
			worker = "worker " + shown(a.Worker)
		}
		what := "1 memory whose content does not match its id"
		if a.Memories != 1 {
			what = fmt.Sprintf("%d memories whose content does not match their ids", a.Memories)
		}
		fmt.Fprintf(w, "%s answered %s, not shown: a worker credential answered falsely\n", worker, what)
	}
}

// How printMatches writes memories.
const (
	tableForm = iota // a table, long cells clipped
	wideForm         // a table, every cell whole
	jsonForm         // one JSON document
)

// printMatches writes memories as a table, or as one JSON document:
// {"matches": […]} for a search (with scores), {"memories": […]} for ls.
// The table clips instructions and commands to 60 runes, marked with …;
// wide shows them whole, control and invisible characters as escapes.
func printMatches(w io.Writer, ms []memory.Match, form int, scores bool) error {
	if form == jsonForm {
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
	clipped := false
	cell := func(s string) string {
		if form == wideForm {
			return shown(s)
		}
		c, cut := cut(shown(strings.Join(strings.Fields(s), " ")), 60)
		clipped = clipped || cut
		return c
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
			fmt.Fprintf(tw, "%.3f\t%s\t%s\t%d/%d\t%s\t%s\n", m.Score, reuse, m.ID, m.Successes, m.Failures, cell(m.Instruction), cell(m.Command))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", m.ID, shown(ownerColumn(m)), m.Successes, m.Failures, m.Learned.Format(time.DateTime), cell(m.Instruction), cell(m.Command))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if clipped {
		fmt.Fprintln(os.Stderr, "… ends a cell cut at 60 characters: -o wide shows every command whole, and amf memory confirm shows it before it asks")
	}
	return nil
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
// shown (screen.go), ending with … where it was cut.
func clip(s string, n int) string {
	c, _ := cut(shown(strings.Join(strings.Fields(s), " ")), n)
	return c
}

// cut ends s with … after n-1 runes if it is longer than n, and says
// whether it did.
func cut(s string, n int) (string, bool) {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…", true
	}
	return s, false
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
