package main

import (
	"context"
	"fmt"
	"os"
)

func init() {
	register(command{name: "auth", summary: "issue and revoke credentials (creds, token, revoke, list, nats-context, init, leaf-updates)", run: runAuth})
}

// runAuth dispatches `amf auth <what>`; each subcommand has its own file.
func runAuth(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "Usage: amf auth creds ROLE -o FILE | token create|list|revoke | revoke NAME|KEY|FILE | list | nats-context | init | leaf-updates -o FILE")
		return errUsage
	}
	switch args[0] {
	case "creds":
		return runAuthCreds(ctx, args[1:])
	case "token":
		return runAuthToken(ctx, args[1:])
	case "revoke":
		return runAuthRevoke(ctx, args[1:])
	case "list":
		return runAuthList(ctx, args[1:])
	case "nats-context":
		return runAuthContext(ctx, args[1:])
	case "init":
		return runAuthInit(ctx, args[1:])
	case "leaf-updates":
		return runAuthLeafUpdates(ctx, args[1:])
	}
	fmt.Fprintf(os.Stderr, "amf auth: unknown subcommand %q (creds, token, revoke, list, nats-context, init, leaf-updates)\n", args[0])
	return errUsage
}
