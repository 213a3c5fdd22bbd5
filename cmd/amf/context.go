package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/amf-os/amf/kernel"
	"io/fs"
	"os"
	"time"

	"github.com/amf-os/amf/internal/clictx"
)

func init() {
	register(command{name: "context", summary: "which kernel the client commands follow: show, ls, use, rm", help: contextHelp,
		run: contextShow, // bare `amf context` shows it
		subs: []command{
			{name: "show", summary: "the kernel the client commands reach, from which file, and whether it answers", run: contextShow},
			{name: "use", summary: "follow a state dir's kernel, a context file, or --nats/--creds/--tls-ca from now on", run: contextUse},
			{name: "ls", aliases: []string{"list"}, summary: "every context a client command could follow, in the order they are looked for; * is the one it does", run: contextList},
			{name: "rm", aliases: []string{"clear"}, summary: "forget the context chosen with use", run: contextRm},
		}})
}

const contextHelp = `amf up and amf kernel write <state dir>/context.json (URL, credential,
CA, HTTP address); amf run, amf tasks, amf workers, amf pools, amf schedule,
amf memory and amf auth follow it when neither --nats nor AMF_NATS_URL names
a kernel. amf context use writes ~/.config/amf/context.json, which wins over
the default state dir's. Precedence: flag > environment > context > default.`

func contextShow(ctx context.Context, args []string) error {
	var c common
	var output string
	f := newFlags("context show", "context show [-o json]")
	c.bindNATS(f)
	outputFlag(f, &output, "json")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := noArgs(f, output, "json"); err != nil {
		return err
	}
	if err := c.resolveNATS(); err != nil {
		return err
	}
	reach := "answers"
	c.logLevel = "error"
	c.logger()
	nc, err := c.connect("amf-context")
	if err != nil {
		reach = err.Error()
	} else {
		nc.Close()
	}
	if output == "json" {
		doc := map[string]any{"url": c.natsURL, "creds": c.credsFile(), "ca": c.tls.ca, "reachable": err == nil, "status": reach}
		if c.kctx != nil {
			doc["context"] = c.kctx.Context
			doc["file"] = c.kctx.Path
		}
		return writeJSON(os.Stdout, doc)
	}
	from := "flags, environment or defaults: no context applies"
	if c.kctx != nil {
		from = fmt.Sprintf("%s (%s)", c.kctx.Path, c.kctx.Why)
	}
	rows := [][]string{{"from", from}, {"nats", c.natsURL}, {"creds", orDash(c.credsFile())}, {"ca", orDash(c.tls.ca)}}
	if k := c.kctx; k != nil {
		rows = append(rows, []string{"http", orDash(k.HTTP)}, []string{"token", orDash(k.TokenFile)},
			[]string{"state", orDash(k.StateDir)}, []string{"written", fmt.Sprintf("%s by pid %d on %s", k.Written.Local().Format(time.DateTime), k.PID, orDash(k.Host))})
	}
	rows = append(rows, []string{"kernel", reach})
	for _, r := range rows {
		fmt.Printf("%-8s %s\n", r[0], r[1])
	}
	return nil
}

func contextUse(_ context.Context, args []string) error {
	var c common
	f := newFlags("context use", "context use [STATE_DIR|FILE] [--nats URL --creds FILE --tls-ca FILE]")
	c.bindNATS(f)
	if err := f.parse(args); err != nil {
		return err
	}
	user, err := clictx.UserPath()
	if err != nil {
		return err
	}
	var k clictx.Context
	switch {
	case f.NArg() > 1:
		return fmt.Errorf("takes one state dir or context file (got %q): %w", f.Args(), errUsage)
	case f.NArg() == 1:
		src := f.Arg(0)
		if st, err := os.Stat(src); err == nil && st.IsDir() {
			src = clictx.StatePath(src)
		}
		if k, err = clictx.Read(src); err != nil {
			return fmt.Errorf("%w (start `amf up --state-dir DIR` or `amf kernel --state-dir DIR` once to write it)", err)
		}
	case c.natsURL == "":
		return fmt.Errorf("say which kernel: a state dir (amf context use /var/lib/amf), a context file, or --nats URL [--creds FILE] [--tls-ca FILE]: %w", errUsage)
	default:
		k = clictx.Context{URL: c.natsURL, Written: time.Now().UTC().Truncate(time.Second)}
	}
	// Flags given with a file or dir override its fields.
	if c.natsURL != "" {
		k.URL = c.natsURL
	}
	if c.creds != "" {
		k.Creds = c.creds
	}
	if c.tls.ca != "" {
		k.CA = c.tls.ca
	}
	k.Creds, k.CA = absPath(k.Creds), absPath(k.CA)
	// Refused now rather than at every later command.
	for what, p := range map[string]string{"credential (--creds)": k.Creds, "CA (--tls-ca)": k.CA} {
		if p != "" && !fileExists(p) {
			return fmt.Errorf("the %s %s does not exist; issue a credential with `amf auth creds` on the kernel's host", what, p)
		}
	}
	if err := clictx.Write(user, k); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: client commands now reach %s (amf context rm forgets it)\n", user, k.URL)
	return nil
}

func contextRm(_ context.Context, args []string) error {
	f := newFlags("context rm", "context rm")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 0 {
		return fmt.Errorf("takes no arguments: %w", errUsage)
	}
	user, err := clictx.UserPath()
	if err != nil {
		return err
	}
	if err := os.Remove(user); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget the context: %w", err)
	}
	fmt.Fprintf(os.Stderr, "removed %s; client commands follow %s\n", user, clictx.StatePath(kernel.DefaultStateDir()))
	return nil
}

func contextList(_ context.Context, args []string) error {
	var c common
	var output string
	f := newFlags("context ls", "context ls [-o json]")
	c.bindNATS(f)
	outputFlag(f, &output, "json")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := noArgs(f, output, "json"); err != nil {
		return err
	}
	if err := c.resolveNATS(); err != nil {
		return err
	}
	type entry struct {
		Path    string `json:"path"`
		Role    string `json:"role"`
		URL     string `json:"url,omitempty"`
		Problem string `json:"problem,omitempty"`
		Used    bool   `json:"used"`
	}
	l := c.contextLookup()
	var list []entry
	add := func(path, role string) {
		if path == "" {
			return
		}
		e := entry{Path: path, Role: role, Used: c.kctx != nil && c.kctx.Path == path}
		k, err := clictx.Read(path)
		switch {
		case errors.Is(err, clictx.ErrNoContext):
			return
		case err != nil:
			e.Problem = err.Error()
		default:
			e.URL = k.URL
			e.Problem = k.Gone()
		}
		list = append(list, e)
	}
	add(l.File, "--context / AMF_CONTEXT")
	if l.StateDir != "" {
		add(clictx.StatePath(l.StateDir), "--state-dir / AMF_STATE_DIR")
	}
	if user, err := clictx.UserPath(); err == nil {
		add(user, "amf context use")
	}
	add(clictx.StatePath(l.DefaultStateDir), "default state dir")
	if output == "json" {
		if list == nil {
			list = []entry{}
		}
		return writeJSON(os.Stdout, map[string]any{"contexts": list})
	}
	rows := make([][]string, 0, len(list))
	for _, e := range list {
		mark := ""
		if e.Used {
			mark = "*"
		}
		rows = append(rows, []string{mark, orDash(e.URL), e.Role, e.Path, orDash(e.Problem)})
	}
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "no context: start `amf up` or `amf kernel`, or choose one with `amf context use`")
		return nil
	}
	return table(os.Stdout, []string{"", "URL", "FROM", "FILE", "PROBLEM"}, rows)
}
