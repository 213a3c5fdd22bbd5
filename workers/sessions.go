package workers

import (
	"context"
	"sync"
	"time"

	"github.com/amf-os/amf/internal/clip"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/memory"
)

// Sessions keeps the turns of each conversation, so that a task sees what
// earlier tasks of its session asked, ran and got. cache.Cache (Redis or
// JetStream KV) implements it for a fleet; LocalSessions for one worker.
type Sessions interface {
	AppendTurn(ctx context.Context, session string, t memory.Turn) error
	Turns(ctx context.Context, session string, n int) ([]memory.Turn, error)
}

var _ Sessions = (*LocalSessions)(nil)

// Bounds on what one turn puts into a later prompt.
const (
	turnOutputBytes      = 1 << 10
	turnInstructionBytes = 512
	turnCommandBytes     = 1 << 10
	turnAnswerBytes      = 512
)

// LocalSessions keeps sessions in this process, bounded in count, length
// and age. The zero value is ready to use.
type LocalSessions struct {
	// MaxSessions is how many sessions are kept (default 1024); the one
	// used least recently goes first.
	MaxSessions int
	// MaxTurns is how many turns a session keeps (default 50).
	MaxTurns int
	// TTL drops a session not used for this long (default 24h).
	TTL time.Duration

	mu sync.Mutex
	m  map[string]*localSession
}

type localSession struct {
	turns []memory.Turn
	used  time.Time
}

// AppendTurn implements Sessions.
func (s *LocalSessions) AppendTurn(_ context.Context, session string, t memory.Turn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.expire(now)
	if s.m == nil {
		s.m = map[string]*localSession{}
	}
	ls := s.m[session]
	if ls == nil {
		if len(s.m) >= orInt(s.MaxSessions, 1024) {
			s.evictOldest()
		}
		ls = &localSession{}
		s.m[session] = ls
	}
	ls.turns = append(ls.turns, t)
	if over := len(ls.turns) - orInt(s.MaxTurns, 50); over > 0 {
		ls.turns = append([]memory.Turn(nil), ls.turns[over:]...)
	}
	ls.used = now
	return nil
}

// Turns implements Sessions.
func (s *LocalSessions) Turns(_ context.Context, session string, n int) ([]memory.Turn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(time.Now())
	ls := s.m[session]
	if ls == nil || n <= 0 {
		return nil, nil
	}
	ts := ls.turns[max(0, len(ls.turns)-n):]
	return append([]memory.Turn(nil), ts...), nil
}

func (s *LocalSessions) expire(now time.Time) {
	ttl := s.TTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	for k, ls := range s.m {
		if now.Sub(ls.used) > ttl {
			delete(s.m, k)
		}
	}
}

func (s *LocalSessions) evictOldest() {
	var oldest string
	var at time.Time
	for k, ls := range s.m {
		if oldest == "" || ls.used.Before(at) {
			oldest, at = k, ls.used
		}
	}
	delete(s.m, oldest)
}

// history is the session's last turns for the prompt, each clipped.
func (r *run) history() []memory.Turn {
	if r.task.Session == "" {
		return nil
	}
	turns, err := r.s.cfg.Sessions.Turns(r.ctx, r.sessionKey(), r.s.cfg.SessionTurns)
	if err != nil {
		r.log().Warn("read session; continuing without its history", "session", r.task.Session, "err", err)
		return nil
	}
	for i := range turns {
		t := &turns[i]
		t.Instruction = clip.String(t.Instruction, turnInstructionBytes)
		t.Command = clip.String(t.Command, turnCommandBytes)
		t.Output = tailOf(t.Output, turnOutputBytes)
		t.Answer = clip.String(t.Answer, turnAnswerBytes)
	}
	return turns
}

// remember appends the finished task to its session. Cancelled tasks are
// left out: they neither answered nor changed anything on purpose.
func (r *run) remember(final bus.Event) {
	if r.task.Session == "" || final.Type == bus.EventCancelled {
		return
	}
	t := memory.Turn{
		TaskID:      r.task.ID,
		Instruction: r.task.Instruction,
		Command:     final.Command,
		ExitCode:    -1,
		Output:      tailOf(final.Output, turnOutputBytes),
		Answer:      clip.String(final.Answer, turnAnswerBytes),
		TS:          time.Now().UTC(),
	}
	if final.Exec != nil {
		t.ExitCode = final.Exec.ExitCode
	}
	if final.Type == bus.EventFailed {
		t.Output = "failed: " + final.Reason
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
	defer cancel()
	if err := r.s.cfg.Sessions.AppendTurn(ctx, r.sessionKey(), t); err != nil {
		r.log().Warn("record session turn", "session", r.task.Session, "err", err)
	}
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
