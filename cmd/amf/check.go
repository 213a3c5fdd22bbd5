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

	"github.com/amf-os/amf/sandbox/policy"
)

func init() {
	register(command{name: "check", summary: "say whether the policy would let a command run, and why not (lint a runbook)", run: runCheck})
}

// checkResult is one judged command, as -o json prints it.
type checkResult struct {
	Line    int    `json:"line,omitempty"`
	Command string `json:"command"`
	OK      bool   `json:"ok"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// runCheck judges one command, or each line of standard input, against
// a profile without running anything.
func runCheck(ctx context.Context, args []string) error {
	return checkMain(args, os.Stdin, os.Stdout)
}

func checkMain(args []string, stdin io.Reader, stdout io.Writer) error {
	var (
		profiles, profile, workDir, writable, masked string
		output                                       string
		hostView                                     bool
	)
	f := newFlags("check", "check [--profile P] [-o json] [-- COMMAND…]\n\nPrints ok or refused RULE: REASON for the command, or for each line of\nstandard input when none is given (blank lines and # comments are skipped).\nExits 0 when all pass, 126 when any is refused. Nothing is run.")
	f.str(&profiles, "profiles", "AMF_PROFILES", "", "policy profiles YAML file (default: the built-in one)")
	f.str(&profile, "profile", "AMF_PROFILE", "", "policy profile to judge against (default: the file's default, strict)")
	outputFlag(f, &output, "json")
	f.bool(&hostView, "host-view", "", false, "judge as a command that sees the host's file system read-only")
	f.str(&workDir, "work-dir", "", "", "the command's work dir as it sees it (default /work)")
	f.str(&writable, "writable", "", "", "comma-separated directories the command may write besides the work dir (default /tmp,/var/tmp)")
	f.str(&masked, "mask", "", "", "comma-separated paths hidden from the command")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := checkOutput(output, "json"); err != nil {
		return err
	}
	// A runbook is judged as a stream: -o json is one object a line
	// (line, command, ok, rule, reason), as amf tasks logs -o json.
	asJSON := output == "json"
	pol, err := policy.LoadPolicy(profiles)
	if err != nil {
		return err
	}
	scope := policy.Scope{HostView: hostView, WorkDir: workDir, Writable: splitList(writable), Masked: splitList(masked)}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	refused := false
	judge := func(line int, command string) error {
		res := checkResult{Line: line, Command: command, OK: true}
		if err := pol.Check(command, profile, nil, scope); err != nil {
			var r *policy.Refusal
			if !errors.As(err, &r) {
				return err
			}
			res.OK, res.Rule, res.Reason = false, r.Rule, r.Reason
			refused = true
		}
		if asJSON {
			b, err := json.Marshal(res)
			if err != nil {
				return fmt.Errorf("encode result: %w", err)
			}
			_, err = fmt.Fprintf(out, "%s\n", b)
			return err
		}
		if res.OK {
			_, err := fmt.Fprintln(out, "ok")
			return err
		}
		_, err := fmt.Fprintf(out, "refused %s: %s\n", res.Rule, res.Reason)
		return err
	}
	if f.NArg() > 0 {
		command, err := shellCommand(f.Args())
		if err != nil {
			return err
		}
		if err := judge(0, command); err != nil {
			return err
		}
	} else {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), policy.MaxCommandBytes+1)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if err := judge(n, line); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read commands from standard input (one per line, at most %d bytes): %w", policy.MaxCommandBytes, err)
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	if refused {
		return exitError{exitRefused}
	}
	return nil
}
