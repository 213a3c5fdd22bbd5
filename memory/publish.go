package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// idRE is the shape of a memory id (bus.MemoryID).
var idRE = regexp.MustCompile(`^[0-9a-f]{20}$`)

// Publisher writes to the AMF_MEMORY stream: what was learned, what
// failed, what to forget. Every worker applies it to its own index.
type Publisher struct {
	JS    jetstream.JetStream
	Names bus.Names
	// Credential is the id of the connection's credential
	// (kernel.CredentialID), the last token of the subject successes are
	// published on; empty reads it from the connection's inbox prefix,
	// which every credentialed connection sets (kernel.CredsOptions).
	Credential string
}

// credentialInboxBase starts the inbox prefix of a credentialed
// connection, followed by its credential id (kernel.InboxPrefix).
const credentialInboxBase = "_INBOX_"

// credential is the id successes are published under: a worker's
// credential may publish on amf.memory.learned.<its id> only.
func (p Publisher) credential() string {
	if p.Credential != "" || p.JS == nil || p.JS.Conn() == nil {
		return p.Credential
	}
	id, ok := strings.CutPrefix(p.JS.Conn().Opts.InboxPrefix, credentialInboxBase)
	if !ok || !bus.ValidToken(id) {
		return "" // no credential of its own: the bare subject
	}
	return id
}

// Learn publishes one success and returns the memory's id. Learning the
// same instruction and command again adds a success to the same memory;
// it counts towards blind reuse once per credential that reported one.
// The message id is the memory plus the task (or time) that taught it, so
// a publish retried after a lost acknowledgement counts once, and the
// stream's duplicate answer is a success, not an error.
func (p Publisher) Learn(ctx context.Context, rec bus.Learned) (string, error) {
	return p.learnOn(ctx, p.Names.LearnedBy(p.credential()), rec)
}

// learnOn is Learn on subject.
func (p Publisher) learnOn(ctx context.Context, subject string, rec bus.Learned) (string, error) {
	if err := rec.Normalize(); err != nil {
		return "", fmt.Errorf("learn: %w", err)
	}
	occurrence := rec.TaskID
	if occurrence == "" {
		occurrence = strconv.FormatInt(rec.TS.UnixNano(), 36)
	}
	if err := p.publish(ctx, subject, "learn-"+rec.ID+"-"+occurrence, rec); err != nil {
		return "", fmt.Errorf("learn: %w", err)
	}
	return rec.ID, nil
}

// ReportFailure lowers a memory's confidence on every worker; a memory
// that failed is no longer reused without asking the model.
func (p Publisher) ReportFailure(ctx context.Context, f bus.MemoryFailure) error {
	if !idRE.MatchString(f.ID) {
		return fmt.Errorf("report failure: %w: %q is not a memory id", ErrUnknownMemory, f.ID)
	}
	if f.TS.IsZero() {
		f.TS = time.Now().UTC()
	}
	msgID := "fail-" + f.ID + "-" + f.TaskID
	if f.TaskID == "" {
		msgID = ""
	}
	if err := p.publish(ctx, p.Names.MemoryFailed(), msgID, f); err != nil {
		return fmt.Errorf("report failure: %w", err)
	}
	return nil
}

// Forget publishes a tombstone: every worker drops the memory.
func (p Publisher) Forget(ctx context.Context, id, by string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("forget: %w: %q is not a memory id", ErrUnknownMemory, id)
	}
	if err := p.publish(ctx, p.Names.MemoryForgotten(), "", bus.Forgotten{ID: id, By: by, TS: time.Now().UTC()}); err != nil {
		return fmt.Errorf("forget: %w", err)
	}
	return nil
}

// Confirm publishes a user's confirmation: every worker may then reuse
// the memory's command blindly, without waiting for a second worker
// credential to see it work. Only admin and bridge credentials may.
// It returns the stream sequence, so the caller can wait for an index to
// apply it. Confirming twice is harmless.
func (p Publisher) Confirm(ctx context.Context, id, by string) (uint64, error) {
	if !idRE.MatchString(id) {
		return 0, fmt.Errorf("confirm: %w: %q is not a memory id", ErrUnknownMemory, id)
	}
	data, err := json.Marshal(bus.MemoryConfirmed{ID: id, By: by, TS: time.Now().UTC()})
	if err != nil {
		return 0, fmt.Errorf("confirm: %w", err)
	}
	if p.JS == nil {
		return 0, fmt.Errorf("confirm: no JetStream context")
	}
	ack, err := p.JS.Publish(ctx, p.Names.MemoryConfirmed(), data)
	if err != nil {
		return 0, fmt.Errorf("confirm: publish %s: %w", p.Names.MemoryConfirmed(), denied(p.JS, p.Names.MemoryConfirmed(), err))
	}
	return ack.Sequence, nil
}

func (p Publisher) publish(ctx context.Context, subject, msgID string, v any) error {
	if p.JS == nil {
		return fmt.Errorf("publish %s: no JetStream context", subject)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	if msgID != "" {
		msg.Header.Set(bus.HeaderMsgID, msgID)
	}
	if _, err := p.JS.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish %s: %w", subject, denied(p.JS, subject, err))
	}
	return nil
}

// denied names the cause of a publish that got no acknowledgement when
// nats-server refused the subject: the credential lacks the permission
// (a worker's may not confirm or forget, nor learn as another credential).
func denied(js jetstream.JetStream, subject string, err error) error {
	if nc := js.Conn(); nc != nil {
		if last := nc.LastError(); errors.Is(last, nats.ErrPermissionViolation) && strings.Contains(last.Error(), `"`+subject+`"`) {
			return fmt.Errorf("%w: this credential may not publish on %s (confirming and forgetting memories need an admin credential)", last, subject)
		}
	}
	return err
}
