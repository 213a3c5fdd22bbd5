package bus

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Readers' consumers. A reader of a task's events never makes a consumer
// itself: nats-server's permissions see only the API subject of a
// consumer create, never the name, filter or deliver subject in its
// body, so any credential allowed to create one could rewrite another's
// (the status projector's) or deliver a stream onto any subject. The
// kernel makes each reader's consumer instead, after checking that the
// reader may read the task, and makes it a push consumer delivering into
// the reader's own inbox prefix: nats-server lets only that credential
// subscribe there, so even a consumer whose name leaked delivers to
// nobody else. (A pull consumer would serve whoever knows its name.)

// ReadersOpen is where a reader asks the kernel for a consumer on one
// task's events. The credential whose user public key is reader asks on
// amf.api.readers.open.<reader>, which nats-server lets only it publish
// on, so the kernel knows who asks; an empty reader is
// amf.api.readers.open, the operators' (admin) subject, for any task.
func (n Names) ReadersOpen(reader string) string { return n.readersOp("open", reader) }

// ReadersOpenForToken is where the bridge asks on behalf of one of its
// HTTP tokens, whose owner (and whether it reads every task) it names in
// the request: amf.api.readers.open.<bridge>.token. Only the bridge role
// may publish on it; the bridge authenticates its tokens itself.
func (n Names) ReadersOpenForToken(reader string) string {
	return n.ReadersOpen(reader) + ".token"
}

// ReadersOpenAll is where a credential with the read-all right asks for
// a consumer on any owner's task: amf.api.readers.open.<reader>.all.
// Only such a credential may publish on it (its user JWT's permissions
// say so), and the consumer still delivers into its own inbox.
func (n Names) ReadersOpenAll(reader string) string {
	return n.ReadersOpen(reader) + ".all"
}

// ReadersClose is where a reader says it is done with a consumer the
// kernel made for it, so that it stops counting against its cap at once:
// amf.api.readers.close.<reader> (amf.api.readers.close for operators).
func (n Names) ReadersClose(reader string) string { return n.readersOp("close", reader) }

func (n Names) readersOp(op, reader string) string {
	s := n.API() + ".readers." + op
	if reader != "" {
		s += "." + reader
	}
	return s
}

// ReaderRequest asks the kernel for a consumer on one task's events.
type ReaderRequest struct {
	// Task is the task whose events are read.
	Task string `json:"task"`
	// After is the stream sequence of the last event the reader has
	// (SSE Last-Event-ID): delivery starts after it.
	After uint64 `json:"after,omitempty"`
	// Deliver is where the consumer delivers: a subject under the
	// reader's own inbox prefix (nats.Conn.NewInbox).
	Deliver string `json:"deliver"`
	// Wait makes the consumer even when the task has no events yet (a
	// task published raw has none until a worker takes it).
	Wait bool `json:"wait,omitempty"`
	// Owner, All and Operator are read only from the bridge's token
	// subject: the token the bridge asks for, whether it may read every
	// task, and whether it is an admin's (whose streams are not capped).
	Owner    Owner `json:"owner,omitempty"`
	All      bool  `json:"all,omitempty"`
	Operator bool  `json:"operator,omitempty"`
}

// ReaderReply is the kernel's answer: the consumer it made and the
// task's newest event when it made it.
type ReaderReply struct {
	Consumer string    `json:"consumer"`
	LastSeq  uint64    `json:"last_seq"`
	LastType EventType `json:"last_type,omitempty"`
}

// ReadersCloseForToken is where the bridge closes a consumer it opened
// for one of its tokens: amf.api.readers.close.<bridge>.token.
func (n Names) ReadersCloseForToken(reader string) string {
	return n.ReadersClose(reader) + ".token"
}

// ReaderClose names a consumer its reader is done with.
type ReaderClose struct {
	Consumer string `json:"consumer"`
}

// DefaultReadersPerOwner caps the consumers one owner holds open on the
// events stream at once (kernel --readers-per-owner): the stream holds
// ReaderMaxConsumers in all, so one owner cannot take them all.
const DefaultReadersPerOwner = 64

// ReaderHeartbeat is how often a reader's consumer says it is alive while
// the task is quiet; a reader that hears nothing for ReaderStalled asks
// for a new one, so a frozen kernel never leaves it waiting for ever.
const (
	ReaderHeartbeat = 2 * time.Second
	ReaderStalled   = 3 * ReaderHeartbeat
)

// ReaderAgeMargin is how long before a task's newest event ages out of
// a stream that keeps events for maxAge its readers' consumers go: the
// kernel makes none for the task from then on, and deletes those it
// made (kernel/readerreap.go). A consumer filters on the task's id, not
// on one recording of it, and the id is anyone's once its events are
// gone; every consumer of it must be gone first. Half the age, at most
// five minutes; 0 for a stream that keeps events forever.
func ReaderAgeMargin(maxAge time.Duration) time.Duration {
	if maxAge <= 0 {
		return 0
	}
	return min(maxAge/2, 5*time.Minute)
}

