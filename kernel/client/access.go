package client

import (
	"context"
	"slices"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"

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
	return c.credential().access
}

// self is what c's connection's credential is, read once.
type self struct {
	access bus.Access
	// operator: a credential without subject limits (an admin), or none
	// at all (a server without accounts): the unowned task API subjects
	// are its to ask on.
	operator bool
	// key is the credential's user public key ("" without one): the
	// subjects it asks on name it. Read once, as access is: decoding the
	// user JWT verifies its signature, which cost 3 % of a loaded
	// kernel's CPU when every reader's open and close did it.
	key string
}

func (c *Client) credential() self {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.self == nil {
		c.self = &self{access: bus.Admin, operator: true}
		if uc, ok := userClaims(c.NC); ok {
			c.self.key = uc.Subject
			c.self.operator = len(uc.Pub.Allow) == 0 && len(uc.Pub.Deny) == 0 && len(uc.Sub.Allow) == 0
			if slices.Contains([]string(uc.Tags), "role:client") {
				c.self.access = bus.Access{Owner: bus.OwnerOfCredential(bus.CredentialID(uc.Subject)), SeeAll: slices.Contains([]string(uc.Tags), ReadAllTag)}
			}
			// Admins, bridges (which act for their tokens through
			// WithAccess) and workers: nats-server bounds what they reach.
		}
	}
	return *c.self
}

// userClaims are the claims of nc's user JWT; ok is false for a
// connection without one.
func userClaims(nc *nats.Conn) (*jwt.UserClaims, bool) {
	if nc == nil || nc.Opts.UserJWT == nil {
		return nil, false
	}
	tok, err := nc.Opts.UserJWT()
	if err != nil {
		return nil, false
	}
	uc, err := jwt.DecodeUserClaims(tok)
	return uc, err == nil
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
