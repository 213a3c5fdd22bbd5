package main

import (
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
)

// tlsFlags are PEM files: for a client, the CA that signed the kernel's
// certificate and an optional client certificate; for a kernel, its
// certificate and the CA of client certificates it then requires.
type tlsFlags struct {
	ca, cert, key string
}

func (t *tlsFlags) bind(f flags, caUsage string) {
	f.str(&t.ca, "tls-ca", "AMF_NATS_TLS_CA", "", caUsage)
	f.str(&t.cert, "tls-cert", "AMF_NATS_TLS_CERT", "", "TLS certificate (PEM)")
	f.str(&t.key, "tls-key", "AMF_NATS_TLS_KEY", "", "TLS private key (PEM)")
}

func (t *tlsFlags) clientOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if t.ca != "" {
		opts = append(opts, nats.RootCAs(t.ca))
	}
	if (t.cert == "") != (t.key == "") {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together (AMF_NATS_TLS_CERT, AMF_NATS_TLS_KEY)")
	}
	if t.cert != "" {
		opts = append(opts, nats.ClientCert(t.cert, t.key))
	}
	return opts, nil
}

func (t *tlsFlags) server() kernel.TLSFiles {
	return kernel.TLSFiles{Cert: t.cert, Key: t.key, CA: t.ca}
}
