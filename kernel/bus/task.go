package bus

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/amf-os/amf/internal/clip"
)

// Limits of the task contract.
const (
	// MaxTaskBytes is the largest encoded task accepted on any path.
	MaxTaskBytes = 1 << 20
	// DefaultPool is the pool a task goes to when it names none.
	DefaultPool = "default"
	// DefaultMaxAttempts bounds the correction loop when a task sets none.
	DefaultMaxAttempts = 3
	// MaxMaxAttempts is the most attempts a task may ask for.
	MaxMaxAttempts = 10
	// DefaultTimeout bounds a whole task when it sets none.
	DefaultTimeout = 10 * time.Minute
	// MaxTimeout is the longest timeout a task may ask for.
	MaxTimeout = 24 * time.Hour
)

// tokenRE is what may appear in one subject token (ids, pools, sessions):
// ^[A-Za-z0-9_-]{1,128}$.
var tokenRE = nameMatcher{first: tokenByte, rest: tokenByte, min: 1, max: 128}

// Task is one unit of work. Exactly one of Instruction and Command is set.
type Task struct {
	// ID identifies the task; generated when absent. One subject token.
	ID string `json:"id,omitempty"`
	// Instruction is what the user wants, in plain language.
	Instruction string `json:"instruction,omitempty"`
	// Command is an explicit shell command, run without the model.
	Command string `json:"command,omitempty"`
	// Pool selects which workers may take the task.
	Pool string `json:"pool,omitempty"`
	// Session groups the tasks of one conversation.
	Session string `json:"session,omitempty"`
	// Timeout bounds the whole task, every attempt included.
	Timeout Duration `json:"timeout,omitempty"`
	// MaxAttempts bounds the correction loop (1–10, default 3).
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Policy names the sandbox profile; empty means the worker's default.
	Policy string `json:"policy,omitempty"`
	// Workspace names a host directory the operator declared on the
	// workers (profiles.yaml or --workspace): the command runs in it.
	// Its profile must allow it; see CheckWorkspace.
	Workspace string `json:"workspace,omitempty"`
	// Env adds variables to the command's environment.
	Env map[string]string `json:"env,omitempty"`
	// NoAnswer skips the model's plain-language answer after success.
	NoAnswer bool `json:"no_answer,omitempty"`
	// Schedule makes the task recur ("every 5m", a 5-field cron
	// expression; see ParseSchedule): it creates a schedule whose every
	// run is a task of its own, instead of running once.
	Schedule string `json:"schedule,omitempty"`
	// ScheduleID names the schedule a run came from; set by the kernel.
	ScheduleID string `json:"schedule_id,omitempty"`
	// ModelOptions set sampling options (temperature, seed, …) for this
	// task's model requests only; see ModelOptions.Validate.
	ModelOptions ModelOptions `json:"model_options,omitempty"`
	// Submitted is when the task was accepted; set on submission.
	Submitted time.Time `json:"submitted,omitzero"`
	// Owner is who submitted the task; set by the kernel on submission
	// from the requester's identity, never taken from a client's body.
	Owner Owner `json:"owner,omitempty"`

	// normal is set once Normalize has passed, so a task decoded at the
	// edge is not validated again on its way to the bus.
	normal bool
}

// DecodeTask parses and validates one task. Unknown fields, invalid UTF-8,
// trailing data and oversize payloads are errors that wrap ErrInvalidTask
// or ErrTooLarge and say what to change. A task without an id gets a new
// one; DecodeTaskMsg applies the bus's full id rule.
func DecodeTask(data []byte) (Task, error) {
	return DecodeTaskMsg(data, nil, 0)
}

// jsonProblem turns encoding/json's errors into a sentence for a person.
func jsonProblem(err error) string {
	// A name the decoder repeats is the sender's, up to a whole body.
	return clip.String(jsonProblemText(err), maxProblemBytes)
}

// maxProblemBytes bounds what a refusal repeats of the body.
const maxProblemBytes = 1 << 10

func jsonProblemText(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ) && strings.HasPrefix(typ.Field, "model_options"):
		return fmt.Sprintf("model_options must be an object of numbers such as {\"temperature\": 0.5, \"seed\": 7}, not %s", typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ") + " (known fields: id, instruction, command, pool, session, timeout, max_attempts, policy, workspace, env, no_answer, model_options, schedule)"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "malformed JSON: the object is cut short"
	}
	return err.Error()
}

