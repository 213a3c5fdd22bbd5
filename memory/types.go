package memory

import (
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

// Match is one recalled memory; see bus.Match.
type Match = bus.Match

// Turn is one exchange of a session: what was asked and what came of it.
type Turn struct {
	TaskID      string    `json:"task_id"`
	Instruction string    `json:"instruction,omitempty"`
	Command     string    `json:"command,omitempty"`
	ExitCode    int       `json:"exit_code"`
	Output      string    `json:"output,omitempty"`
	Answer      string    `json:"answer,omitempty"`
	TS          time.Time `json:"ts"`
}
