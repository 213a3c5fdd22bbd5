package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// The remote half of Submit and Cancel: a part holding a client or bridge
// credential may not write the event stream, so it asks the kernel's task
// API, which does it with the kernel's own connection.

// apiTimeout bounds an API request whose context has no deadline.
const apiTimeout = 15 * time.Second

// Cancellation is the body of a cancel request on <prefix>.api.cancel.
type Cancellation struct {
	ID     string `json:"id"`
	Reason string `json:"reason,omitempty"`
}

func (c *Client) submitViaAPI(ctx context.Context, t bus.Task) (bus.Task, bool, string, error) {
	t, s, err := c.submitAPI(ctx, t, nil)
	return t, s.Duplicate, s.Warning, err
}

// submitAPI sends t to the kernel's task API. header, when set, gives
// each try's request headers (a new stream inbox per try: a try that got
// no answer may have had its stream made, and its deliveries go to an
// inbox nobody reads any more).
func (c *Client) submitAPI(ctx context.Context, t bus.Task, header func() (nats.Header, error)) (bus.Task, Submitted, error) {
	if err := t.Normalize(); err != nil {
		return t, Submitted{}, err
	}
	type answer struct {
		t bus.Task
		s Submitted
	}
	a, err := withDefault(ctx, t, func(t bus.Task) (answer, error) {
		t, s, err := c.submitAPIOn(ctx, t, header)
		return answer{t, s}, err
	})
	return a.t, a.s, err
}

// submitAPIOn sends normalized t on the subject of its policy.
func (c *Client) submitAPIOn(ctx context.Context, t bus.Task, header func() (nats.Header, error)) (bus.Task, Submitted, error) {
	subject := c.Names.Submit(t.Policy)
	if a := c.access(ctx); a.Owner != "" {
		// The kernel reads the owner from the subject, never the body.
		subject = c.Names.SubmitAs(a.Owner, t.Policy)
	}
	// A try after one that got no answer may find that one's task: it
	// is this submission, not a duplicate.
	tries := 0
	var s Submitted
	err := c.ride(ctx, func(ctx context.Context) error {
		tries++
		msg := &nats.Msg{Subject: subject, Data: t.Encode()}
		if header != nil {
			h, err := header()
			if err != nil {
				return err
			}
			msg.Header = h
		}
		reply, err := c.requestMsg(ctx, msg)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(reply, &s); err != nil || s.ID == "" {
			return fmt.Errorf("%w: submit answered %q", ErrUnavailable, reply)
		}
		return nil
	})
	switch {
	case errors.Is(err, nats.ErrPermissionViolation):
		return t, s, fmt.Errorf("%w: %s: this credential may not ask for policy %q (grant %q missing): issue one with `amf auth creds client --grant %s`",
			ErrForbidden, bus.RuleGrant, t.Policy, t.Policy, t.Policy)
	case passing(err):
		return t, s, &SubmitError{ID: t.ID, Step: "submit", Err: err}
	case err != nil:
		return t, s, fmt.Errorf("submit task %s: %w", t.ID, err)
	}
	t.ID = s.ID
	s.Duplicate = s.Duplicate && tries == 1
	return t, s, nil
}

// statusViaAPI asks the task API for a task's status: a credential that
// reads only its own tasks' events (or every owner's status, read-all)
// learns it where the kernel checks who asks.
func (c *Client) statusViaAPI(ctx context.Context, id string) (bus.Status, error) {
	var st bus.Status
	reply, err := c.request(ctx, c.readSubject(c.access(ctx), "status"), []byte(id))
	if err != nil {
		return st, fmt.Errorf("status of %s: %w", id, err)
	}
	if err := json.Unmarshal(reply, &st); err != nil {
		return st, fmt.Errorf("%w: status of %s: %v", ErrUnavailable, id, err)
	}
	return st, nil
}

func (c *Client) cancelViaAPI(ctx context.Context, id, reason string) error {
	if a := c.access(ctx); a.SeeAll && !a.ActAll {
		// The kernel sees a read-all credential's cancel on its own
		// subject as its owner's, to whom another's task does not exist:
		// say why here instead.
		if err := c.mayTouch(ctx, id); err != nil {
			return err
		}
	}
	body, _ := json.Marshal(Cancellation{ID: id, Reason: reason})
	if _, err := c.request(ctx, c.writeSubject(c.access(ctx), "cancel"), body); err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	return nil
}

// request sends one API request. A publish the server refuses is known
// once a round trip after it completes (the server answers in order), so
// a missing grant is reported at once instead of as a timeout.
func (c *Client) request(ctx context.Context, subject string, body []byte) ([]byte, error) {
	return c.requestMsg(ctx, &nats.Msg{Subject: subject, Data: body})
}

// requestMsg is request for a message with headers; msg.Reply is set here.
func (c *Client) requestMsg(ctx context.Context, msg *nats.Msg) ([]byte, error) {
	subject := msg.Subject
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, apiTimeout)
		defer cancel()
	}
	inbox := c.NC.NewRespInbox()
	sub, err := c.subscribeReplies(inbox, 1) // a service answers once
	if err != nil {
		return nil, err
	}
	defer sub.close()
	msg.Reply = inbox
	if err := c.NC.PublishMsg(msg); err != nil {
		return nil, err
	}
	if err := c.NC.FlushWithContext(ctx); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := c.NC.LastError(); errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
		return nil, err
	}
	answer, err := sub.next(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: no answer on %s: %v", ErrUnavailable, subject, err)
	}
	if len(answer.Data) == 0 && answer.Header.Get("Status") == "503" {
		return nil, fmt.Errorf("%w: nothing serves %s (is the kernel running?)", ErrUnavailable, subject)
	}
	if code := answer.Header.Get("Nats-Service-Error-Code"); code != "" {
		text := answer.Header.Get("Nats-Service-Error")
		return nil, &apiErr{code: code, text: text, defaultPolicy: answer.Header.Get(bus.HeaderDefaultPolicy), err: apiError(code, text)}
	}
	return answer.Data, nil
}

// apiErr is an error the task API answered, with its code for callers
// that read codes their own way (schedules).
type apiErr struct {
	code, text string
	// defaultPolicy is the pool's default profile named with the
	// refusal of a task that named none (bus.HeaderDefaultPolicy).
	defaultPolicy string
	err           error
}

func (e *apiErr) Error() string { return e.err.Error() }
func (e *apiErr) Unwrap() error { return e.err }

// apiError turns a micro error back into the client's sentinel errors.
func apiError(code, text string) error {
	switch code {
	case "400", "413":
		return wrapText(bus.ErrInvalidTask, text)
	case "403":
		return wrapText(ErrForbidden, text)
	case "404":
		return wrapText(ErrNotFound, text)
	case "409":
		if strings.HasPrefix(text, ErrIDTaken.Error()) {
			return wrapText(ErrIDTaken, text)
		}
		return wrapText(ErrFinished, text)
	case "429":
		if quotaText(text) {
			return wrapText(ErrQuota, text)
		}
		return wrapText(ErrQueueFull, text)
	case "507":
		return wrapText(ErrStoreFull, text)
	}
	return wrapText(ErrUnavailable, text)
}

// wrapText wraps sentinel around the kernel's message, which may already
// start with the sentinel's own text.
func wrapText(sentinel error, text string) error {
	if rest, ok := strings.CutPrefix(text, sentinel.Error()); ok {
		return fmt.Errorf("%w%s", sentinel, rest)
	}
	return fmt.Errorf("%w: %s", sentinel, text)
}
