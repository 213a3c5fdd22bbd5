package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/internal/atomicfile"
	"github.com/amf-os/amf/sandbox/policy"
)

// adminTokenFile is where `amf up` keeps the admin token it creates on
// first start, readable by the state dir's owner only.
func adminTokenFile(stateDir string) string {
	return filepath.Join(stateDir, "auth", "http-admin.token")
}

// tokenStore connects to the kernel and opens the token bucket.
func (c *common) tokenStore(ctx context.Context) (*tokens.Store, *nats.Conn, error) {
	nc, err := c.connect("amf-auth")
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	st, err := tokens.Open(ctx, js, c.names(), true)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return st, nc, nil
}

func tokenCreate(ctx context.Context, args []string) error {
	var c common
	var scopes, grants, name string
	f := newFlags("auth token create", "auth token create [--scope submit,read,cancel,admin] [--grant network,trusted] [--name NOTE]")
	c.bindNATS(f)
	c.bindLog(f)
	f.str(&scopes, "scope", "", "submit,read,cancel", "what the token may do: submit, read, cancel, read-all (read every owner's work), admin (admin implies all and every grant)")
	f.str(&grants, "grant", "", "", "policy profiles beyond strict its tasks may ask for: network, trusted")
	f.str(&name, "name", "", "", "a note shown by list (who or what uses the token)")
	if err := f.parse(args); err != nil {
		return err
	}
	sc, err := tokens.ParseScopes(scopes)
	if err != nil {
		return err
	}
	gr, err := tokens.ParseGrants(grants)
	if err != nil {
		return err
	}
	st, nc, err := c.tokenStore(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	tok, r, err := st.Create(ctx, sc, gr, name)
	if err != nil {
		return err
	}
	fmt.Printf("id:     %s\nscopes: %s\ngrants: %s\nThe token is shown once; keep it secret. Revoke with: amf auth token revoke %s\n",
		r.ID, joinScopes(r.Scopes), orNone(strings.Join(r.Grants, ",")), r.ID)
	// The token is the last line, for scripts: `amf auth token create | tail -n1`.
	fmt.Println(tok)
	return nil
}

func tokenList(ctx context.Context, args []string) error {
	var c common
	var output string
	f := newFlags("auth token list", "auth token list [-o json]")
	c.bindNATS(f)
	c.bindLog(f)
	outputFlag(f, &output, "json")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := checkOutput(output, "json"); err != nil {
		return err
	}
	st, nc, err := c.tokenStore(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	list, err := st.List(ctx)
	if err != nil {
		return err
	}
	if output == "json" {
		// Records hold hashes, never tokens.
		return writeJSON(os.Stdout, map[string]any{"tokens": list})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCOPES\tGRANTS\tCREATED\tNAME")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, joinScopes(r.Scopes), orNone(strings.Join(r.Grants, ",")), r.Created.Format(time.RFC3339), r.Name)
	}
	return tw.Flush()
}

func tokenRevoke(ctx context.Context, args []string) error {
	var c common
	f := newFlags("auth token revoke", "auth token revoke ID…")
	c.bindNATS(f)
	c.bindLog(f)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() == 0 {
		return errors.New("name the token to revoke by its id (amf auth token list shows them)")
	}
	st, nc, err := c.tokenStore(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	for _, id := range f.Args() {
		// A whole token is accepted too, and reduced to its id.
		if tid, ok := tokens.IDOf(id); ok {
			id = tid
		}
		if err := st.Revoke(ctx, id); err != nil {
			return fmt.Errorf("revoke %s: %w", id, err)
		}
		fmt.Printf("revoked %s\n", id)
	}
	return nil
}

// ensureAdminToken returns the admin token in the state dir, creating it
// (and the file, mode 0600) when there is none or it no longer verifies,
// so a fresh `amf up` needs no setup and a revoked one is replaced by the
// next start.
func ensureAdminToken(ctx context.Context, st *tokens.Store, stateDir string) (token, path string, err error) {
	path = adminTokenFile(stateDir)
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		if _, err := st.Verify(ctx, tok); err == nil {
			return tok, path, nil
		}
	}
	tok, _, err := st.Create(ctx, []tokens.Scope{tokens.ScopeAdmin}, []string{policy.ProfileNetwork, policy.ProfileTrusted}, "amf up admin")
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", "", err
	}
	if err := atomicfile.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return tok, path, nil
}

func joinScopes(s []tokens.Scope) string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return strings.Join(out, ",")
}

func orNone(s string) string {
	if s == "" {
		return "none (strict only)"
	}
	return s
}
