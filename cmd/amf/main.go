// Command amf is AMF-OS in one binary: the kernel, the workers, the bridge
// and the command-line client. main only turns flags and environment into
// configuration and starts the parts; the logic lives in the packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/amf-os/amf/sandbox"
)

// command is one subcommand; each lives in its own file and registers
// itself from init.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// exitError carries a process exit code out of a subcommand without
// printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	// The sandbox re-executes this binary as the init of each confined
	// command; in that role it never returns from here.
	sandbox.MaybeInit()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "amf: unknown command %q\n\n", args[0])
		usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, args[1:])
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(os.Stderr, "amf %s: %v\n", c.name, err)
	return 1
}

func usage() {
	fmt.Fprintln(os.Stderr, "amf — AMF-OS, a distributed runtime for autonomous shell work\n\nUsage: amf <command> [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(os.Stderr, "\nRun 'amf <command> --help' for a command's flags; every flag has an AMF_* environment twin.")
}
