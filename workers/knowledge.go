package workers

import (
	"context"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/sandbox"
)

// Recaller finds past successes similar to an instruction among those
// owner's tasks may recall (its own and the shared ones);
// *knowledge.Knowledge (memory/knowledge) implements it.
type Recaller interface {
	Recall(ctx context.Context, owner bus.Owner, instruction string, facts bus.HostFacts, k int) ([]memory.Match, error)
}

// Learner tells the fleet what worked and what did not; memory.Publisher
// implements it.
type Learner interface {
	Learn(ctx context.Context, rec bus.Learned) (string, error)
	ReportFailure(ctx context.Context, f bus.MemoryFailure) error
}

var _ Learner = memory.Publisher{}

// memoryRoom says whether an owner's task may teach one more memory
// (its quota); *knowledge.Knowledge implements it.
type memoryRoom interface {
	Room(o bus.Owner, instruction, command string) error
}

// recallK is how many past successes go into a prompt.
const recallK = 3

// memoryTimeout bounds one memory operation; memory helps the loop but
// must never hold it up.
const memoryTimeout = 5 * time.Second

// recall finds similar past successes, announcing each as memory_hit.
// The first one marked for reuse, if any, is returned apart: its command
// is tried before asking the model.
func (r *run) recall() (examples []memory.Match, reuse *memory.Match) {
	if r.s.cfg.Memory == nil {
		return nil, nil
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.ctx, memoryTimeout)
	defer cancel()
	// The task's owner, which the kernel set from who submitted it: what
	// another owner's tasks ran is neither replayed nor shown to the
	// model here.
	matches, err := r.s.cfg.Memory.Recall(ctx, r.task.Owner, r.task.Instruction, hostFacts(), recallK)
	r.phases[bus.PhaseMemory] += time.Since(start)
	if err != nil {
		r.log().Warn("recall; continuing without memory", "err", err)
		return nil, nil
	}
	for i, m := range matches {
		e := r.em.event(bus.EventMemoryHit)
		e.Command, e.Score, e.Text = m.Command, m.Score, m.Instruction
		switch {
		case m.Reuse && reuse == nil:
			var ok bool
			if ok, e.Reason = r.secondLook(&m); ok {
				reuse = &matches[i]
			}
		case m.Reuse:
			e.Reason = "another memory is reused first; given to the model as an example"
		default:
			e.Reason = orDefault(m.NoReuse, "given to the model as an example")
		}
		r.em.emit(e)
	}
	return matches, reuse
}

// secondLook asks the model whether the memory's command does exactly
// this task's instruction (SecondLook) and says why it is or is not
// replayed, for the memory_hit event. Time spent is the model's.
func (r *run) secondLook(m *memory.Match) (bool, string) {
	const reusing = "reusing this command before asking the model for one"
	if r.s.look == nil {
		return true, reusing
	}
	start := time.Now()
	look, err := r.s.look.Check(r.ctx, r.task.Instruction, m.Command, r.s.requestOptions(r.ctx))
	r.phases[bus.PhaseModel] += time.Since(start)
	switch {
	case err != nil:
		r.log().Warn("second look before a replay; asking the model for a command instead", "memory", m.ID, "err", err)
		return false, "the model could not take a second look (" + err.Error() + "); asking it for a command instead"
	case !look.Same:
		return false, "the model's second look says this command does not do exactly this request; asking it for a command instead"
	case look.Cached:
		return true, reusing + " (the model's second look said yes before)"
	}
	return true, reusing + " (the model's second look says yes)"
}

// learn publishes a success for every worker to learn, and announces it.
func (r *run) learn(out execOutcome, thought string) {
	if r.s.cfg.Learner == nil || r.task.Instruction == "" {
		return
	}
	if room, ok := r.s.cfg.Memory.(memoryRoom); ok {
		// An owner at its quota teaches nothing more: not published,
		// so its flood does not grow the memory stream either.
		if err := room.Room(r.task.Owner, r.task.Instruction, out.command); err != nil {
			r.log().Warn("not learned", "err", err)
			return
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), memoryTimeout)
	defer cancel()
	h := hostFacts()
	h.Tools = sandbox.Programs(out.command)
	id, err := r.s.cfg.Learner.Learn(ctx, bus.Learned{
		Instruction: r.task.Instruction,
		Command:     out.command,
		Description: thought,
		Host:        h,
		Pool:        r.s.cfg.Pool,
		DurationMS:  float64(out.result.Duration.Microseconds()) / 1000,
		Worker:      r.s.cfg.Worker,
		TaskID:      r.task.ID,
		Owner:       r.task.Owner,
		// Without the model's answer, or steered by a session's
		// history (which its submitter wrote), a success is an example
		// only: it must not make the command replay for everyone.
		ExampleOnly: r.task.NoAnswer || r.task.Session != "",
	})
	d := time.Since(start)
	r.phases[bus.PhaseMemory] += d
	if err != nil {
		r.log().Warn("learn", "err", err)
		return
	}
	e := r.em.event(bus.EventLearned)
	e.Command, e.Text = out.command, id
	e.Phases = phasesMS(map[string]time.Duration{bus.PhaseMemory: d})
	r.em.emit(e)
}

// forget lowers the confidence of a reused memory whose command failed.
func (r *run) forget(m *memory.Match, reason string) {
	if r.s.cfg.Learner == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), memoryTimeout)
	defer cancel()
	// The task's owner goes with it: a failure in an owner's task
	// (whose env and files that owner chose) lowers a shared memory in
	// that owner's view only.
	err := r.s.cfg.Learner.ReportFailure(ctx, bus.MemoryFailure{ID: m.ID, TaskID: r.task.ID, Worker: r.s.cfg.Worker, Reason: reason, Owner: r.task.Owner})
	if err != nil {
		r.log().Warn("report failed memory", "memory", m.ID, "err", err)
	}
}
