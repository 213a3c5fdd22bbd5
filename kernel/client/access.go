package client

import (
	"context"
	"slices"

	"github.com/nats-io/jwt/v2"

	"github.com/amf-os/amf/kernel/bus"
)

// Who a call acts for. The bridge acts for the token of each request and
// the kernel's task API for the owner in each request's subject: both put
// that Access in the call's context. Any other caller acts as its own
// connection's credential says.

type accessKey struct{}

// WithAccess makes calls with ctx act for a: what they submit is a's,
// and they see and touch only what a may.
func WithAccess(ctx context.Context, a bus.Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// AccessFrom is the Access ctx carries, if any.
func AccessFrom(ctx context.Context) (bus.Access, bool) {
	a, ok := ctx.Value(accessKey{}).(bus.Access)
	return a, ok
}

// ReadAllTag marks a credential with the read-all right in its user JWT:
// the client side picks its subjects by it, nats-server enforces them.
const ReadAllTag = "read-all"

// access is who a call with ctx acts for: the Access ctx carries, else
// c's own credential (a client credential's owner; any other role the
// whole installation, as far as nats-server lets it reach), else the installation (a server without accounts).
func (c *Client) access(ctx context.Context) bus.Access {
	if a, ok := AccessFrom(ctx); ok {
		return a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.self == nil {
		a := selfAccess(c)
		c.self = &a
	}
	return *c.self
}

// selfAccess reads the access of c's connection from its user JWT.
func selfAccess(c *Client) bus.Access {
	if c.NC == nil || c.NC.Opts.UserJWT == nil {
		return bus.Admin
	}
	tok, err := c.NC.Opts.UserJWT()
	if err != nil {
		return bus.Admin
	}
	uc, err := jwt.DecodeUserClaims(tok)
	if err != nil {
		return bus.Admin
	}
	tags := []string(uc.Tags)
	if !slices.Contains(tags, "role:client") {
		// Admins, bridges (which act for their tokens through
		// WithAccess) and workers: nats-server bounds what they reach.
		return bus.Admin
	}
	return bus.Access{Owner: bus.OwnerOfCredential(bus.CredentialID(uc.Subject)), SeeAll: slices.Contains(tags, ReadAllTag)}
}

// readSubject is where a caller with access a asks op, which only reads:
// the unowned subject when a sees every owner's work, else a's own.
func (c *Client) readSubject(a bus.Access, op string) string {
	if (a.SeeAll || a.ActAll) || a.Owner == "" {
		return c.Names.API() + "." + op
	}
	return c.Names.As(a.Owner, op)
}

// writeSubject is where a caller with access a asks op, which changes
// something: the unowned subject only for admins.
func (c *Client) writeSubject(a bus.Access, op string) string {
	if a.ActAll || a.Owner == "" {
		return c.Names.API() + "." + op
	}
	return c.Names.As(a.Owner, op)
}

// Visible keeps the statuses a may see, at most n of them, in order.
func Visible(a bus.Access, list []bus.Status, n int) []bus.Status {
	out := make([]bus.Status, 0, min(n, len(list)))
	for _, st := range list {
		if len(out) == n {
			break
		}
		if a.MaySee(st.Owner) {
			out = append(out, st)
		}
	}
	return out
}

// adminCredential reports whether c's connection holds an admin
// credential (or none, on a server without accounts): the unowned task
// API subjects are its to ask on.
func (c *Client) adminCredential() bool {
	if c.NC == nil || c.NC.Opts.UserJWT == nil {
		return true
	}
	tok, err := c.NC.Opts.UserJWT()
	if err != nil {
		return false
	}
	uc, err := jwt.DecodeUserClaims(tok)
	return err == nil && slices.Contains([]string(uc.Tags), "role:admin")
}
