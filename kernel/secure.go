package kernel

import (
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TLSFiles are PEM files of the kernel's client listener.
type TLSFiles struct {
	Cert, Key string
	// CA, when set, requires clients to present a certificate it signed.
	CA string
}

// secure puts every connection under the installation's authority and,
// when configured, TLS. There is no anonymous access, loopback included:
// any local process (a sandboxed command with network access among them)
// can reach loopback.
func (s *Server) secure(opts *server.Options) error {
	if hasOwnAuth(opts) {
		return fmt.Errorf("%w: %s declares its own accounts or users; the kernel authenticates every client with its own keys (%s): remove the accounts, authorization and no_auth_user blocks and issue credentials with `amf auth creds`", ErrConfig, s.ConfigFile, s.authDir())
	}
	a, err := OpenAuthority(s.authDir())
	if err != nil {
		return err
	}
	if err := a.configure(opts); err != nil {
		return err
	}
	self, _, err := a.Issue(UserSpec{Name: "amf-kernel", Role: RoleAdmin, Names: s.Names, ephemeral: true})
	if err != nil {
		return err
	}
	s.auth, s.self = a, self
	if s.TLS.Cert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: s.TLS.Cert, KeyFile: s.TLS.Key, CaFile: s.TLS.CA, Verify: s.TLS.CA != "",
		})
		if err != nil {
			return fmt.Errorf("%w: TLS: %v", ErrConfig, err)
		}
		tc.MinVersion = tls.VersionTLS12
		opts.TLSConfig, opts.TLS, opts.TLSVerify = tc, true, s.TLS.CA != ""
		opts.TLSTimeout = 5
	}
	secureLeafnodes(opts, opts.TLSConfig)
	if opts.LeafNode.Port != 0 && opts.LeafNode.TLSConfig == nil && !loopback(opts.LeafNode.Host) {
		s.logger().Warn("!!! the kernel accepts leafnodes beyond loopback WITHOUT TLS; set --tls-cert and --tls-key", "leaf_listen", opts.LeafNode.Host)
	}
	if !s.DontListen && !loopback(opts.Host) && opts.TLSConfig == nil {
		s.logger().Warn("!!! the kernel listens beyond loopback WITHOUT TLS: credentials are signed challenges, but every task, event and output crosses the network in clear text; set --tls-cert and --tls-key (AMF_NATS_TLS_CERT, AMF_NATS_TLS_KEY)", "listen", opts.Host)
	}
	return nil
}

func (s *Server) authDir() string {
	if s.AuthDir != "" {
		return s.AuthDir
	}
	dir := s.StateDir
	if dir == "" {
		dir = DefaultStateDir()
	}
	return filepath.Join(dir, "auth")
}

// Authority is the kernel's signing chain (nil before Start).
func (s *Server) Authority() *Authority { return s.auth }

func hasOwnAuth(o *server.Options) bool {
	return len(o.TrustedOperators) > 0 || len(o.TrustedKeys) > 0 || len(o.Users) > 0 || len(o.Nkeys) > 0 ||
		o.Username != "" || o.Authorization != "" || len(o.Accounts) > 0 || o.NoAuthUser != "" || o.AuthCallout != nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// credsOption authenticates with an in-memory .creds content.
func credsOption(creds []byte) nats.Option {
	return func(o *nats.Options) error {
		if creds == nil {
			return nil
		}
		tok, err := jwt.ParseDecoratedJWT(creds)
		if err != nil {
			return err
		}
		kp, err := jwt.ParseDecoratedUserNKey(creds)
		if err != nil {
			return err
		}
		seed, err := kp.Seed()
		if err != nil {
			return err
		}
		if err := nats.UserJWTAndSeed(tok, string(seed))(o); err != nil {
			return err
		}
		prefix, err := credsContentInboxPrefix(creds)
		if err != nil {
			return err
		}
		return nats.CustomInboxPrefix(prefix)(o)
	}
}
