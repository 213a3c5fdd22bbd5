package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// command is one command or subcommand. A command with subs only
// dispatches (dispatch below); a leaf runs. The one tree drives parsing,
// help and completion, so the three never disagree.
type command struct {
	name    string
	aliases []string
	summary string
	// help is more text shown under the subcommands in --help.
	help string
	run  func(ctx context.Context, args []string) error
	subs []command
	// hidden commands serve the shell scripts, not people: they are
	// left out of usage and completion.
	hidden bool
	// words are the positional words completion offers a leaf
	// (completion's shells).
	words []string
}

var commands = map[string]command{}

// register adds a top-level command; each lives in its own file and
// registers itself from init.
func register(c command) { commands[c.name] = c }

// exec runs c with args; path is how the user named it (amf auth token).
func (c command) exec(ctx context.Context, path []string, args []string) error {
	if len(c.subs) == 0 {
		if err := c.run(ctx, args); err != nil {
			return &commandError{path: strings.Join(path, " "), err: err}
		}
		return nil
	}
	if c.run != nil && (len(args) == 0 || strings.HasPrefix(args[0], "-") && !asksHelp(args[:1])) {
		// A dispatching command with its own run does it when bare or
		// given flags only (amf context -o json is amf context show -o json).
		if err := c.run(ctx, args); err != nil {
			return &commandError{path: strings.Join(path, " "), err: err}
		}
		return nil
	}
	if len(args) == 0 {
		c.usage(os.Stderr, path)
		return errUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		c.usage(os.Stdout, path)
		return nil
	}
	s, ok := c.sub(args[0])
	if !ok {
		return fmt.Errorf("unknown subcommand %q; %s takes %s (amf %s --help): %w",
			args[0], strings.Join(path, " "), strings.Join(c.subNames(), ", "), strings.Join(path, " "), errUsage)
	}
	return s.exec(ctx, append(slices.Clip(path), s.name), args[1:])
}

// commandError is a leaf's error with the words that named the leaf, so
// the message starts "amf auth creds:", not just "amf auth:".
type commandError struct {
	path string
	err  error
}

func (e *commandError) Error() string { return e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }

// sub finds a subcommand by name or alias.
func (c command) sub(name string) (command, bool) {
	for _, s := range c.subs {
		if s.name == name || slices.Contains(s.aliases, name) {
			return s, true
		}
	}
	return command{}, false
}

func (c command) subNames() []string {
	names := make([]string, len(c.subs))
	for i, s := range c.subs {
		names[i] = s.name
	}
	return names
}

// usage lists the subcommands of a dispatching command.
func (c command) usage(w io.Writer, path []string) {
	p := strings.Join(path, " ")
	fmt.Fprintf(w, "Usage: amf %s <subcommand> [arguments] [flags]\n\n%s\n\nSubcommands:\n", p, c.summary)
	width := 0
	for _, s := range c.subs {
		width = max(width, len(s.name))
	}
	for _, s := range c.subs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, s.name, s.summary)
	}
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", c.help)
	}
	fmt.Fprintf(w, "\nRun 'amf %s <subcommand> --help' for its arguments and flags.\n", p)
}

// sortedCommands are the top-level commands by name.
func sortedCommands() []command {
	list := make([]command, 0, len(commands))
	for _, c := range commands {
		if !c.hidden {
			list = append(list, c)
		}
	}
	slices.SortFunc(list, func(a, b command) int { return strings.Compare(a.name, b.name) })
	return list
}
