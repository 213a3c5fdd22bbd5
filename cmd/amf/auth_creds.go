package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/amf-os/amf/internal/atomicfile"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
)

// authFlags locate the installation's keys on a kernel host.
type authFlags struct {
	common
	authDir string
	// init lets the command make the keys when the dir has none; without
	// it only `amf auth init` (and a kernel's first start) makes them.
	init bool
}

func (a *authFlags) bind(f flags) {
	a.bindState(f)
	f.str(&a.authDir, "auth-dir", "AMF_AUTH_DIR", "", "the installation's keys (default <state-dir>/auth)")
	f.str(&a.prefix, "prefix", "AMF_PREFIX", "amf", "subject prefix of the installation")
	f.bool(&a.init, "init", "", false, "make the installation's keys if the dir has none (as amf auth init)")
}

// open opens the installation's keys; it makes them only under --init
// (or for amf auth init): a credential signed by keys made by mistake,
// say for want of --state-dir, is refused by the kernel.
func (a *authFlags) open() (*kernel.Authority, error) {
	dir := a.authDir
	if dir == "" {
		dir = filepath.Join(a.stateDir, "auth")
	}
	if a.init {
		return kernel.OpenAuthority(dir)
	}
	return kernel.FindAuthority(dir)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runAuthCreds(_ context.Context, args []string) error {
	var a authFlags
	var out, pools, grants, name string
	var ttl time.Duration
	var readAll bool
	f := newFlags("auth creds", "auth creds admin|worker|bridge|client -o FILE [flags]")
	a.bind(f)
	f.str(&out, "o", "", "", "write the credential to this file (0600); - for stdout")
	f.str(&pools, "pool", "", "", "worker: pools it takes tasks from, comma-separated (default: default)")
	f.str(&grants, "grant", "", "", "client: sandbox profiles beyond strict it may ask for, e.g. network,trusted")
	f.str(&name, "name", "", "", "name to list and revoke it by (default: the role)")
	f.duration(&ttl, "ttl", "", 0, "expire the credential after this long (default: never)")
	f.bool(&readAll, "read-all", "", false, "client: see every owner's tasks and schedules (dashboards); it still changes only its own")
	if err := f.parse(args); err != nil {
		return err
	}
	role, err := oneArg(f, "a role: admin, worker, bridge or client")
	if err != nil {
		return err
	}
	r, err := kernel.ParseRole(role)
	if err != nil {
		return err
	}
	if out == "" {
		return fmt.Errorf("say where to write the credential: -o FILE (or -o - for stdout)")
	}
	auth, err := a.open()
	if err != nil {
		return err
	}
	creds, key, err := auth.Issue(kernel.UserSpec{Name: name, Role: r, Pools: splitList(pools), Grants: splitList(grants), Names: a.names(), TTL: ttl, ReadAll: readAll})
	if err != nil {
		return err
	}
	if out == "-" {
		_, err = os.Stdout.Write(creds)
		return err
	}
	if err := atomicfile.WriteFile(out, creds, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s credential %s (user %s)\nits replies arrive under its own inbox: nats --creds %s --inbox-prefix %s …\n", r, out, key, out, kernel.InboxPrefix(key))
	if r == kernel.RoleClient {
		fmt.Fprintf(os.Stderr, "it submits, reads and cancels its own tasks on %s.… (submit, status, cancel, list, schedules.…)\n",
			a.names().AsAPI(bus.OwnerOfCredential(kernel.CredentialID(key))))
	}
	return nil
}

// oneArg is the one positional argument a command takes, or an error
// that says what it wants.
func oneArg(f flags, want string) (string, error) {
	if f.NArg() != 1 {
		f.Usage()
		return "", fmt.Errorf("takes one argument, %s; got %d: %w", want, f.NArg(), errUsage)
	}
	return f.Arg(0), nil
}

func runAuthRevoke(ctx context.Context, args []string) error {
	var a authFlags
	f := newFlags("auth revoke", "auth revoke NAME|USER-KEY|CREDS-FILE [flags]")
	a.bind(f)
	a.bindNATS(f)
	if err := f.parse(args); err != nil {
		return err
	}
	what, err := oneArg(f, "what to revoke: a credential's name, user key or .creds file")
	if err != nil {
		return err
	}
	auth, err := a.open()
	if err != nil {
		return err
	}
	keys, err := auth.Resolve(what)
	if err != nil {
		return err
	}
	accJWT, err := auth.Revoke(keys...)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "revoked %s (%d key(s)); saved in %s\n", what, len(keys), auth.Dir)
	// Push the re-signed account to the running kernel through the
	// system account: nats-server closes the revoked users' connections.
	a.creds = filepath.Join(auth.Dir, kernel.SystemCredsFile)
	nc, err := a.connect("amf-auth")
	if err != nil {
		fmt.Fprintf(os.Stderr, "no running kernel reached (%v); it applies the revocation when it starts\n", err)
		return nil
	}
	defer nc.Close()
	subj := fmt.Sprintf("$SYS.REQ.ACCOUNT.%s.CLAIMS.UPDATE", auth.AccountKey())
	msg, err := nc.RequestWithContext(ctx, subj, []byte(accJWT))
	if err != nil {
		return fmt.Errorf("push the revocation to the kernel at %s: %w (it is saved and applies at the kernel's next start)", a.natsURL, err)
	}
	var res struct {
		Error *struct {
			Description string `json:"description"`
		} `json:"error"`
	}
	if json.Unmarshal(msg.Data, &res) == nil && res.Error != nil {
		return fmt.Errorf("the kernel refused the update: %s", res.Error.Description)
	}
	fmt.Fprintln(os.Stderr, "the running kernel applied it; live connections of those users are closed")
	return nil
}

// openAuthFromArgs parses the flags of an `amf auth` subcommand that
// takes nothing but where the keys are, and opens them.
func openAuthFromArgs(name string, args []string) (*kernel.Authority, error) {
	var a authFlags
	f := newFlags("auth "+name, "auth "+name+" [flags]")
	a.bind(f)
	if err := f.parse(args); err != nil {
		return nil, err
	}
	// amf auth init is the command that makes the keys.
	a.init = a.init || name == "init"
	return a.open()
}

func runAuthList(_ context.Context, args []string) error {
	auth, err := openAuthFromArgs("list", args)
	if err != nil {
		return err
	}
	list, err := auth.List()
	if err != nil {
		return err
	}
	for _, r := range list {
		state := "valid"
		if r.Revoked {
			state = "revoked"
		}
		fmt.Printf("%-16s %-7s %-8s pools=%s grants=%s issued=%s %s\n", r.Name, r.Role, state,
			strings.Join(r.Pools, ","), strings.Join(r.Grants, ","), r.Issued.Format(time.RFC3339), r.Key)
	}
	return nil
}

func runAuthInit(_ context.Context, args []string) error {
	auth, err := openAuthFromArgs("init", args)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "keys in %s (account %s); copy this directory to every kernel of a cluster\n", auth.Dir, auth.AccountKey())
	return nil
}