// Normalize fills defaults (id, pool, attempts) and validates the task.
// It does its work once: a task it already passed is returned as it is.
func (t *Task) Normalize() error {
	if t.normal {
		return nil
	}
	t.Instruction = strings.TrimSpace(t.Instruction)
	t.Command = strings.TrimSpace(t.Command)
	switch {
	case t.Instruction == "" && t.Command == "":
		return fmt.Errorf("%w: set \"instruction\" (plain language) or \"command\" (a shell command)", ErrInvalidTask)
	case t.Instruction != "" && t.Command != "":
		return fmt.Errorf("%w: set only one of \"instruction\" and \"command\", not both", ErrInvalidTask)
	}
	if err := checkCommandText(t.Command); err != nil {
		return err
	}
	if t.ID == "" {
		t.ID = NewID()
	} else if !tokenRE.MatchString(t.ID) {
		return fmt.Errorf("%w: id %q may hold only letters, digits, '-' and '_' (at most 128)", ErrInvalidTask, t.ID)
	}
	if t.Pool == "" {
		t.Pool = DefaultPool
	} else if !tokenRE.MatchString(t.Pool) {
		return fmt.Errorf("%w: pool %q may hold only letters, digits, '-' and '_'", ErrInvalidTask, t.Pool)
	}
	if t.Session != "" && !tokenRE.MatchString(t.Session) {
		return fmt.Errorf("%w: session %q may hold only letters, digits, '-' and '_'", ErrInvalidTask, t.Session)
	}
	if t.MaxAttempts == 0 {
		t.MaxAttempts = DefaultMaxAttempts
	} else if t.MaxAttempts < 1 || t.MaxAttempts > MaxMaxAttempts {
		return fmt.Errorf("%w: max_attempts %d is out of range 1–%d", ErrInvalidTask, t.MaxAttempts, MaxMaxAttempts)
	}
	switch {
	case t.Timeout == 0:
		t.Timeout = Duration(DefaultTimeout)
	case t.Timeout < 0 || t.Timeout.D() > MaxTimeout:
		return fmt.Errorf("%w: timeout %s is out of range (0, %s]", ErrInvalidTask, t.Timeout.D(), MaxTimeout)
	}
	if t.Policy != "" && !tokenRE.MatchString(t.Policy) {
		return fmt.Errorf("%w: policy %q is not a profile name", ErrInvalidTask, t.Policy)
	}
	if t.Workspace != "" && !workspaceRE.MatchString(t.Workspace) {
		return fmt.Errorf("%w: workspace %q is not a workspace name (letters, digits, '.', '_', '-')", ErrInvalidTask, t.Workspace)
	}
	if err := ValidateEnv(t.Env); err != nil {
		return err
	}
	if len(t.ModelOptions) > 0 && t.Command != "" {
		return fmt.Errorf("%w: model_options apply to the model, and a task with a \"command\" does not ask it: leave them out or send an \"instruction\"", ErrInvalidTask)
	}
	if err := t.ModelOptions.Validate(); err != nil {
		return err
	}
	if err := t.checkSchedule(); err != nil {
		return err
	}
	t.normal = true
	return nil
}

// Normalized reports whether Normalize has passed on this task.
func (t Task) Normalized() bool { return t.normal }

// Encode writes the task as JSON.
func (t Task) Encode() []byte {
	b, err := json.Marshal(t)
	if err != nil {
		panic("bus: encode task: " + err.Error()) // only plain fields: cannot fail
	}
	return b
}

// NewID returns a fresh, sortable-enough, subject-safe task id.
func NewID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 0, 24)
	out = append(out, []byte("t-")...)
	out = append(out, []byte(fmt.Sprintf("%x", time.Now().Unix()))...)
	out = append(out, '-')
	for _, c := range b {
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}

// PeekID finds the "id" of a payload that may not decode as a task, so a
// failure can still be reported on that task's event subject.
func PeekID(data []byte) string {
	var probe struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &probe) != nil || !tokenRE.MatchString(probe.ID) {
		return ""
	}
	return probe.ID
}

// ValidToken reports whether s can be a task id, pool or session name.
func ValidToken(s string) bool { return tokenRE.MatchString(s) }
