package bus

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrInvalidMemory is wrapped by every rejection of a memory record.
var ErrInvalidMemory = errors.New("invalid memory record")

// MaxMemoryBytes bounds one encoded memory record.
const MaxMemoryBytes = 64 << 10

// HostFacts describe where a command worked, so that it is only reused
// blindly on a host where it can work again.
type HostFacts struct {
	// OS is runtime.GOOS, e.g. "linux".
	OS string `json:"os,omitempty"`
	// Distro is the os-release ID, e.g. "debian".
	Distro string `json:"distro,omitempty"`
	// Tools are the programs the command invoked, e.g. ["find", "gzip"].
	Tools []string `json:"tools,omitempty"`
}

// Learned is one successful instruction → command, published on
// amf.memory.learned. The same instruction and command learned again for
// the same owner is the same memory (same ID) with one more success; for
// another owner it is another memory (MemoryIDOf).
type Learned struct {
	// ID is MemoryID(Instruction, Command); set by the publisher.
	ID          string    `json:"id,omitempty"`
	Instruction string    `json:"instruction"`
	Command     string    `json:"command"`
	Description string    `json:"description,omitempty"`
	Host        HostFacts `json:"host,omitzero"`
	Pool        string    `json:"pool,omitempty"`
	ExitCode    int       `json:"exit_code"`
	DurationMS  float64   `json:"duration_ms,omitempty"`
	Worker      string    `json:"worker,omitempty"`
	TaskID      string    `json:"task_id,omitempty"`
	// Owner is who submitted the task it was learned from (Task.Owner).
	Owner Owner `json:"owner,omitempty"`
	// ExampleOnly marks a success that says little about the command: a
	// task without the model's answer (no_answer) or one steered by its
	// session's history. It is learned as an example for prompts but
	// never counts towards blind reuse.
	ExampleOnly bool      `json:"example_only,omitempty"`
	TS          time.Time `json:"ts"`
}

// MemoryFailure says a reused memory failed on a worker; every worker
// lowers its confidence. Published on amf.memory.failed. A failure in an
// owner's task lowers a shared memory's confidence in that owner's view
// only: the owner controls the task's environment and can make any
// replay fail (memory/knowledge, failures.go).
type MemoryFailure struct {
	ID     string `json:"id"`
	TaskID string `json:"task_id,omitempty"`
	// Owner is the owner of the task whose replay failed (Task.Owner);
	// empty for an operator's task.
	Owner  Owner     `json:"owner,omitempty"`
	Worker string    `json:"worker,omitempty"`
	Reason string    `json:"reason,omitempty"`
	TS     time.Time `json:"ts"`
}

// Forgotten is the tombstone of a memory: every worker drops it.
// Published on amf.memory.forgotten.
type Forgotten struct {
	ID string    `json:"id"`
	By string    `json:"by,omitempty"`
	TS time.Time `json:"ts"`
}

// MemoryID names a memory of the installation (no owner) by what was
// asked and what worked, ignoring case and spacing of the instruction so
// trivial rewordings coincide.
func MemoryID(instruction, command string) string { return MemoryIDOf("", instruction, command) }

// MemoryIDOf names owner o's memory of instruction → command. Each owner
// has its own: what one owner's tasks taught is recalled for that owner
// only (and the installation's, o == "", for everyone), so the same
// instruction and command taught by two owners are two memories, each
// with its own successes. The installation's id is MemoryID's, as it was
// before owners were recorded.
func MemoryIDOf(o Owner, instruction, command string) string {
	h := sha256.New()
	if o != "" {
		h.Write([]byte(o))
		h.Write([]byte{0})
	}
	h.Write([]byte(strings.ToLower(strings.Join(strings.Fields(instruction), " "))))
	h.Write([]byte{0})
	h.Write([]byte(strings.TrimSpace(command)))
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// Normalize checks a record before it is published and fills ID and TS.
func (l *Learned) Normalize() error {
	l.Instruction = strings.TrimSpace(l.Instruction)
	l.Command = strings.TrimSpace(l.Command)
	switch {
	case l.Instruction == "":
		return fmt.Errorf("%w: instruction is empty", ErrInvalidMemory)
	case l.Command == "":
		return fmt.Errorf("%w: command is empty", ErrInvalidMemory)
	case l.ExitCode != 0:
		return fmt.Errorf("%w: only successes are learned, exit code was %d", ErrInvalidMemory, l.ExitCode)
	case !l.Owner.Valid():
		return fmt.Errorf("%w: owner %q is neither nats:<credential id> nor token:<id>", ErrInvalidMemory, l.Owner)
	}
	id := MemoryIDOf(l.Owner, l.Instruction, l.Command)
	switch {
	case l.ID == "":
		l.ID = id
	case l.Owner != "" && l.ID == MemoryID(l.Instruction, l.Command):
		// Published before memories were kept per owner: the owner's
		// own memory from now on, on every worker alike.
		l.ID = id
	case l.ID != id:
		return fmt.Errorf("%w: id %q does not match owner, instruction and command (want %q)", ErrInvalidMemory, l.ID, id)
	}
	if l.TS.IsZero() {
		l.TS = time.Now().UTC()
	}
	if n := len(l.Instruction) + len(l.Command) + len(l.Description); n > MaxMemoryBytes {
		return fmt.Errorf("%w: record is %d bytes, the limit is %d", ErrInvalidMemory, n, MaxMemoryBytes)
	}
	return nil
}

// DecodeLearned parses and checks one learned record.
func DecodeLearned(data []byte) (Learned, error) {
	var l Learned
	if len(data) > MaxMemoryBytes {
		return l, fmt.Errorf("%w: %d bytes, the limit is %d", ErrInvalidMemory, len(data), MaxMemoryBytes)
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return l, fmt.Errorf("%w: %v", ErrInvalidMemory, err)
	}
	return l, l.Normalize()
}

// MemoryFailed carries confidence losses: amf.memory.failed.
func (n Names) MemoryFailed() string { return n.p() + ".memory.failed" }

// MemoryForgotten carries tombstones: amf.memory.forgotten.
func (n Names) MemoryForgotten() string { return n.p() + ".memory.forgotten" }

// StatusConsumer is the durable consumer of AMF_EVENTS that projects task
// status into the hot cache.
func (n Names) StatusConsumer() string { return "status-projector" }

// CacheKey is the prefix of every hot-cache key in Redis: "amf:".
func (n Names) CacheKey() string { return n.p() + ":" }

// MemoryConfirmed says a user vouched for a memory: its command may be
// reused blindly for its meaning without waiting for a second worker
// credential to see it work.
// Published on amf.memory.confirmed by the admin or bridge credential
// that confirms (a worker's credential may not publish it); every worker
// applies it.
type MemoryConfirmed struct {
	ID string    `json:"id"`
	By string    `json:"by,omitempty"`
	TS time.Time `json:"ts"`
}

// ConfirmMemory is the body of a request on amf.api.memory.confirm: a
// worker answers with the memory if it exists, and the asker then
// publishes the confirmation itself.
type ConfirmMemory struct {
	ID string `json:"id"`
	// By names who confirms, for the record (e.g. "http:ops-token").
	By string `json:"by,omitempty"`
}

// MemoryConfirmed carries confirmations: amf.memory.confirmed.
func (n Names) MemoryConfirmed() string { return n.p() + ".memory.confirmed" }
