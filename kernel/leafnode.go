package kernel

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"

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
