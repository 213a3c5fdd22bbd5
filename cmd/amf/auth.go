package main

import (
	"context"
	"fmt"
	"os"
)

func init() {
	register(command{name: "auth", summary: "issue and revoke credentials (HTTP tokens)", run: runAuth})
}

// runAuth dispatches `amf auth <what> …`.
func runAuth(ctx context.Context, args []string) error {
	if len(args) == 0 {
		authUsage()
		return errUsage
	}
	switch args[0] {
	case "token":
		return runAuthToken(ctx, args[1:])
	case "-h", "--help", "help":
		authUsage()
		return nil
	}
	fmt.Fprintf(os.Stderr, "amf auth: unknown subcommand %q\n\n", args[0])
	authUsage()
	return errUsage
}

func authUsage() {
	fmt.Fprintln(os.Stderr, `Usage: amf auth <subcommand>

Subcommands:
  token create|list|revoke   HTTP bearer tokens for the bridge`)
}
