package kernel

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
)

// Leaf is a NATS leafnode for a site that can reach the kernels but that
// no kernel can reach (a host behind NAT or a firewall that allows
// nothing in). It dials out to the kernels' leafnode port with a worker's
// credential and serves the site's parts on a local address, as NATS
// operators run edge sites: outbound connections only, the parts
// unchanged (they connect to the leaf as they would to a kernel).
//
// It keeps no JetStream of its own: JetStream calls cross to the kernels,
// where the streams live. Local clients authenticate as on a kernel: the
// leaf trusts the installation's operator through the account's JWT (a
// public document, <auth-dir>/account.jwt on a kernel host), so a
// credential works on both and its permissions hold on both. A second
// link, of the system account, carries the account's updates to the leaf
// as nats-server carries them between servers: a credential revoked on
// the kernels is refused at the site, its live connections closed.
type Leaf struct {
	// Listen is the local address for the site's parts (default
	// DefaultListen, loopback).
	Listen string
	// Remotes are the kernels' leafnode URLs (tls://host:7422 or
	// nats-leaf://host:7422); each of the leaf's two links goes to one
	// of them.
	Remotes []string
	// Creds is the credential the leaf dials out with; its permissions
	// bound what crosses (a worker's credential for a site of workers).
	Creds string
	// CA is the CA that signed the kernels' certificate (default: the
	// system's roots).
	CA string
	// AccountJWT is the path of the account's JWT.
	AccountJWT string
	// Updates is the path of the file `amf auth leaf-updates` writes: a
	// system-account credential that may only receive the account's
	// updates, and the system account's JWT.
	Updates string
	// JSDomain is the kernels' JetStream domain (default
	// DefaultJSDomain): local JetStream calls are sent there.
	JSDomain string
	// ServerName names the leaf (default: the hostname).
	ServerName string
	Logger     *slog.Logger
	NATSLogs   bool

	ns              *server.Server
	account, system string
	claims          *jwt.AccountClaims // the account as the leaf started
	claimsJWT       string
	keeper          *accountKeeper
}

