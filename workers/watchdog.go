package workers

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the model's time limits. The first token of a cold model
// waits for Ollama to load it, which takes tens of seconds for a large
// model on a slow disk; once tokens flow, a long silence means the
// runner is stuck.
const (
	DefaultFirstToken  = 120 * time.Second
	DefaultStall       = 30 * time.Second
	DefaultModelNotice = 3 * time.Second
)

// ModelLimits bound every model request, so a hung Ollama ends an attempt
// with a message instead of holding the task until its timeout.
type ModelLimits struct {
	// FirstToken bounds the wait for the first chunk (default 120s).
	FirstToken time.Duration
	// Stall bounds the silence between two chunks (default 30s).
	Stall time.Duration
	// Notice is how long the first chunk may take before a progress
	// event says what the task waits for (default 3s).
	Notice time.Duration
}

func (l *ModelLimits) setDefaults() {
	if l.FirstToken <= 0 {
		l.FirstToken = DefaultFirstToken
	}
	if l.Stall <= 0 {
		l.Stall = DefaultStall
	}
	if l.Notice <= 0 {
		l.Notice = DefaultModelNotice
	}
}

// stallError is a model request cut by a time limit.
type stallError struct {
	first  bool // no chunk came at all
	after  time.Duration
	chunks int64
}

func (e *stallError) Error() string {
	if e.first {
		return fmt.Sprintf("no first token within %v", e.after)
	}
	return fmt.Sprintf("no token for %v after %d chunks", e.after, e.chunks)
}

// watchdog cancels one model request whose first chunk or next chunk
// takes longer than its limit, and announces a slow first chunk once.
type watchdog struct {
	limits ModelLimits
	cancel context.CancelCauseFunc
	chunks atomic.Int64

	mu     sync.Mutex
	timer  *time.Timer
	notice *time.Timer
	ended  bool
	// busy holds stop until a running onSlow has returned, so nothing is
	// announced after the request ended.
	busy sync.WaitGroup
}

// watch starts the limits of one request; onSlow runs (on another
// goroutine, with the request's context) if the first chunk is late. stop must be called when the
// request ends.
func watch(ctx context.Context, limits ModelLimits, onSlow func(context.Context)) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{limits: limits, cancel: cancel}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = time.AfterFunc(limits.FirstToken, func() {
		n := w.chunks.Load()
		if n == 0 {
			cancel(&stallError{first: true, after: limits.FirstToken})
			return
		}
		cancel(&stallError{after: limits.Stall, chunks: n})
	})
	w.notice = time.AfterFunc(limits.Notice, func() {
		w.mu.Lock()
		if w.ended || w.chunks.Load() > 0 {
			w.mu.Unlock()
			return
		}
		w.busy.Add(1)
		w.mu.Unlock()
		defer w.busy.Done()
		onSlow(ctx)
	})
	return ctx, w
}

// chunk records a chunk: the silence limit starts again.
func (w *watchdog) chunk() {
	if w.chunks.Add(1) == 1 {
		w.notice.Stop()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ended && w.timer.Stop() {
		w.timer.Reset(w.limits.Stall)
	}
}

// stop ends the watch: the request's context is released, and a slow
// notice under way has returned.
func (w *watchdog) stop() {
	w.mu.Lock()
	w.ended = true
	w.timer.Stop()
	w.notice.Stop()
	w.mu.Unlock()
	w.cancel(nil)
	w.busy.Wait()
}
