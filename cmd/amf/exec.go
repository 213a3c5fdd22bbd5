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
	f := newFlags("exec", "exec [--profile P] [--timeout D] -- COMMAND…")
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
	// The words after -- are the shell text, as `sh -c "$*"` would see it.
	command := strings.Join(f.Args(), " ")
	// One command needs no pool of inits waiting for more; its profile is
	// checked with the command, so an unknown one is a refusal (126).
	sf.oneShot = true
	profile := sf.profile
	sf.profile = ""
	r, closeRunner, err := sf.runner(c.stateDir, c.logger())
	if err != nil {
		return err
	}
	defer closeRunner()
	res, err := r.Run(ctx, sandbox.Spec{Command: command, Profile: profile, Timeout: timeout}, func(s sandbox.Stream, line string) {
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
