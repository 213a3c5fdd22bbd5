package bus

import "strings"

// DefaultPrefix is the subject prefix when none is configured.
const DefaultPrefix = "amf"

// Names derives every subject, stream and bucket name from one prefix so
// that several AMF-OS installations can share a NATS account. The zero
// value uses DefaultPrefix.
type Names struct {
	// Prefix is the first subject token, e.g. "amf".
	Prefix string
}

func (n Names) p() string {
	if n.Prefix == "" {
		return DefaultPrefix
	}
	return n.Prefix
}

func (n Names) upper() string { return strings.ToUpper(strings.ReplaceAll(n.p(), ".", "_")) }

// Task is the subject a task for pool is published on: amf.tasks.<pool>.
func (n Names) Task(pool string) string { return n.p() + ".tasks." + pool }

// Tasks matches every pool's tasks: amf.tasks.*.
func (n Names) Tasks() string { return n.p() + ".tasks.*" }

// Event is the subject the kernel (and operators) store a task's events
// on: amf.events.<task_id>.k. Workers store theirs on EventBy; every
// event of the task matches TaskEvents (eventsubject.go).
func (n Names) Event(taskID string) string { return n.p() + ".events." + taskID + "." + kernelSource }

// Events matches every task's events: amf.events.>.
func (n Names) Events() string { return n.p() + ".events.>" }

// Learned carries memory records: amf.memory.learned, the prefix of
// LearnedBy. A record published on it bare (by an admin connection
// without a credential id) counts as one unnamed learner.
func (n Names) Learned() string { return n.p() + ".memory.learned" }

// LearnedBy is where the credential whose id is cred (kernel.CredentialID)
// publishes what it learned: amf.memory.learned.<cred>. A worker's
// credential may publish only on its own, so nats-server vouches for
// which credential reported a success, and a memory counts one success
// per credential towards blind reuse.
func (n Names) LearnedBy(cred string) string {
	if cred == "" {
		return n.Learned()
	}
	return n.Learned() + "." + cred
}

// LearnerOf is the credential id a learned record's subject names: ""
// for the bare Learned subject; ok is false for any other subject.
func (n Names) LearnerOf(subject string) (cred string, ok bool) {
	if subject == n.Learned() {
		return "", true
	}
	cred, ok = strings.CutPrefix(subject, n.Learned()+".")
	return cred, ok && cred != "" && !strings.Contains(cred, ".")
}

// Memory matches every memory subject: amf.memory.>.
func (n Names) Memory() string { return n.p() + ".memory.>" }

// Control is where a running task is told to stop: amf.control.<task_id>.
func (n Names) Control(taskID string) string { return n.p() + ".control." + taskID }

// Worker is a worker's heartbeat subject: amf.workers.<worker_id>.
func (n Names) Worker(workerID string) string { return n.p() + ".workers." + workerID }

// Workers matches every heartbeat: amf.workers.>.
func (n Names) Workers() string { return n.p() + ".workers.>" }

// API is the subject prefix of the request/reply micro service: amf.api.
// Its endpoints are amf.api.submit, amf.api.status and amf.api.workers.
func (n Names) API() string { return n.p() + ".api" }

// ServiceName is the micro service name shown by `nats micro ls`.
func (n Names) ServiceName() string { return n.p() + "-api" }

// TasksStream is the work-queue stream of tasks: AMF_TASKS.
func (n Names) TasksStream() string { return n.upper() + "_TASKS" }

// EventsStream is the stream of every task's events: AMF_EVENTS.
func (n Names) EventsStream() string { return n.upper() + "_EVENTS" }

// MemoryStream is the stream of learned commands: AMF_MEMORY.
func (n Names) MemoryStream() string { return n.upper() + "_MEMORY" }

// PoolConsumer is the durable consumer name shared by a pool's workers.
func (n Names) PoolConsumer(pool string) string { return "pool-" + pool }

// StatusBucket is the KV bucket of task status when Redis is not used.
func (n Names) StatusBucket() string { return n.upper() + "_STATUS" }

// WorkersBucket is the KV bucket of worker presence when Redis is not used.
func (n Names) WorkersBucket() string { return n.upper() + "_WORKERS" }

// SessionsBucket is the KV bucket of session history when Redis is not used.
func (n Names) SessionsBucket() string { return n.upper() + "_SESSIONS" }

// Header names carried on bus messages.
const (
	// HeaderMsgID is JetStream's de-duplication header; a task's id is
	// used so that submitting the same id twice is one task.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderTaskID names the task an event or control message is about.
	HeaderTaskID = "Amf-Task-Id"
	// HeaderEventType carries an event's type so consumers can filter
	// without decoding the body.
	HeaderEventType = "Amf-Event-Type"
	// HeaderDeliver on a submission to the task API asks the kernel to
	// open the task's event stream too: once the task is recorded, a
	// reader's consumer delivering onto this subject, an inbox of the
	// submitter's own (client.SubmitOpen). One request then submits and
	// streams, and the consumer is made while a worker takes the task.
	HeaderDeliver = "Amf-Deliver"
	// HeaderOperator on the bridge's submission for an admin token: the
	// stream opened with it is not capped (ReaderRequest.Operator). Read
	// only on the token subjects the bridge alone may publish on.
	HeaderOperator = "Amf-Operator"
)

// TokensBucket is the KV bucket of HTTP bearer tokens (hashes only):
// AMF_TOKENS.
func (n Names) TokensBucket() string { return n.upper() + "_TOKENS" }

// LeasesBucket is the KV bucket of cluster-wide leases (one key per part
// that must run once per cluster, such as the status projector):
// AMF_LEASES.
func (n Names) LeasesBucket() string { return n.upper() + "_LEASES" }

// StatusLease is the lease key held by the kernel that runs the status
// projector.
func (n Names) StatusLease() string { return "status-projector" }