// AgesOutSoon says whether an event stored at stored, in a stream that
// keeps events for maxAge, is within ReaderAgeMargin of aging out at now.
func AgesOutSoon(stored time.Time, maxAge time.Duration, now time.Time) bool {
	return maxAge > 0 && now.Sub(stored) > maxAge-ReaderAgeMargin(maxAge)
}

// ReaderInactive is how long a reader's consumer outlives its reader's
// subscription (a killed process never says it is done).
const ReaderInactive = 10 * time.Second

// readerNamePrefix starts every reader's consumer name.
const readerNamePrefix = "rd-"

// ReaderNamePrefix starts the names of the consumers made for owner: the
// cap counts them by it, and a close is accepted only for one of them.
func ReaderNamePrefix(o Owner) string {
	if o == "" {
		return readerNamePrefix + "op-"
	}
	return readerNamePrefix + strings.Replace(string(o), ":", "-", 1) + "-"
}

// IsReaderName reports whether a consumer name is a reader's.
func IsReaderName(name string) bool { return strings.HasPrefix(name, readerNamePrefix) }

// ReaderNameOwner is the owner a reader's consumer was made for, read
// back from its name ("" for operators and for names not a reader's).
func ReaderNameOwner(name string) Owner {
	rest, ok := strings.CutPrefix(name, readerNamePrefix)
	if !ok {
		return ""
	}
	// The random part has no '-'; an owner's id may.
	kind, rest, _ := strings.Cut(rest, "-")
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 || kind == "op" {
		return ""
	}
	return Owner(kind + ":" + rest[:i])
}

// ReaderName is the consumer name of owner's reader asked for with req:
// its prefix and a digest of the request (requestPart), so a request
// asked again is answered with the same consumer.
func ReaderName(o Owner, req ReaderRequest) string {
	return ReaderNamePrefix(o) + requestPart(req.Task, req.Deliver, strconv.FormatUint(req.After, 10))
}

// ReaderConsumerConfig is the push consumer that delivers task's events
// after sequence after onto deliver: unacknowledged (a reader that misses
// one asks again from its last), heartbeating while idle, and deleted by
// the server once nobody listens for ReaderInactive. With the task's pool
// known it delivers only the kernel's events and that pool's workers',
// so a worker of another pool reaches no reader.
//
// from, when not 0, is the sequence of the task's first event after
// after: the consumer starts there. With two filters nats-server finds a
// consumer's next message by walking every subject of the stream (a
// task id is one token, and it compares only whole tokens), so started
// at the stream's first message each delivery cost a walk of every task
// the events stream keeps; started at the task's own first event it
// reads the few messages from there on.
func (n Names) ReaderConsumerConfig(name, task, pool string, after, from uint64, deliver string) jetstream.ConsumerConfig {
	filters := []string{n.TaskEvents(task)}
	if pool != "" {
		filters = []string{n.Event(task), n.PoolEvents(task, pool)}
	}
	cfg := jetstream.ConsumerConfig{
		Name:              name,
		DeliverSubject:    deliver,
		FilterSubjects:    filters,
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		IdleHeartbeat:     ReaderHeartbeat,
		InactiveThreshold: ReaderInactive,
		MemoryStorage:     true,
		Replicas:          1,
	}
	if start := max(after+1, from); start > 1 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = start
	}
	return cfg
}

// ReaderConsumerAhead is ReaderConsumerConfig for a reader's consumer
// made before its task's first event is stored: it starts at the end of
// the stream, where that event will land. nats-server counts what such a
// consumer has pending without walking the stream (there is nothing
// after its start), where a consumer with two filters started at a
// stored message walks every subject the stream holds to count it. Its
// maker keeps it from delivering until the task is known to be the
// reader's (client.MakeReaderAhead): an id may be another owner's task
// already, whose events from then on it would deliver.
func (n Names) ReaderConsumerAhead(name, task, pool, deliver string) jetstream.ConsumerConfig {
	cfg := n.ReaderConsumerConfig(name, task, pool, 0, 0, deliver)
	cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	return cfg
}

// MayRead is the one rule for who reads a task's events: its owner, and
// readers allowed every task (operators, read-all). A task recorded
// without an owner (published raw by an operator) is the operators' only.
func MayRead(reader Owner, all bool, owner Owner) bool {
	return all || (owner != "" && owner == reader)
}

// ReaderTask is the task a reader's consumer reads, from its filters
// (ReaderConsumerConfig); ok is false for a consumer that filters on no
// one task.
func (n Names) ReaderTask(cfg jetstream.ConsumerConfig) (task string, ok bool) {
	filters := cfg.FilterSubjects
	if cfg.FilterSubject != "" {
		filters = []string{cfg.FilterSubject}
	}
	if len(filters) == 0 {
		return "", false
	}
	rest, ok := strings.CutPrefix(filters[0], n.p()+".events.")
	if !ok {
		return "", false
	}
	task, _, _ = strings.Cut(rest, ".")
	return task, ValidToken(task)
}
