package main

import (
	"context"
	"log/slog"

	"github.com/amf-os/amf/kernel"
)

func init() {
	register(command{name: "leaf", summary: "run a NATS leafnode for a site behind NAT: dials out to the kernels, serves local workers", run: runLeaf})
}

func runLeaf(ctx context.Context, args []string) error {
	var c common
	var listen, remotes, creds, ca, accountJWT, updates, name string
	f := newFlags("leaf", "leaf --remote tls://KERNEL:7422,… --creds FILE --account-jwt FILE --updates FILE [flags]")
	f.str(&listen, "listen", "AMF_NATS_LISTEN", kernel.DefaultListen, "address the site's workers connect to (keep it on loopback or the site's network)")
	f.str(&remotes, "remote", "AMF_LEAF_REMOTES", "", "the kernels' leafnode URLs, comma-separated (tls://kernel-1:7422,…)")
	f.str(&creds, "creds", "AMF_LEAF_CREDS", "", "credential the leaf dials out with (`amf auth creds worker` on a kernel host); it bounds what crosses")
	f.str(&ca, "tls-ca", "AMF_LEAF_TLS_CA", "", "CA that signed the kernels' certificate (default: the system's roots); the leaf's own clients connect without TLS")
	f.str(&accountJWT, "account-jwt", "AMF_LEAF_ACCOUNT_JWT", "", "the account's JWT (account.jwt in a kernel's auth dir): local clients authenticate against it")
	f.str(&updates, "updates", "AMF_LEAF_UPDATES", "", "system-account credential the leaf receives the account's updates (revocations) with (`amf auth leaf-updates` on a kernel host)")
	f.str(&name, "server-name", "AMF_SERVER_NAME", "", "this leaf's name (default: hostname)")
	c.bindLog(f)
	if err := f.parse(args); err != nil {
		return err
	}
	c.logger()
	l := &kernel.Leaf{
		Listen: listen, Remotes: splitList(remotes), Creds: creds, CA: ca, AccountJWT: accountJWT, Updates: updates, ServerName: name,
		Logger: slog.Default().With("part", "leaf"), NATSLogs: true,
	}
	if err := l.Start(); err != nil {
		return err
	}
	defer l.Shutdown()
	notifyReady()
	<-ctx.Done()
	return nil
}