// runAuthContext writes a `nats context` for the nats CLI.
func runAuthContext(_ context.Context, args []string) error {
	var c common
	var name string
	f := newFlags("auth nats-context", "auth nats-context [flags]")
	c.bindState(f)
	c.bindNATS(f)
	f.str(&name, "name", "", "amf", "context name (nats context select NAME)")
	if err := f.parse(args); err != nil {
		return err
	}
	// The kernel the other commands follow: flags, environment, context.
	if err := c.resolveNATS(); err != nil {
		return err
	}
	creds := c.credsFile()
	if creds == "" {
		return fmt.Errorf("no credential: pass --creds FILE, or start `amf up` first (it writes %s)", localCreds(c.localState()))
	}
	abs := absPath
	prefix, err := kernel.CredsInboxPrefix(creds)
	if err != nil {
		return err
	}
	ctxDoc := map[string]any{
		// The only inbox the credential may subscribe to.
		"inbox_prefix": prefix,
		"description":  "AMF-OS kernel at " + c.natsURL,
		"url":          c.natsURL,
		"creds":        abs(creds),
		"ca":           abs(c.tls.ca),
		"cert":         abs(c.tls.cert),
		"key":          abs(c.tls.key),
	}
	dir, err := natsConfigDir()
	if err != nil {
		return err
	}
	dir = filepath.Join(dir, "nats", "context")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(ctxDoc, "", "  ")
	path := filepath.Join(dir, name+".json")
	if err := atomicfile.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s; use it with: nats context select %s   (or nats --context %s …)\n", path, name, name)
	return nil
}

// natsConfigDir is where the nats CLI looks for its contexts:
// $XDG_CONFIG_HOME, else the .config of the user's home in the user
// database — not $HOME, so under sudo it is root's, as for nats itself.
func natsConfigDir() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return d, nil
	}
	u, err := user.Current()
	if err != nil || u.HomeDir == "" {
		return "", fmt.Errorf("where the nats CLI keeps contexts: no home directory for this user (%v); set XDG_CONFIG_HOME", err)
	}
	return filepath.Join(u.HomeDir, ".config"), nil
}

// localCreds is where a kernel started from stateDir keeps the admin
// credential for the CLI on the same machine.
func localCreds(stateDir string) string { return filepath.Join(stateDir, "auth", "admin.creds") }

// ensureLocalCreds writes the admin credential on a kernel's first start,
// as k3s writes its kubeconfig, and says where it is.
func ensureLocalCreds(srv *kernel.Server, c *common) error {
	path := localCreds(c.stateDir)
	if fileExists(path) {
		return nil
	}
	creds, _, err := srv.Authority().Issue(kernel.UserSpec{Name: "local-admin", Role: kernel.RoleAdmin, Names: c.names()})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, creds, 0o600); err != nil {
		return err
	}
	slog.Info("wrote the admin NATS credential; `amf run` and friends on this machine use it, `nats --creds` takes it", "creds", path)
	return nil
}
