// Command amf is AMF-OS in one binary: the kernel, the workers, the bridge
// and the command-line client. main only turns flags and environment into
// configuration and starts the parts; the logic lives in the packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/amf-os/amf/sandbox"
)

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
	if len(args) == 0 {
		usage(os.Stderr)
		return 2
	}
	if args[0] == "help" && len(args) > 1 {
		// amf help auth token is amf auth token --help.
		args = append(slices.Clone(args[1:]), "--help")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(os.Stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "amf: unknown command %q\n\n", args[0])
		usage(os.Stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.exec(ctx, []string{c.name}, args[1:])
	name := c.name
	if ce := (*commandError)(nil); errors.As(err, &ce) {
		name = ce.path
	}
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		// A bare errUsage was printed by whoever returned it.
		if err.Error() != errUsage.Error() {
			fmt.Fprintf(os.Stderr, "amf %s: %v\n", name, strings.TrimSuffix(err.Error(), ": "+errUsage.Error()))
		}
		return 2
	}
	// An error may quote what a kernel, a worker or a command said.
	fmt.Fprintf(onScreen(os.Stderr), "amf %s: %v\n", name, err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "amf — AMF-OS, a distributed runtime for autonomous shell work\n\nUsage: amf <command> [arguments] [flags]\n\nCommands:")
	for _, c := range sortedCommands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'amf <command> --help' for a command's subcommands and flags; every flag has an AMF_* environment twin.")
}
