package kernel

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
)

// DefaultLeafPort is the port NATS leafnodes dial by convention.
const DefaultLeafPort = 7422

// leafListen opens the leafnode listener a remote site dials out to (a
// host behind NAT that no kernel can reach). It is a second door to the
// same account: in operator mode nats-server authenticates each leaf
// connection by the user JWT of its credential, and the leaf's traffic is
// held to that credential's permissions, as a client's would be.
func (s *Server) leafListen(opts *server.Options) error {
	if s.LeafListen == "" {
		return nil
	}
	host, portStr, err := net.SplitHostPort(s.LeafListen)
	if err != nil {
		return fmt.Errorf("%w: leafnode address %q: want host:port such as 0.0.0.0:%d", ErrConfig, s.LeafListen, DefaultLeafPort)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < -1 || port > 65535 {
		return fmt.Errorf("%w: leafnode port %q is not a port number", ErrConfig, portStr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts.LeafNode.Host, opts.LeafNode.Port = host, port
	return nil
}

// secureLeafnodes puts a leafnode listener, from the flag or from the
// configuration file, under the client port's TLS: a leaf carries the
// same tasks, events and output a client would.
func secureLeafnodes(opts *server.Options, tc *tls.Config) {
	if opts.LeafNode.Port == 0 || opts.LeafNode.TLSConfig != nil || tc == nil {
		return
	}
	opts.LeafNode.TLSConfig = tc.Clone()
	opts.LeafNode.TLSTimeout = opts.TLSTimeout
}

// DefaultJSDomain is the JetStream domain of kernels that accept
// leafnodes. nats-server keeps the plain JetStream API ($JS.API.>, $KV.>)
// from crossing a leafnode of an account; a leaf reaches the kernels'
// JetStream under the domain's name instead ($JS.amf.API.>), which the
// kernels map back. Clients connected to a kernel see no difference.
const DefaultJSDomain = "amf"

// leafDomain names the kernels' JetStream domain when they accept
// leafnodes, unless the configuration file names one.
func leafDomain(opts *server.Options) {
	if opts.LeafNode.Port != 0 && opts.JetStreamDomain == "" {
		opts.JetStreamDomain = DefaultJSDomain
	}
}

// jsDomainAlias is the domain-qualified form of a JetStream API subject
// (any domain), or "" for a subject that has none.
func jsDomainAlias(subject string) string {
	if rest, ok := strings.CutPrefix(subject, "$JS.API."); ok {
		return "$JS.*.API." + rest
	}
	if strings.HasPrefix(subject, "$KV.") || strings.HasPrefix(subject, "$OBJ.") {
		return "$JS.*.API." + subject
	}
	return ""
}

// withDomainAliases lets a credential call the JetStream API it may call
// also under a domain's name: through a leaf its calls arrive so, and
// nothing more is allowed than the same calls made directly.
func withDomainAliases(p *jwt.Permissions) {
	for _, list := range []*jwt.StringList{&p.Pub.Allow, &p.Pub.Deny} {
		for _, subj := range *list {
			if a := jsDomainAlias(subj); a != "" {
				list.Add(a)
			}
		}
	}
}
