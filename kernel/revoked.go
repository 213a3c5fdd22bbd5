package kernel

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// revocations answers whether the identity a schedule acts for may still
// act. Both records it reads are durable and shared by every kernel: the
// account JWT's revocations (`amf auth revoke`, pushed to every kernel
// through the system account and saved in the state dir, so a kernel
// that was down when the revocation was made reads it at start), and the
// token bucket (`amf auth token revoke` purges the token's record). So
// the answer is the same on every kernel, before and after a restart.
type revocations struct {
	s  *Server
	js jetstream.JetStream
}

// why says why sc may no longer run ("" while it may): the credential
// that made it, or its owner (a NATS credential or an HTTP token), was
// revoked. An error means the answer could not be read; the run waits.
func (r revocations) why(ctx context.Context, sc bus.Schedule) (string, error) {
	revoked := r.revokedUsers()
	if sc.Maker != "" && coveredBy(revoked, sc.Maker, sc.Created) {
		return "the credential that made it (" + sc.Maker + ") was revoked", nil
	}
	return r.ownerWhy(ctx, revoked, sc.Task.Owner, sc.Created)
}

// ownerWhy says why owner may no longer act ("" while it may) for what
// it did at acted (zero: at any time), given the account's revoked user
// keys: its NATS credential's key was revoked (or every credential issued
// before a time after acted, "*"), or its HTTP token was revoked. The
// installation (owner "") is never revoked.
func (r revocations) ownerWhy(ctx context.Context, revoked map[string]time.Time, owner bus.Owner, acted time.Time) (string, error) {
	if id, ok := owner.Credential(); ok {
		if at, all := revoked["*"]; all && acted.Before(at) {
			return "every credential issued before " + at.UTC().Format(time.RFC3339) + " was revoked, its owner's too", nil
		}
		for key := range revoked {
			if key != "*" && bus.CredentialID(key) == id {
				return "its owner's credential (" + key + ") was revoked", nil
			}
		}
	}
	if id, ok := owner.Token(); ok {
		return r.tokenRevoked(ctx, id)
	}
	return "", nil
}

// coveredBy reports whether the revocations cover the credential with
// user key, which acted at made. A key revoked is revoked whenever it
// acted: the authority makes a new key for every credential it issues,
// so none is issued under a revoked key again, and a connection still
// open in the moment before the revocation reached the server acted as
// the revoked credential too. "*" revokes every credential issued before
// its time, so what acted before then.
func coveredBy(revoked map[string]time.Time, key string, made time.Time) bool {
	if _, ok := revoked[key]; ok {
		return true
	}
	at, ok := revoked["*"]
	return ok && made.Before(at)
}

// revokedUsers are the user keys revoked in the account AMF-OS lives in,
// each with the time up to which its credentials are refused; none on a
// server without accounts.
func (r revocations) revokedUsers() map[string]time.Time {
	ns, auth := r.s.ns, r.s.auth
	if ns == nil || auth == nil {
		return nil
	}
	az, err := ns.Accountz(&server.AccountzOptions{Account: auth.AccountKey()})
	if err != nil || az.Account == nil {
		return nil
	}
	return az.Account.RevokedUser
}

// tokenRevoked says whether the token bucket no longer holds token id:
// revoking a token purges its record, and a bucket that is gone holds no
// token either.
func (r revocations) tokenRevoked(ctx context.Context, id string) (string, error) {
	why := "its owner's token (" + id + ") was revoked"
	kv, err := r.js.KeyValue(ctx, r.s.Names.TokensBucket())
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return why, nil
	}
	if err != nil {
		return "", fmt.Errorf("read token bucket: %w", err)
	}
	_, err = kv.Get(ctx, id)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return why, nil
	case err != nil:
		return "", fmt.Errorf("read token %s: %w", id, err)
	}
	return "", nil
}
