package bus

import "strings"

// A task's events are stored under amf.events.<task_id>.>, on a subject
// that says who stored them, so that nats-server's permissions decide
// who may write what a reader will see:
//
//   - amf.events.<task_id>.k: the kernel and operators (accepted,
//     cancel_requested, the ends the kernel decides);
//   - amf.events.<task_id>.<pool>.<credential id>: a worker, which may
//     publish only with its own credential id and for its own pools.
//
// A worker of another pool can therefore store nothing a reader of the
// task sees (the kernel makes readers' consumers on the kernel's subject
// and the task's pool's only) and nothing the status projector applies;
// and within the pool, the projector takes a task's end only from the
// credential that holds it (the one whose assigned event came last).

// kernelSource ends the subject of events the kernel stores.
const kernelSource = "k"

// TaskEvents matches every event of one task: amf.events.<task_id>.>.
// Reads, last-event lookups and fences use it.
func (n Names) TaskEvents(taskID string) string { return n.p() + ".events." + taskID + ".>" }

// EventBy is the subject a worker holding credential id cred stores the
// events of a task of pool on: amf.events.<task_id>.<pool>.<cred>.
func (n Names) EventBy(taskID, pool, cred string) string {
	return n.p() + ".events." + taskID + "." + pool + "." + cred
}

// PoolEvents matches the events of a task stored by the workers of pool:
// amf.events.<task_id>.<pool>.*. A reader's consumer filters on it and
// on Event, so no other pool's worker reaches the reader.
func (n Names) PoolEvents(taskID, pool string) string {
	return n.p() + ".events." + taskID + "." + pool + ".*"
}

// EventSource is who stored an event, read from its subject.
type EventSource struct {
	// Task is the task's id.
	Task string
	// Kernel is set for the kernel's (and operators') subject.
	Kernel bool
	// Pool and Cred name the worker's pool and credential id.
	Pool, Cred string
	// Foreign marks a stored message whose subject is no task event's
	// (a consumer's delivery pushed onto the stream, say): nobody's word.
	Foreign bool
}

// StoredSource is who stored a message read from the events stream; a
// subject that is not a task event's is Foreign.
func (n Names) StoredSource(subject string) EventSource {
	if src, ok := n.SourceOf(subject); ok {
		return src
	}
	return EventSource{Foreign: true}
}

// SourceOf reads an event's subject; ok is false for a subject that is
// not a task event's.
func (n Names) SourceOf(subject string) (src EventSource, ok bool) {
	rest, found := strings.CutPrefix(subject, n.p()+".events.")
	if !found {
		return src, false
	}
	parts := strings.Split(rest, ".")
	switch {
	case len(parts) == 2 && parts[1] == kernelSource:
		return EventSource{Task: parts[0], Kernel: true}, true
	case len(parts) == 3:
		return EventSource{Task: parts[0], Pool: parts[1], Cred: parts[2]}, true
	}
	return src, false
}
