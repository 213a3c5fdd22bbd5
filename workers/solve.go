package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/internal/clip"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers/reply"
)

// Bounds on what one attempt feeds back to the model.
const (
	feedbackStderrBytes = 2 << 10
	feedbackStdoutBytes = 1 << 10
	// replyEchoBytes bounds a reply kept in the conversation; a reply
	// that rambled is not worth re-reading in full.
	replyEchoBytes = 4 << 10
)

// loop is the state of one task's correction loop: the conversation
// with the model and what each attempt did.
type loop struct {
	r        *run
	conv     []api.Message
	attempts []bus.AttemptSummary
	// failed maps each command that failed to why, so a repeat is
	// answered without running it again.
	failed     map[string]string
	last       execOutcome
	ran        bool // last is an attempt that reached the runner
	lastRule   string
	lastReason string
}

// solve turns the instruction into a working command: ask the model,
// check the command, run it, and on failure show the model what happened
// and ask again, up to the task's attempts. Success ends with the
// model's short answer from the output.
func (r *run) solve() bus.Event {
	r.em.attempt = 1
	if r.s.cfg.LLM == nil {
		e := r.em.event(bus.EventFailed)
		e.Rule = bus.RuleModel
		e.Reason = "this worker has no model configured: start it with OLLAMA_HOST pointing at Ollama, or send an explicit \"command\""
		return e
	}
	examples, reuse := r.recall()
	facts := r.facts()
	l := &loop{r: r, failed: map[string]string{}}
	// The system message depends only on the sandbox and the policy, so
	// it is the same for every task of a profile and Ollama reuses it.
	system := r.s.render("system", systemData{Facts: facts, Missing: missingTools(facts)})
	request := r.fitRequest(r.ctx, system, requestData{Instruction: r.task.Instruction, Examples: examples, History: r.history()})
	l.conv = []api.Message{
		{Role: "system", Content: system},
		{Role: "user", Content: request},
	}
	for attempt := 1; attempt <= r.task.MaxAttempts && r.ctx.Err() == nil; attempt++ {
		r.em.attempt = attempt
		if attempt > 1 {
			e := r.em.event(bus.EventRetry)
			e.Rule, e.Reason = l.lastRule, l.lastReason
			e.Text = fmt.Sprintf("attempt %d of %d", attempt, r.task.MaxAttempts)
			r.em.emit(e)
		}
		reused := attempt == 1 && reuse != nil
		var p reply.Proposal
		if reused {
			p = reply.Proposal{Command: reuse.Command, Thought: "worked before for: " + reuse.Instruction, Shape: "memory"}
			l.conv = append(l.conv, api.Message{Role: "assistant", Content: replyJSON(p)})
			c := r.em.event(bus.EventCommand)
			c.Command, c.Text = p.Command, p.Thought
			r.em.emit(c)
		} else {
			var ok bool
			var fail *bus.Event
			if p, ok, fail = l.propose(attempt); fail != nil {
				return *fail
			} else if !ok {
				continue
			}
		}
		if why, seen := l.failed[p.Command]; seen {
			l.repeated(attempt, p.Command, why)
			continue
		}
		out := r.try(p.Command, r.s.cfg.CommandTimeout)
		l.attempts = append(l.attempts, summarize(attempt, out))
		l.last, l.ran = out, true
		if out.ok() {
			return l.succeed(out, p)
		}
		if reused && out.refusal == nil {
			// A refusal says more about this task's profile than about
			// the memory; only a run that failed lowers its confidence.
			r.forget(reuse, out.reason())
		}
		l.failed[p.Command] = out.reason()
		l.lastReason = out.reason()
		l.lastRule = bus.RuleCommandFailed
		if out.refusal != nil {
			l.lastRule = out.refusal.Rule
		}
		l.conv = append(l.conv, api.Message{Role: "user", Content: l.feedback(attempt, out)})
	}
	return l.giveUp()
}

// propose asks the model for this attempt's command. ok is false when
// the reply held none (the attempt is spent and the model told why);
// fail is set when the model cannot be asked at all.
func (l *loop) propose(attempt int) (p reply.Proposal, ok bool, fail *bus.Event) {
	r := l.r
	before := r.phases[bus.PhaseModel]
	text, err := r.ask(l.conv, commandFormat, bus.EventToken, bus.PhaseModel)
	if err != nil {
		e := r.em.event(bus.EventFailed)
		e.Rule, e.Reason = modelRule(err), err.Error()
		e.Attempts = l.attempts
		return p, false, &e
	}
	thinking := r.phases[bus.PhaseModel] - before
	p, err = reply.Parse(text)
	if err != nil {
		l.conv = append(l.conv, api.Message{Role: "assistant", Content: clip.String(text, replyEchoBytes)})
		why := strings.TrimPrefix(err.Error(), "unusable reply: ")
		e := r.em.event(bus.EventRejected)
		e.Rule, e.Reason = bus.RuleUnusableReply, why
		e.Phases = phasesMS(map[string]time.Duration{bus.PhaseModel: thinking})
		r.em.emit(e)
		l.attempts = append(l.attempts, bus.AttemptSummary{Attempt: attempt, Reason: "unusable reply: " + why})
		l.lastRule, l.lastReason, l.ran = bus.RuleUnusableReply, "unusable reply: "+why, false
		l.conv = append(l.conv, api.Message{Role: "user", Content: r.s.render("unusable", feedbackData{
			Attempt: attempt, MaxAttempts: r.task.MaxAttempts, Reason: why,
		})})
		return p, false, nil
	}
	// The model reads its reply back in the form it was asked for, not
	// with whatever thinking, prose or wrapping came around it.
	l.conv = append(l.conv, api.Message{Role: "assistant", Content: replyJSON(p)})
	c := r.em.event(bus.EventCommand)
	c.Command, c.Text = p.Command, p.Thought
	c.Phases = phasesMS(map[string]time.Duration{bus.PhaseModel: thinking})
	r.em.emit(c)
	return p, true, nil
}

