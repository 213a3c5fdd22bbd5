package memory

import "time"

// Match is one recalled memory: what knowledge.Knowledge.Recall returns
// and what the fleet's memory search answers.
type Match struct {
	ID          string    `json:"id"`
	Score       float64   `json:"score"`
	Instruction string    `json:"instruction"`
	Command     string    `json:"command"`
	Description string    `json:"description,omitempty"`
	Host        HostFacts `json:"host,omitzero"`
	Successes   int       `json:"successes"`
	// Learners is how many worker credentials reported a success that
	// counts towards blind reuse (not one of a no_answer or session task).
	Learners   int     `json:"learners"`
	Failures   int     `json:"failures"`
	Confidence float64 `json:"confidence"`
	// ConfirmedBy names the user who confirmed the memory for blind
	// reuse (amf memory confirm, POST /v1/memories/{id}/confirm).
	ConfirmedBy string    `json:"confirmed_by,omitempty"`
	Learned     time.Time `json:"learned"`
	// Reuse says the command may run without asking the model: the score
	// is above the embedder's calibrated threshold, the instructions agree
	// on what they name, the command succeeded for it on at least two
	// different worker credentials (or a user confirmed it), the host fits
	// and confidence holds. It is still validated and sandboxed.
	Reuse bool `json:"reuse"`
	// NoReuse says why Reuse is false, for logs and the memory_hit event.
	NoReuse string `json:"no_reuse,omitempty"`
}

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
