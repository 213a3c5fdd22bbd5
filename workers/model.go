package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/workers/reply"
)

// Retries of one model request after a transient error (Ollama not
// reachable, a 5xx, a stream cut short): the waits double from
// modelBackoff, so the last try starts about 1.75 s after the first.
const (
	modelRetries = 3
	modelBackoff = 250 * time.Millisecond
)

var (
	// errStreamCut is a model stream that ended without Ollama's final
	// done message: the connection dropped mid-answer.
	errStreamCut = errors.New("the stream ended before the model finished")
	// errReplyTooLong stops a reply that runs past reply.MaxBytes.
	errReplyTooLong = errors.New("reply too long")
)

// modelError is a model request that failed for good; Msg says what to do.
type modelError struct {
	Msg string
	Err error
}

func (e *modelError) Error() string { return e.Msg }
func (e *modelError) Unwrap() error { return e.Err }

// ask sends one chat request, streaming the reply's chunks as events of
// type t, and retries transient failures with backoff. Time spent,
// retries included, is added to phase.
func (r *run) ask(msgs []api.Message, format json.RawMessage, t bus.EventType, phase string) (string, error) {
	start := time.Now()
	defer func() { r.phases[phase] += time.Since(start) }()
	for try := 1; ; try++ {
		text, err := r.chat(msgs, format, t)
		if err == nil {
			r.s.health.set(bus.ModelOK, "")
			return text, nil
		}
		if r.ctx.Err() != nil {
			return "", fmt.Errorf("ask the model: %w", context.Cause(r.ctx))
		}
		msg, transient := modelProblem(err, r.s.cfg.LLMHost, r.s.cfg.Model)
		r.s.health.set(bus.ModelDegraded, msg)
		if !transient || try > modelRetries {
			return "", &modelError{Msg: msg, Err: err}
		}
		wait := modelBackoff << (try - 1)
		e := r.em.event(bus.EventRetry)
		e.Rule, e.Reason = bus.RuleModel, msg
		e.Text = fmt.Sprintf("asking the model again in %v (retry %d of %d)", wait, try, modelRetries)
		r.em.emit(e)
		r.log().Warn("model request failed; retrying", "err", err, "wait", wait)
		sleepCtx(r.ctx, wait)
	}
}

// chat streams one reply. A reply longer than reply.MaxBytes is cut there
// and returned as it is: the parser decides whether it holds a command.
func (r *run) chat(msgs []api.Message, format json.RawMessage, t bus.EventType) (string, error) {
	stream := true
	var sb strings.Builder
	done := false
	// A structured answer streams as the prose of its "answer" field.
	var answer *answerStream
	if t == bus.EventAnswer && len(format) > 0 {
		answer = &answerStream{}
	}
	ctx, wd := watch(r.ctx, r.s.cfg.ModelLimits, func(ctx context.Context) {
		text := r.s.waitingText(ctx)
		if ctx.Err() == nil {
			r.em.emitText(bus.EventProgress, text)
		}
	})
	defer wd.stop()
	err := r.s.cfg.LLM.Chat(ctx, &api.ChatRequest{
		Model:     r.s.cfg.Model,
		Messages:  msgs,
		Stream:    &stream,
		Format:    format,
		Options:   r.modelOptions(),
		KeepAlive: &api.Duration{Duration: r.s.cfg.KeepAlive},
	}, func(resp api.ChatResponse) error {
		wd.chunk()
		if th := resp.Message.Thinking; th != "" {
			r.em.emitText(bus.EventThinking, th)
		}
		if tok := resp.Message.Content; tok != "" {
			sb.WriteString(tok)
			show := tok
			if answer != nil {
				show = answer.feed(tok)
			}
			if show != "" {
				r.em.emitText(t, show)
			}
			if sb.Len() > reply.MaxBytes {
				return errReplyTooLong
			}
		}
		done = done || resp.Done
		return nil
	})
	var stall *stallError
	switch {
	case errors.Is(err, errReplyTooLong):
		return sb.String(), nil
	case err == nil && done:
		return sb.String(), nil
	case r.ctx.Err() == nil && errors.As(context.Cause(ctx), &stall):
		// The watchdog cut the request; the client may see that as an
		// error or as a stream that just ended.
		return sb.String(), stall
	case err == nil:
		return sb.String(), errStreamCut
	}
	return sb.String(), err
}
