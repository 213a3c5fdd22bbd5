package workers

import (
	"crypto/sha256"
	"encoding/hex"
)

// SessionKey names a session's history and work dir. A session name is
// chosen by whoever submits (it is a capability: anyone who can submit
// with it shares it), so it is keyed by the task's profile too: a strict
// task naming a trusted session gets a history and a work dir of its own
// and can neither read the trusted one's files nor plant any there. The
// key is a digest because it must be one token however long the name and
// profile are, and so that no chosen session name can spell another
// profile's key.
func SessionKey(policy, session string) string {
	sum := sha256.Sum256([]byte(policy + "\x00" + session))
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
		r.session = SessionKey(policy, r.task.Session)
	}
	return r.session
}
