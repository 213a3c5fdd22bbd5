package bus

import (
	"strings"

	"github.com/amf-os/amf/sandbox/policy"
)

// BasePolicy is the sandbox profile every submitter may ask for. Any
// other profile needs a grant of that name, and the grant is visible in
// the subject a task is published on: nats-server does not say who
// published a message, but it does enforce who may publish where.
const BasePolicy = policy.ProfileStrict

// TaskFor is the subject a task asking for policy is published on:
// amf.tasks.<pool> for the base profile (or none), amf.tasks.<pool>.<policy>
// for any other, which only a credential granted that profile may use.
func (n Names) TaskFor(pool, policy string) string {
	if policy == "" || policy == BasePolicy {
		return n.Task(pool)
	}
	return n.Task(pool) + "." + policy
}

// PoolTaskSubjects are the subjects a pool's workers take tasks from.
func (n Names) PoolTaskSubjects(pool string) []string {
	return []string{n.Task(pool), n.Task(pool) + ".*"}
}

// GrantOf is the profile a task subject of pool allows beyond the base
// one, "" when it is the pool's plain subject.
func (n Names) GrantOf(subject, pool string) string {
	return strings.TrimPrefix(strings.TrimPrefix(subject, n.Task(pool)), ".")
}

// PolicyAllowed says whether a task asking for policy may run when it
// arrived with grant ("" = none).
func PolicyAllowed(policy, grant string) bool {
	return policy == "" || policy == BasePolicy || policy == grant
}

// Submit is the API subject that submits a task asking for policy:
// amf.api.submit, or amf.api.submit.<policy> for a granted profile.
func (n Names) Submit(policy string) string {
	if policy == "" || policy == BasePolicy {
		return n.API() + ".submit"
	}
	return n.API() + ".submit." + policy
}

// RuleGrant names the rule a task breaks when it asks for a profile its
// submitter was not granted.
const RuleGrant = "policy-grant"

// HeaderDefaultPolicy names, on the task API's refusal of a task that
// names no policy, the profile the kernel found such a task gets (its
// pool's default) and its subject lacked the grant of. A submitter that
// could not tell the default itself (no worker heard from yet, or a
// credential that may not read the heartbeats) and holds the grant asks
// again on that profile's subject; nats-server judges whether it may.
const HeaderDefaultPolicy = "Amf-Default-Policy"

// PoolSubject is where a worker asks the kernel to open its pool's
// consumer: amf.api.pool.<pool>.
func (n Names) PoolSubject(pool string) string { return n.API() + ".pool." + pool }
