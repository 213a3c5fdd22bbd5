package main

import (
	"context"
	"fmt"
	"os"

	"github.com/amf-os/amf/internal/atomicfile"
)

// runAuthLeafUpdates writes what a site's `amf leaf --updates` reads: a
// system-account credential that may only receive the account's updates
// (revocations), with the system account's JWT.
func runAuthLeafUpdates(_ context.Context, args []string) error {
	var a authFlags
	var out string
	f := newFlags("auth leaf-updates", "auth leaf-updates -o FILE [flags]")
	a.bind(f)
	f.str(&out, "o", "", "", "write it to this file (0600); - for stdout")
	if err := f.parse(args); err != nil {
		return err
	}
	if out == "" {
		return fmt.Errorf("say where to write it: -o FILE (or -o - for stdout)")
	}
	auth, err := a.open()
	if err != nil {
		return err
	}
	raw, err := auth.LeafUpdates()
	if err != nil {
		return err
	}
	if out == "-" {
		_, err = os.Stdout.Write(raw)
		return err
	}
	if err := atomicfile.WriteFile(out, raw, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: copy it to the site with account.jwt and run amf leaf --updates %s\n", out, out)
	return nil
}