// Start runs the leaf; it returns once local clients can connect, which
// can be before the link to a kernel is up (the leaf keeps dialling).
func (l *Leaf) Start() error {
	opts, err := l.options()
	if err != nil {
		return err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("start leaf: %w", err)
	}
	if l.NATSLogs {
		ns.SetLoggerV2(natsLogger{l.logger()}, false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return fmt.Errorf("start leaf: %w: not ready after 30s (is %s free?)", ErrNotReady, net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	}
	if err := l.mapJetStream(ns); err != nil {
		ns.Shutdown()
		return err
	}
	if err := l.keepAccount(ns, l.claims); err != nil {
		ns.Shutdown()
		return err
	}
	l.ns = ns
	l.logger().Info("leaf ready", "client_url", ns.ClientURL(), "remotes", strings.Join(l.Remotes, ","))
	return nil
}

// Connected reports whether the leaf holds both its links to the kernels
// (the account's and the system account's).
func (l *Leaf) Connected() bool { return l.ns != nil && l.ns.NumLeafNodes() >= 2 }

// ClientURL is where the site's parts connect.
func (l *Leaf) ClientURL() string {
	if l.ns == nil {
		return ""
	}
	return l.ns.ClientURL()
}

// Shutdown stops the leaf.
func (l *Leaf) Shutdown() {
	if l.ns == nil {
		return
	}
	l.keeper.close()
	l.ns.Shutdown()
	l.ns.WaitForShutdown()
	l.ns = nil
}

func (l *Leaf) options() (*server.Options, error) {
	if len(l.Remotes) == 0 {
		return nil, fmt.Errorf("%w: a leaf needs the kernels' leafnode URLs (--remote tls://kernel:%d,…)", ErrConfig, DefaultLeafPort)
	}
	if l.Creds == "" {
		return nil, fmt.Errorf("%w: a leaf needs a credential to dial out with (--creds FILE from `amf auth creds worker` on a kernel host)", ErrConfig)
	}
	if _, err := os.Stat(l.Creds); err != nil {
		return nil, fmt.Errorf("%w: leaf credential: %v", ErrConfig, err)
	}
	listen := l.Listen
	if listen == "" {
		listen = DefaultListen
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("%w: listen address %q: want host:port such as %s", ErrConfig, listen, DefaultListen)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("%w: listen port %q is not a number", ErrConfig, portStr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{Host: host, Port: port, ServerName: l.ServerName, NoSigs: true, MaxPayload: 8 << 20, MaxControlLine: maxControlLine}
	if err := l.trust(opts); err != nil {
		return nil, err
	}
	remote := &server.RemoteLeafOpts{LocalAccount: l.account, Credentials: l.Creds}
	for _, raw := range l.Remotes {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: leaf remote %q: want a URL such as tls://kernel-1:%d", ErrConfig, raw, DefaultLeafPort)
		}
		switch u.Scheme {
		case "tls":
			remote.TLS = true
		case "nats-leaf", "nats":
		default:
			return nil, fmt.Errorf("%w: leaf remote %q: scheme %q: want tls:// (or nats-leaf:// without TLS)", ErrConfig, raw, u.Scheme)
		}
		remote.URLs = append(remote.URLs, u)
	}
	if remote.TLS || l.CA != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if l.CA != "" {
			pem, err := os.ReadFile(l.CA)
			if err != nil {
				return nil, fmt.Errorf("%w: leaf CA: %v", ErrConfig, err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%w: leaf CA %s holds no PEM certificate", ErrConfig, l.CA)
			}
		}
		remote.TLS, remote.TLSConfig, remote.TLSTimeout = true, tc, 5
	}
	// The same kernels, the system account: the leaf's nats-server applies
	// the account updates the kernels receive (see Leaf).
	updates := *remote
	updates.LocalAccount, updates.Credentials = l.system, l.Updates
	opts.LeafNode.Remotes = []*server.RemoteLeafOpts{remote, &updates}
	opts.LeafNode.ReconnectInterval = time.Second
	return opts, nil
}

// trust puts the leaf in operator mode with the installation's account
// and system account, so local clients present the credentials the
// kernels issued and nats-server applies the account's updates (it
// listens for them in the system account, as a kernel does).
func (l *Leaf) trust(opts *server.Options) error {
	if l.AccountJWT == "" {
		return fmt.Errorf("%w: a leaf authenticates its clients against the account's JWT: copy %s from a kernel's auth dir and name it with --account-jwt", ErrConfig, accountJWTFile)
	}
	raw, err := os.ReadFile(l.AccountJWT)
	if err != nil {
		return fmt.Errorf("%w: account JWT: %v", ErrConfig, err)
	}
	accJWT := strings.TrimSpace(string(raw))
	ac, err := jwt.DecodeAccountClaims(accJWT)
	if err != nil {
		return fmt.Errorf("%w: %s is not an account JWT: %v", ErrConfig, l.AccountJWT, err)
	}
	if l.Updates == "" {
		return fmt.Errorf("%w: a leaf follows revocations through the system account: write its credential with `amf auth leaf-updates -o FILE` on a kernel host and name it with --updates", ErrConfig)
	}
	raw, err = os.ReadFile(l.Updates)
	if err != nil {
		return fmt.Errorf("%w: updates credential: %v", ErrConfig, err)
	}
	user, sysJWT, err := parseLeafUpdates(raw)
	if err != nil {
		return fmt.Errorf("%w: %s is not from `amf auth leaf-updates`: %v", ErrConfig, l.Updates, err)
	}
	sc, err := jwt.DecodeAccountClaims(sysJWT)
	if err != nil || sc.Issuer != ac.Issuer || user.Issuer != sc.Subject {
		return fmt.Errorf("%w: %s belongs to another installation than %s: write both on the same kernel host", ErrConfig, l.Updates, l.AccountJWT)
	}
	// The operator is known by its key alone: both account JWTs carry the
	// operator's signature, which the server checks against it.
	op := jwt.NewOperatorClaims(ac.Issuer)
	op.Name = "amf"
	op.SystemAccount = sc.Subject
	res := &server.MemAccResolver{}
	if err := res.Store(ac.Subject, accJWT); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := res.Store(sc.Subject, sysJWT); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	opts.TrustedOperators = []*jwt.OperatorClaims{op}
	opts.SystemAccount = sc.Subject
	opts.AccountResolver = res
	l.account, l.system, l.claims, l.claimsJWT = ac.Subject, sc.Subject, ac, accJWT
	return nil
}

// mapJetStream sends the site's JetStream calls to the kernels' domain
// (see DefaultJSDomain). nats-server's own default_js_domain does this
// only for accounts without JetStream, and the account's JWT grants it.
func (l *Leaf) mapJetStream(ns *server.Server) error {
	acc, err := ns.LookupAccount(l.account)
	if err != nil {
		return fmt.Errorf("start leaf: account: %w", err)
	}
	d := l.JSDomain
	if d == "" {
		d = DefaultJSDomain
	}
	api := "$JS." + d + ".API."
	for _, src := range []string{"$JS.API.INFO", "$JS.API.STREAM.>", "$JS.API.CONSUMER.>", "$JS.API.DIRECT.>",
		"$JS.API.META.>", "$JS.API.SERVER.>", "$JS.API.ACCOUNT.>"} {
		if err := acc.AddMapping(src, api+strings.TrimPrefix(src, "$JS.API.")); err != nil {
			return fmt.Errorf("start leaf: map %s: %w", src, err)
		}
	}
	for _, src := range []string{"$KV.>", "$OBJ.>"} {
		if err := acc.AddMapping(src, api+src); err != nil {
			return fmt.Errorf("start leaf: map %s: %w", src, err)
		}
	}
	return nil
}

func (l *Leaf) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}
