package bus

// Redacted is what stands in for an env value wherever a task is shown.
const Redacted = "[redacted]"

// Redacted returns a copy of the task fit for events, status and
// displays: env names stay (they say what the command was given), values
// become Redacted, because anyone who may read a task's events (any read
// token, every client) is not thereby entitled to the secrets it was
// given. The worker runs the task it decodes from the tasks stream, never
// this copy.
func (t Task) Redacted() Task {
	if len(t.Env) == 0 {
		return t
	}
	env := make(map[string]string, len(t.Env))
	for k := range t.Env {
		env[k] = Redacted
	}
	t.Env = env
	return t
}

// IsRedacted says whether every env value of the task is Redacted: the
// task came from an event and cannot be run as it is.
func (t Task) IsRedacted() bool {
	for _, v := range t.Env {
		if v != Redacted {
			return false
		}
	}
	return len(t.Env) > 0
}