// repeated spends an attempt on a command that already failed, without
// running it again, and tells the model so.
func (l *loop) repeated(attempt int, cmd, why string) {
	r := l.r
	r.reject(cmd, bus.RuleRepeated, "this command already failed: "+why, 0)
	reason := "repeated a command that already failed (" + why + ")"
	l.attempts = append(l.attempts, bus.AttemptSummary{Attempt: attempt, Command: cmd, Reason: reason})
	l.lastRule, l.lastReason, l.ran = bus.RuleRepeated, reason, false
	l.conv = append(l.conv, api.Message{Role: "user", Content: r.s.render("repeated", feedbackData{
		Attempt: attempt, MaxAttempts: r.task.MaxAttempts, Command: cmd, Reason: why,
	})})
}

// feedback tells the model what its command did.
func (l *loop) feedback(attempt int, out execOutcome) string {
	d := feedbackData{Attempt: attempt, MaxAttempts: l.r.task.MaxAttempts, Command: out.command}
	if out.refusal != nil {
		d.Rule, d.Reason = out.refusal.Rule, out.refusal.Reason
		return l.r.s.render("refused", d)
	}
	d.ExitCode = out.result.ExitCode
	switch {
	case out.err != nil:
		d.ExitCode, d.Why = -1, "could not run: "+out.err.Error()
	case out.result.TimedOut:
		d.Why = "stopped: " + out.reason()
	case out.result.LimitHit != "":
		d.Why = out.reason()
	case out.result.Signal != "":
		d.Why = "killed by signal " + out.result.Signal
	}
	d.Stderr = tailOf(out.stderr.String(), feedbackStderrBytes)
	d.Stdout = tailOf(out.stdout.String(), feedbackStdoutBytes)
	return l.r.s.render("failed", d)
}

// succeed ends the loop with done: the model answers the instruction from
// the output unless the task said not to, and the command is learned when
// that answer judged the output to answer the request (or, with no
// answer asked for, on success alone).
func (l *loop) succeed(out execOutcome, p reply.Proposal) bus.Event {
	r := l.r
	final := r.conclude(out, l.attempts)
	if r.task.NoAnswer {
		// The caller asked for no answer, and so for no verdict: the
		// command is learned on its success alone.
		r.learn(out, p.Thought)
		return final
	}
	ans, answers, err := r.answer(l.conv, out)
	switch {
	case err == nil:
		final.Answer = ans
		// Only a command whose output answered the request is worth
		// offering again for the same meaning.
		if answers != nil && *answers {
			r.learn(out, p.Thought)
		} else {
			why := "the answer step judged that the output does not answer the request"
			if answers == nil {
				why = "the answer gave no verdict on whether the output answers the request"
			}
			r.em.emitText(bus.EventProgress, "not learned: "+why)
		}
	case errors.Is(context.Cause(r.ctx), ErrCancelled):
		// Stopped while the answer streamed: Solve turns this failed
		// event into cancelled, keeping what had been done.
		e := r.em.event(bus.EventFailed)
		e.Command, e.Attempts = final.Command, final.Attempts
		return e
	default:
		final.Text = "no answer: " + err.Error()
		r.log().Warn("answer", "err", err)
	}
	final.TS = time.Now().UTC()
	return final
}

// giveUp is the failed event after the last attempt.
func (l *loop) giveUp() bus.Event {
	e := l.r.em.event(bus.EventFailed)
	n := len(l.attempts)
	e.Rule = l.lastRule
	e.Reason = fmt.Sprintf("no working command after %d attempt%s; the last one: %s", n, plural(n), l.lastReason)
	if n > 0 {
		e.Command = l.attempts[n-1].Command
	}
	if l.ran && l.last.err == nil && l.last.refusal == nil {
		e.Exec = execResult(l.last.result)
	}
	e.Attempts = l.attempts
	return e
}

// replyJSON writes a proposal in the form the model is asked for.
func replyJSON(p reply.Proposal) string {
	b, _ := json.Marshal(struct {
		Thought string `json:"thought"`
		Command string `json:"command"`
	}{p.Thought, p.Command})
	return string(b)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
