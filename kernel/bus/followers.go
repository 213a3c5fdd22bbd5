package bus

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Followers' consumers. A worker's knowledge base follows the memory
// stream through a push consumer the kernel makes for it, for the same
// reason readers of task events do (readers.go): a credential allowed to
// create consumers could fill the stream's consumer cap for every worker
// or deliver the stream onto any subject (the events stream's). The
// kernel makes each follower's consumer delivering only into the asker's
// own inbox prefix, and caps how many one credential holds.

// FollowersOpen is where a worker asks the kernel for a consumer on the
// memory stream: amf.api.followers.open.<follower>, which nats-server
// lets only the credential whose user public key is follower publish on
// (and only a worker's); an empty follower is amf.api.followers.open,
// the operators' (admin) subject.
func (n Names) FollowersOpen(follower string) string { return n.followersOp("open", follower) }

// FollowersClose is where a follower says it is done with a consumer the
// kernel made for it, so that it stops counting against its cap at once:
// amf.api.followers.close.<follower> (amf.api.followers.close for
// operators).
func (n Names) FollowersClose(follower string) string { return n.followersOp("close", follower) }

func (n Names) followersOp(op, follower string) string {
	s := n.API() + ".followers." + op
	if follower != "" {
		s += "." + follower
	}
	return s
}

// FollowerRequest asks the kernel for a consumer on the memory stream.
type FollowerRequest struct {
	// After is the last memory stream sequence the follower applied:
	// delivery starts after it.
	After uint64 `json:"after,omitempty"`
	// Deliver is where the consumer delivers: a subject under the
	// follower's own inbox prefix (nats.Conn.NewInbox).
	Deliver string `json:"deliver"`
}

// FollowerReply is the kernel's answer: the consumer it made.
type FollowerReply struct {
	Consumer string `json:"consumer"`
}

// FollowerClose names a consumer its follower is done with.
type FollowerClose struct {
	Consumer string `json:"consumer"`
}

// DefaultFollowersPerCredential caps the consumers one credential holds
// open on the memory stream at once (kernel --followers-per-credential):
// a worker process follows through one, workers sharing a credential (a
// site's behind its leaf) count together, and restarts hold one more
// until the old consumer times out (FollowerInactive).
const DefaultFollowersPerCredential = 64

// FollowerHeartbeat is how often a follower's consumer says it is alive
// while nobody learns anything; a follower that hears nothing for
// FollowerStalled asks for a new one from its last applied sequence.
// FollowerInactive is how long the consumer outlives its follower's
// subscription (a killed worker never says it is done).
const (
	FollowerHeartbeat = 2 * time.Second
	FollowerStalled   = 3 * FollowerHeartbeat
	FollowerInactive  = 30 * time.Second
)

// followerNamePrefix starts every follower's consumer name.
const followerNamePrefix = "fl-"

// FollowerNamePrefix starts the names of the consumers made for the
// credential whose user public key is follower ("" for operators): the
// cap counts them by it, and a close is accepted only for one of them.
func FollowerNamePrefix(follower string) string {
	if follower == "" {
		return followerNamePrefix + "op-"
	}
	return followerNamePrefix + CredentialID(follower) + "-"
}

// IsFollowerName reports whether a consumer name is a follower's.
func IsFollowerName(name string) bool { return strings.HasPrefix(name, followerNamePrefix) }

// FollowerName is the consumer name of follower's consumer asked for
// with req: its prefix and a digest of the request (requestPart), so a
// request asked again is answered with the same consumer.
func FollowerName(follower string, req FollowerRequest) string {
	return FollowerNamePrefix(follower) + requestPart(req.Deliver, strconv.FormatUint(req.After, 10))
}

// FollowerConsumerConfig is the push consumer that delivers the memory
// stream after sequence after onto deliver: unacknowledged (a follower
// that misses one asks again from its last applied), heartbeating while
// idle, and deleted by the server once nobody listens for
// FollowerInactive.
func (n Names) FollowerConsumerConfig(name string, after uint64, deliver string) jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Name:              name,
		DeliverSubject:    deliver,
		FilterSubjects:    []string{n.Memory()},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		IdleHeartbeat:     FollowerHeartbeat,
		InactiveThreshold: FollowerInactive,
		MemoryStorage:     true,
		Replicas:          1,
	}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	}
	return cfg
}
