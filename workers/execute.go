package workers

import (
	"context"
	"errors"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

// execute runs the task to its end and returns the terminal event.
func (r *run) execute() bus.Event {
	var final bus.Event
	switch {
	case r.ctx.Err() != nil:
		// Cancelled while it waited in the queue: nothing runs.
	case r.task.Command != "":
		final = r.runExplicit()
	default:
		final = r.solve()
	}
	// However the steps ended, a cancel request or the task's deadline
	// decides what the user is told.
	if cause := context.Cause(r.ctx); cause != nil && final.Type != bus.EventDone {
		switch {
		case errors.Is(cause, ErrCancelled):
			e := r.em.event(bus.EventCancelled)
			e.Reason = cause.Error()
			e.Command, e.Attempts = final.Command, final.Attempts
			final = e
		case errors.Is(cause, context.DeadlineExceeded):
			e := r.em.event(bus.EventFailed)
			e.Rule = bus.RuleTimeout
			e.Reason = "task timed out after " + r.task.Timeout.D().String() + "; raise \"timeout\" in the task to give it longer"
			e.Command, e.Attempts = final.Command, final.Attempts
			final = e
		}
	}
	final.Phases = phasesMS(r.phases)
	r.remember(final)
	return final
}

// runExplicit runs a task that names its command: no model, one attempt.
func (r *run) runExplicit() bus.Event {
	r.em.attempt = 1
	c := r.em.event(bus.EventCommand)
	c.Command = r.task.Command
	r.em.emit(c)
	out := r.try(r.task.Command, 0)
	return r.conclude(out, []bus.AttemptSummary{summarize(1, out)})
}

// conclude turns the last attempt into the terminal event; attempts
// already include it.
func (r *run) conclude(out execOutcome, attempts []bus.AttemptSummary) bus.Event {
	if out.ok() {
		e := r.em.event(bus.EventDone)
		e.Command = out.command
		e.Exec = execResult(out.result)
		e.Output = out.stdout.String()
		e.Attempts = attempts
		return e
	}
	e := r.em.event(bus.EventFailed)
	e.Command = out.command
	e.Reason = out.reason()
	e.Rule = bus.RuleCommandFailed
	if out.refusal != nil {
		e.Rule = out.refusal.Rule
	}
	if out.err == nil && out.refusal == nil {
		e.Exec = execResult(out.result)
	}
	e.Attempts = attempts
	return e
}

func summarize(attempt int, out execOutcome) bus.AttemptSummary {
	s := bus.AttemptSummary{Attempt: attempt, Command: out.command, Reason: out.reason()}
	if out.err == nil && out.refusal == nil {
		code := out.result.ExitCode
		s.ExitCode = &code
	}
	if s.Reason == "" {
		s.Reason = "succeeded"
	}
	return s
}

func phasesMS(p map[string]time.Duration) map[string]float64 {
	out := make(map[string]float64, len(p))
	for k, d := range p {
		out[k] = float64(d.Microseconds()) / 1000
	}
	return out
}
