package bus

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType names one kind of step in a task's life.
type EventType string

// Event types. Done, Failed and Cancelled are terminal: exactly one per task.
const (
	EventAccepted  EventType = "accepted"
	EventAssigned  EventType = "assigned"
	EventMemoryHit EventType = "memory_hit"
	EventToken     EventType = "token"
	EventCommand   EventType = "command"
	EventRejected  EventType = "rejected"
	EventExecStart EventType = "exec_start"
	EventStdout    EventType = "stdout"
	EventStderr    EventType = "stderr"
	EventExecEnd   EventType = "exec_end"
	EventRetry     EventType = "retry"
	EventAnswer    EventType = "answer"
	EventLearned   EventType = "learned"
	EventDone      EventType = "done"
	EventFailed    EventType = "failed"
	EventCancelled EventType = "cancelled"
)

// Terminal reports whether no event follows this one.
func (t EventType) Terminal() bool {
	return t == EventDone || t == EventFailed || t == EventCancelled
}

// Event is one step of a task. Common fields first; the rest is the
// payload of the types that use it and is omitted otherwise.
type Event struct {
	TaskID  string    `json:"task_id"`
	Type    EventType `json:"type"`
	Attempt int       `json:"attempt,omitempty"`
	Worker  string    `json:"worker,omitempty"`
	TS      time.Time `json:"ts"`

	// Seq is the AMF_EVENTS stream sequence; set by readers, not stored.
	Seq uint64 `json:"seq,omitempty"`
	// Source is who stored the event, from its subject (eventsubject.go);
	// set by readers, never from the body.
	Source EventSource `json:"-"`
	// Stored is when the stream stored the event, which is what its age
	// (AMF_EVENTS' max age) is counted from; set by readers that read it
	// from the stream, never from the body.
	Stored time.Time `json:"-"`

	// Text is a token (token, answer), an output line (stdout, stderr) or
	// a human note (retry, accepted).
	Text string `json:"text,omitempty"`
	// Command is the shell command of command, rejected, exec_start,
	// memory_hit and done.
	Command string `json:"command,omitempty"`
	// Rule and Reason explain a rejection or a failure. On memory_hit,
	// Reason says whether the memory's command is replayed, and if not
	// why: the words amf memory match prints after "ask: ".
	Rule   string `json:"rule,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Host, Pool and Delivery describe an assignment.
	Host     string `json:"host,omitempty"`
	Pool     string `json:"pool,omitempty"`
	Delivery int    `json:"delivery,omitempty"`
	// Exec is the outcome of one execution (exec_end, done).
	Exec *ExecResult `json:"exec,omitempty"`
	// Output summarises what the successful command printed (done).
	Output string `json:"output,omitempty"`
	// Answer is the model's plain-language answer (done).
	Answer string `json:"answer,omitempty"`
	// Attempts lists every attempt's command and reason (failed, done).
	Attempts []AttemptSummary `json:"attempts,omitempty"`
	// Phases is time spent per phase, in milliseconds (done, failed).
	Phases map[string]float64 `json:"phases_ms,omitempty"`
	// Score is a memory similarity (memory_hit).
	Score float64 `json:"score,omitempty"`
	// Task is the accepted task itself (accepted).
	Task *Task `json:"task,omitempty"`
	// TaskBytes is the size of the task as queued, env values included
	// (the kernel's accepted), rounded up (TaskBytesOf): what its owner's
	// byte quota counts, also for a kernel that counts again after a
	// restart.
	TaskBytes int64 `json:"task_bytes,omitempty"`
}

// taskBytesGrain is what TaskBytes is rounded up to: whoever may read a
// task's events sees its env values redacted, and must not learn their
// length from its size either.
const taskBytesGrain = 4 << 10

// TaskBytesOf is an encoded task's size as events and statuses record it.
func TaskBytesOf(body []byte) int64 {
	return (int64(len(body)) + taskBytesGrain - 1) / taskBytesGrain * taskBytesGrain
}

// ExecResult is the outcome of running one command.
type ExecResult struct {
	ExitCode   int     `json:"exit_code"`
	Signal     string  `json:"signal,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	PeakMemKB  int64   `json:"peak_mem_kb,omitempty"`
	LimitHit   string  `json:"limit_hit,omitempty"`
	TimedOut   bool    `json:"timed_out,omitempty"`
	Truncated  bool    `json:"truncated,omitempty"`
}

// AttemptSummary is one attempt of the correction loop.
type AttemptSummary struct {
	Attempt  int    `json:"attempt"`
	Command  string `json:"command,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Reason   string `json:"reason"`
}

// Recorded reports whether e is the kernel's record of a submission: its
// accepted event, with the task, stored on the kernel's subject (a worker
// of any pool may store an "accepted" under any id on its own).
func (e Event) Recorded() bool {
	return e.Type == EventAccepted && e.Source.Kernel && e.Task != nil
}

// Encode writes the event as JSON.
func (e Event) Encode() []byte {
	e.Seq = 0
	b, err := json.Marshal(e)
	if err != nil {
		panic("bus: encode event: " + err.Error()) // only plain fields: cannot fail
	}
	return b
}

// DecodeEvent parses one event. Unknown fields are kept out of the way
// (not rejected) so that older readers follow newer writers.
func DecodeEvent(data []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if e.TaskID == "" || e.Type == "" {
		return e, fmt.Errorf("%w: task_id and type are required", ErrInvalidEvent)
	}
	return e, nil
}

// EventCancelRequested records that someone asked to cancel the task, so a
// worker that takes a queued task after the request still honours it. It
// is not terminal: the worker answers with cancelled.
const EventCancelRequested EventType = "cancel_requested"
