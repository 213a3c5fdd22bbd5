package bus

import "time"

// State is where a task is in its life.
type State string

// Task states; the last three are final.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateDone      State = "done"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// Final reports whether the task will not change state again.
func (s State) Final() bool { return s == StateDone || s == StateFailed || s == StateCancelled }

// StateOf maps an event to the task state it implies; "" for events
// that do not change it.
func StateOf(t EventType) State {
	switch t {
	case EventAccepted:
		return StateQueued
	case EventDone:
		return StateDone
	case EventFailed:
		return StateFailed
	case EventCancelled:
		return StateCancelled
	case EventCancelRequested:
		return ""
	}
	return StateRunning
}

// Status is the fast-to-read summary of one task, kept in the hot cache.
type Status struct {
	ID          string    `json:"id"`
	State       State     `json:"state"`
	Pool        string    `json:"pool,omitempty"`
	Session     string    `json:"session,omitempty"`
	ScheduleID  string    `json:"schedule_id,omitempty"`
	Instruction string    `json:"instruction,omitempty"`
	Command     string    `json:"command,omitempty"`
	Worker      string    `json:"worker,omitempty"`
	Attempt     int       `json:"attempt,omitempty"`
	ExitCode    *int      `json:"exit_code,omitempty"`
	Error       string    `json:"error,omitempty"`
	Answer      string    `json:"answer,omitempty"`
	LastSeq     uint64    `json:"last_seq,omitempty"`
	Submitted   time.Time `json:"submitted,omitzero"`
	Updated     time.Time `json:"updated"`
	// Owner is who submitted the task (Task.Owner).
	Owner Owner `json:"owner,omitempty"`
	// Holder is the credential id of the worker whose assigned event came
	// last: only its events end the task.
	Holder string `json:"holder,omitempty"`
	// Bytes is the task's size as queued (Event.TaskBytes), by the
	// kernel's word at submission.
	Bytes int64 `json:"bytes,omitempty"`
}

// admits reports whether e, stored by e.Source, may change the status:
// the kernel's events always (and events whose subject says nothing, as
// stored before subjects named their writer); a worker's only for the
// task's pool, and the task's end only from the worker holding it.
func (s *Status) admits(e Event) bool {
	src := e.Source
	switch {
	case src.Foreign:
		return false
	case src.Pool == "":
		return true
	case s.Pool != "" && src.Pool != s.Pool:
		return false
	case e.Type.Terminal() && s.Holder != "" && src.Cred != s.Holder:
		return false
	}
	return true
}

// Apply folds one event into the status, so a status can always be
// rebuilt from the event stream alone.
//
// An event a worker may not have stored for this task (admits) changes
// nothing.
func (s *Status) Apply(e Event) {
	if s.ID == "" {
		s.ID = e.TaskID
	}
	if e.Recorded() && s.LastSeq != 0 && e.Seq > s.LastSeq {
		// The kernel records a task only under an id that has no events
		// left: this is another task under a reused id, and nothing of
		// the one before (its owner, its end) is the new one's.
		*s = Status{ID: e.TaskID}
	}
	if s.State.Final() || !s.admits(e) {
		return
	}
	if e.Source.Pool != "" {
		// What the kernel recorded of the task stays as it recorded it:
		// a worker's copy of the task names no other owner or pool.
		owner, pool := s.Owner, s.Pool
		defer func() {
			if owner != "" {
				s.Owner = owner
			}
			if pool != "" {
				s.Pool = pool
			}
		}()
		if e.Type == EventAssigned {
			s.Holder = e.Source.Cred
		}
	}
	if st := StateOf(e.Type); st != "" {
		s.State = st
	}
	s.Updated = e.TS
	if e.Seq > s.LastSeq {
		s.LastSeq = e.Seq
	}
	if e.Worker != "" {
		s.Worker = e.Worker
	}
	if e.Attempt > s.Attempt {
		s.Attempt = e.Attempt
	}
	switch e.Type {
	case EventAccepted, EventAssigned:
		if e.Task != nil {
			s.Pool, s.Session = e.Task.Pool, e.Task.Session
			s.Instruction, s.Command = e.Task.Instruction, e.Task.Command
			s.Submitted = e.Task.Submitted
			// The owner is the kernel's word at submission: a later
			// event's task (a worker's assigned) never changes it.
			if e.Type == EventAccepted && e.Source.Pool == "" && !e.Source.Foreign && s.Owner == "" {
				s.Owner, s.Bytes = e.Task.Owner, e.TaskBytes
			}
			s.ScheduleID = e.Task.ScheduleID
		}
	case EventCommand, EventMemoryHit:
		s.Command = e.Command
	case EventExecEnd, EventDone:
		if e.Command != "" {
			s.Command = e.Command
		}
		if e.Exec != nil {
			code := e.Exec.ExitCode
			s.ExitCode = &code
		}
		if e.Answer != "" {
			s.Answer = e.Answer
		}
	case EventFailed, EventCancelled:
		s.Error = e.Reason
	}
}

// WorkerInfo is a worker's heartbeat.
type WorkerInfo struct {
	ID       string            `json:"id"`
	Host     string            `json:"host"`
	Pool     string            `json:"pool"`
	Labels   map[string]string `json:"labels,omitempty"`
	Capacity int               `json:"capacity"`
	InFlight int               `json:"in_flight"`
	Load     float64           `json:"load"`
	Sandbox  string            `json:"sandbox,omitempty"`
	Version  string            `json:"version,omitempty"`
	Started  time.Time         `json:"started"`
	LastSeen time.Time         `json:"last_seen"`
	// Model is how the worker's model server answered lately; nil for a
	// worker without a model.
	Model *ModelHealth `json:"model,omitempty"`
	// Offer says which workspaces and profiles the worker serves.
	Offer *Offer `json:"offer,omitempty"`
}

// Model health states, ModelHealth.Status.
const (
	ModelOK       = "ok"       // the last request was answered
	ModelDegraded = "degraded" // unreachable, missing model, or stalled
	ModelUnknown  = "unknown"  // not asked yet
)

// ModelHealth is a worker's view of its model server.
type ModelHealth struct {
	Name   string `json:"name"`
	Host   string `json:"host,omitempty"`
	Status string `json:"status"`
	// Reason says what went wrong and what to check, when degraded.
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitempty"`
}
