package workers

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/amf-os/amf/kernel/bus"
)

// SessionKey names a session's history and work dir. A session name is
// chosen by whoever submits (it is a capability: anyone who can submit
// with it shares it), so it is keyed by the task's profile too: a strict
// task naming a trusted session gets a history and a work dir of its own
// and can neither read the trusted one's files nor plant any there. The
// key is a digest because it must be one token however long the name and
// profile are, and so that no chosen session name can spell another
// profile's key.
func SessionKey(policy, session string) string { return OwnerSessionKey("", policy, session) }

// OwnerSessionKey is SessionKey keyed by the task's owner too: the same
// session name from two owners is two sessions, two histories and two
// work dirs, so naming another user's session reaches only one's own.
// The installation's (owner "") keys are SessionKey's as they always were.
func OwnerSessionKey(owner bus.Owner, policy, session string) string {
	in := policy + "\x00" + session
	if owner != "" {
		in = string(owner) + "\x00" + in
	}
	sum := sha256.Sum256([]byte(in))
	return "s-" + hex.EncodeToString(sum[:20])
}

// sessionKey is the key of this task's session under the profile it runs
// with: a task naming none runs the runner's default, which pools may set
// differently, so the default is resolved before it keys anything.
func (r *run) sessionKey() string {
	if r.session == "" {
		policy := r.task.Policy
		if policy == "" {
			policy = r.facts().Profile
		}
		r.session = OwnerSessionKey(r.task.Owner, policy, r.task.Session)
	}
	return r.session
}
