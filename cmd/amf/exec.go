package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/amf-os/amf/sandbox"
	"mvdan.cc/sh/v3/syntax"
)

func init() {
	register(command{name: "exec", summary: "run one shell command through the sandbox's validation and confinement", run: runExec})
}

// exitRefused is the exit code of a command the policy refused, as a
// shell reports a command it cannot execute.
const exitRefused = 126

// runExec validates and runs one command exactly as a worker would, and
// exits with its exit code.
func runExec(ctx context.Context, args []string) error {
	var (
		c       common
		sf      sandboxFlags
		timeout time.Duration
	)
	f := newFlags("exec", "exec [--profile P] [--workspace NAME=PATH[:rw]] [--timeout D] -- COMMAND…\n\nWith --workspace the command runs in that host directory (profile workspace\nunless --profile names another).\n\nOne word after -- is shell text (amf exec -- 'ls | wc -l'); several are\nthe command's own argv, each passed as one word (amf exec -- sh -c 'echo hi | tr a-z A-Z').")
	c.bindState(f)
	c.bindLog(f)
	sf.bind(f)
	f.duration(&timeout, "timeout", "AMF_SANDBOX_TIMEOUT", sandbox.DefaultLimits.Timeout, "wall-clock limit; the whole process tree is killed")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "amf exec: no command given; usage: amf exec [--profile P] [--timeout D] -- COMMAND…")
		return errUsage
	}
	command, err := shellCommand(f.Args())
	if err != nil {
		return err
	}
	// One command needs no pool of inits waiting for more; its profile is
	// checked with the command, so an unknown one is a refusal (126).
	sf.oneShot = true
	profile := sf.profile
	sf.profile = ""
	r, closeRunner, err := sf.runner(c.stateDir, c.secretFiles(), c.logger())
	if err != nil {
		return err
	}
	defer closeRunner()
	workspace, profile, err := execWorkspace(profile, sf.workspaces.list)
	if err != nil {
		return err
	}
	res, err := r.Run(ctx, sandbox.Spec{Command: command, Profile: profile, Workspace: workspace, Timeout: timeout}, func(s sandbox.Stream, line string) {
		var w io.Writer = os.Stdout
		if s == sandbox.Stderr {
			w = os.Stderr
		}
		fmt.Fprintln(w, line)
	})
	var ref *sandbox.Refusal
	if errors.As(err, &ref) {
		fmt.Fprintln(os.Stderr, ref.Error())
		return exitError{exitRefused}
	}
	if err != nil {
		return err
	}
	if res.TimedOut {
		fmt.Fprintf(os.Stderr, "amf exec: timed out after %v; the command and everything it started were killed\n", timeout)
	} else if res.LimitHit != "" {
		fmt.Fprintf(os.Stderr, "amf exec: stopped by the %s limit\n", res.LimitHit)
	}
	if res.ExitCode != 0 {
		return exitError{res.ExitCode}
	}
	return nil
}

// shellCommand turns the words an operator typed into the shell text a
// sandbox runs. One word is shell text as it stands. Several are an argv:
// each is quoted with the shell parser's own quoting, so that
// `sh -c 'echo hi | tr a-z A-Z'` stays three words and does not become
// `sh -c echo hi | tr a-z A-Z`, as joining with spaces would.
func shellCommand(words []string) (string, error) {
	if len(words) == 1 {
		return words[0], nil
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		q, err := syntax.Quote(w, syntax.LangBash)
		if err != nil {
			return "", fmt.Errorf("argument %d (%q): %v", i+1, w, err)
		}
		quoted[i] = q
	}
	return strings.Join(quoted, " "), nil
}
