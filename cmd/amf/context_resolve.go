package main

import (
	"fmt"
	"os"

	"github.com/amf-os/amf/internal/clictx"
	"github.com/amf-os/amf/kernel"
)

// resolveNATS settles where a client command connects, flag > environment
// > context > default: the context fills in the URL, credential and CA
// only when no URL was given or the one given is the context's, since its
// credential belongs to the kernel it names. It runs once, before the
// first dial.
func (c *common) resolveNATS() error {
	if c.resolved {
		return nil
	}
	c.resolved = true
	found, ok, err := c.contextLookup().Find()
	if err != nil {
		return err
	}
	if ok && (c.natsURL == "" || c.natsURL == found.URL) {
		c.kctx = &found
		c.natsURL = found.URL
		if c.tls.ca == "" {
			c.tls.ca = found.CA
		}
	}
	if c.natsURL == "" {
		c.natsURL = defaultNATSURL
	}
	return nil
}

// contextLookup is where this command looks for a context: a state dir
// named on the command line or in AMF_STATE_DIR is the only place then.
func (c *common) contextLookup() clictx.Lookup {
	l := clictx.Lookup{File: c.contextFile, DefaultStateDir: kernel.DefaultStateDir()}
	switch {
	case c.stateDir != "" && c.stateDir != l.DefaultStateDir:
		l.StateDir = c.stateDir
	case os.Getenv("AMF_STATE_DIR") != "":
		l.StateDir = os.Getenv("AMF_STATE_DIR")
	}
	return l
}

// staleContext explains a dial that failed to the kernel a context names.
func staleContext(f *clictx.Found, err error) error {
	why := "it does not answer"
	if gone := f.Gone(); gone != "" {
		why = gone
	}
	return fmt.Errorf("connect to the kernel at %s named by context %s (%s, written %s): %s: %w; start it again (`amf up` / `amf kernel`), name another with --nats / AMF_NATS_URL, or delete %s",
		f.URL, f.Path, f.Why, f.Written.Local().Format("2006-01-02 15:04:05"), why, err, f.Path)
}

// credsSource says where the credential credsFile chose was named.
func (c *common) credsSource() string {
	switch {
	case c.creds != "":
		return "--creds / AMF_NATS_CREDS"
	case c.kctx != nil && c.kctx.Creds != "":
		return "from context " + c.kctx.Path
	}
	return "the local admin credential"
}
