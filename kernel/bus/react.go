package bus

// EventThinking carries a chunk of a thinking model's reasoning (Text),
// streamed before its reply; it is not part of the reply that is parsed.
const EventThinking EventType = "thinking"

// EventProgress says what a step is waiting for (Text), when the wait is
// long enough for a user to wonder: "waiting for the model: Ollama is
// loading qwen3-coder".
const EventProgress EventType = "progress"

// RuleModelStalled: the model sent no token within the first-token
// deadline, or stopped sending mid-stream.
const RuleModelStalled = "model-stalled"

// Phases of the correction loop, the keys of Event.Phases. A step event
// carries the time of its own phase (command: model, rejected and
// exec_start: validation, exec_end: execution, learned: memory); done,
// failed and cancelled carry the task's totals.
const (
	PhaseModel      = "model"      // asking the model for a command
	PhaseValidation = "validation" // parsing and checking a command against the policy
	PhaseExecution  = "execution"  // running commands in the sandbox
	PhaseAnswer     = "answer"     // the model's plain-language answer
	PhaseMemory     = "memory"     // recalling and learning
)

// Rules of failed and retry events that are not sandbox policy rules
// (those are named by the sandbox: "root-escalation", …).
const (
	// RuleModel: the model could not be reached or did not answer.
	RuleModel = "model"
	// RuleUnusableReply: the model's reply held no usable command.
	RuleUnusableReply = "unusable-reply"
	// RuleRepeated: the model proposed a command that had already failed.
	RuleRepeated = "repeated"
	// RuleCommandFailed: the command ran and failed (exit code, signal,
	// timeout or limit).
	RuleCommandFailed = "command-failed"
	// RuleTimeout: the task's deadline ended the loop.
	RuleTimeout = "timeout"
)
