package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// WorkerLister lists live workers (the hot cache, or the bridge's view
// of heartbeats).
type WorkerLister interface {
	Workers(ctx context.Context) ([]bus.WorkerInfo, error)
}

// Service is the request/reply API on NATS (service_owned.go says how
// every endpoint is also served per owner), discoverable with
// `nats micro ls`: <prefix>.api.submit takes a task and answers its id,
// <prefix>.api.status and <prefix>.api.cancel take an id (cancel also
// {"id":…,"reason":…}) and answer its status or the cancellation,
// <prefix>.api.workers answers the live workers, <prefix>.api.pools
// each pool's queue as HTTP's GET /v1/pools does ({"pools":[…]}), <prefix>.api.schedules.* schedules when Schedules
// is set.
type Service struct {
	Client  *client.Client
	Workers WorkerLister
	Version string
	// Schedules, when set, serves <prefix>.api.schedules.* (see
	// service_schedules.go).
	Schedules client.ScheduleStore
	// Recent, when set, answers <prefix>.api.list (the hot cache).
	Recent client.RecentSource
	// Quota bounds what one owner holds (quota.go).
	Quota Quota

	ledger     *ledger
	ledgerOnce sync.Once
	stopLedger context.CancelFunc // ends the ledger's recounts
	// ReadersPerOwner caps the event streams one owner holds open
	// (service_readers.go): 0 is bus.DefaultReadersPerOwner, < 0 none.
	ReadersPerOwner int
	// FollowersPerCredential caps the consumers one worker credential
	// holds on the memory stream (service_followers.go): 0 is
	// bus.DefaultFollowersPerCredential, < 0 none.
	FollowersPerCredential int
	// ReadersAheadFrom is how many subjects the events stream holds
	// before a streamed submission's reader is made ahead of the task's
	// record (client.ReadersAhead): 0 is client.DefaultReadersAheadFrom,
	// < 0 always.
	ReadersAheadFrom int
}

// Run serves requests until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	names := s.Client.Names
	defer s.Close()
	l := s.quota()
	// What owners held before this kernel started counts, read while the
	// service already answers; an owner's requests wait for it (awaitLoad).
	l.startLoad()
	loading := true
	defer func() {
		if loading { // Run failed before load started
			l.endLoad()
		}
	}()
	svc, err := micro.AddService(s.Client.NC, micro.Config{
		Name:        names.ServiceName(),
		Version:     orVersion(s.Version),
		Description: "AMF-OS task API: submit, status, workers, pools, schedules",
	})
	if err != nil {
		return fmt.Errorf("start micro service: %w", err)
	}
	g := svc.AddGroup(names.API())
	for name, h := range map[string]micro.HandlerFunc{
		"workers": s.workers(ctx),
		"pools":   s.pools(ctx),
	} {
		if err := g.AddEndpoint(name, published(h)); err != nil {
			_ = svc.Stop()
			return fmt.Errorf("add endpoint %s: %w", name, err)
		}
	}
	// amf.api.submit.<policy>: only credentials granted that profile may
	// publish here, so the subject is the grant.
	err = addOwned(g, []endpoint{
		{"submit", "submit", published(s.submit(ctx))},
		{"submit-granted", "submit.*", published(s.submit(ctx))},
		{"status", "status", published(s.status(ctx))},
		{"cancel", "cancel", published(s.cancel(ctx))},
		{"list", "list", published(s.list(ctx))},
	})
	if err != nil {
		_ = svc.Stop()
		return err
	}
	if err := s.addScheduleEndpoints(ctx, g); err != nil {
		_ = svc.Stop()
		return err
	}
	if err := s.addReaderEndpoints(ctx, g); err != nil {
		_ = svc.Stop()
		return err
	}
	if err := s.addFollowerEndpoints(ctx, g); err != nil {
		_ = svc.Stop()
		return err
	}
	l.wg.Add(1)
	loading = false
	go func() { defer l.wg.Done(); l.load(ctx, s.Recent) }()
	<-ctx.Done()
	return svc.Stop()
}

// published serves only requests their senders published, answered into
// an inbox: the subject of a submission is its grant, and a JetStream
// delivery pushed onto amf.api.submit.<policy> by a consumer proves no
// grant at all; an answer published anywhere but an inbox would be the
// kernel writing, with its rights, where the requester chose
// (bus.InboxReply). Every endpoint is served through it.
func published(h micro.HandlerFunc) micro.HandlerFunc {
	return func(r micro.Request) {
		if !bus.InboxReply(r.Reply()) || bus.JetStreamDelivery(r.Reply(), nats.Header(r.Headers())) {
			return
		}
		h(r)
	}
}

func (s *Service) submit(ctx context.Context) micro.HandlerFunc {
	names := s.Client.Names
	return func(r micro.Request) {
		a, op := s.asked(r.Subject())
		if err := s.ledger.refuse(a.Owner, int64(len(r.Data()))); err != nil {
			fail(r, err)
			return
		}
		// One decode applies the bus's id rule: the body's id, else the
		// request's Nats-Msg-Id header, else a new one.
		t, err := bus.DecodeTaskMsg(r.Data(), nats.Header(r.Headers()), 0)
		if err != nil {
			fail(r, err)
			return
		}
		if t.ScheduleID != "" {
			// A run's schedule_id is the kernel's to set: its runner
			// queues runs itself, never through this API.
			_ = r.Error("400", names.ErrRunByKernel(t.ScheduleID).Error(), nil)
			return
		}
		grant := strings.TrimPrefix(strings.TrimPrefix(op, "submit"), ".")
		// The owner is who asked (the subject), and the submission time
		// the kernel's clock, whatever the body says: the two tell one
		// submission under an id from another (an id is free again once
		// its events have aged out), to the quota, the revocations and
		// the workers.
		t.Owner, t.Submitted = a.Owner, time.Now().UTC()
		ctx := client.WithAccess(ctx, a)
		// The grant judged is the profile the task will run with.
		named := t.Policy != ""
		s.Client.ResolvePolicy(ctx, &t)
		grant = askersGrant(a, &t, grant)
		if !bus.PolicyAllowed(t.Policy, grant) {
			if err := s.Client.CheckProfile(ctx, t); err != nil {
				_ = r.Error("400", err.Error(), nil)
				return
			}
			subject := names.Submit(t.Policy)
			if a.Owner != "" {
				subject = names.SubmitAs(a.Owner, t.Policy)
			}
			refuseGrant(r, t.Policy, named, "submits", subject)
			return
		}
		// A stream asked for is checked before anything is submitted.
		deliver := r.Headers().Get(bus.HeaderDeliver)
		var reader client.Reader
		if deliver != "" {
			if reader, err = submitterReader(a, deliver, r.Headers().Get(bus.HeaderOperator) != ""); err != nil {
				fail(r, err)
				return
			}
		}
		// What the task costs the queue is its encoded size, which may
		// be far more than the request's (JSON escapes "<" as 6 bytes):
		// the request's length only spares a flood's decoding (refuse).
		size := int64(len(t.Encode()))
		serial, err := s.ledger.hold(a.Owner, t.ID, size)
		if err != nil {
			fail(r, err)
			return
		}
		id := t.ID
		var at client.Placed
		var ahead client.ReaderAhead
		t, dup, warning, err := s.Client.SubmitBefore(ctx, t, &at, func(t bus.Task) {
			if deliver != "" && s.Client.ReadersAhead(ctx, s.readersAheadFrom()) {
				ahead = s.Client.MakeReaderAhead(ctx, reader, bus.ReaderRequest{Task: t.ID, Deliver: deliver}, t, s.readersLimit())
			}
		})
		switch {
		case serial != 0 && (err != nil || dup):
			// Not queued by this request: not counted either.
			s.ledger.release(a.Owner, id, serial)
		case serial != 0:
			s.ledger.placed(a.Owner, id, serial, at.Queued, t.Submitted)
		case a.Owner != "" && err == nil && !dup:
			// A new submission under an id the owner holds (the earlier
			// one's events aged out while its body may still wait): both
			// count.
			s.ledger.again(a.Owner, id, size, at.Queued, t.Submitted)
		}
		if err != nil {
			s.Client.DropReaderAhead(ctx, ahead)
			fail(r, err)
			return
		}
		answer := client.Submitted{ID: t.ID, Pool: t.Pool, Duplicate: dup, Events: s.Client.Names.TaskEvents(t.ID), Warning: warning}
		if deliver != "" {
			answer.Consumer = s.submitterStream(ctx, reader, deliver, ahead, t, dup, at)
		}
		_ = r.RespondJSON(answer)
	}
}

func (s *Service) status(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		id := strings.TrimSpace(string(r.Data()))
		if strings.HasPrefix(id, "{") {
			var q struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(r.Data(), &q); err != nil {
				_ = r.Error("400", "send a task id, or {\"id\":\"…\"}", nil)
				return
			}
			id = q.ID
		}
		if !bus.ValidToken(id) {
			_ = r.Error("400", fmt.Sprintf("%q is not a task id", id), nil)
			return
		}
		a, _ := s.asked(r.Subject())
		st, err := s.Client.Status(client.WithAccess(ctx, a), id)
		if err != nil {
			fail(r, err)
			return
		}
		_ = r.RespondJSON(st)
	}
}

func (s *Service) cancel(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		// A bare id, as status takes, or {"id":…,"reason":…}.
		q := client.Cancellation{ID: strings.TrimSpace(string(r.Data()))}
		if strings.HasPrefix(q.ID, "{") {
			q = client.Cancellation{}
			if err := json.Unmarshal(r.Data(), &q); err != nil {
				_ = r.Error("400", `send a task id, or {"id":"<task id>","reason":"…"}`, nil)
				return
			}
		}
		if !bus.ValidToken(q.ID) {
			_ = r.Error("400", fmt.Sprintf(`%q is not a task id; send a task id, or {"id":"<task id>","reason":"…"}`, q.ID), nil)
			return
		}
		a, _ := s.asked(r.Subject())
		ended, err := s.Client.CancelEnded(client.WithAccess(ctx, a), q.ID, q.Reason)
		if err != nil {
			fail(r, err)
			return
		}
		if ended {
			s.ledger.cancelled(ctx, a.Owner, q.ID)
		}
		_ = r.RespondJSON(q)
	}
}

func (s *Service) workers(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		if s.Workers == nil {
			_ = r.RespondJSON([]bus.WorkerInfo{})
			return
		}
		ws, err := s.Workers.Workers(ctx)
		if err != nil {
			_ = r.Error("503", err.Error(), nil)
			return
		}
		_ = r.RespondJSON(ws)
	}
}

func orVersion(v string) string {
	if v == "" {
		return "0.1.0"
	}
	return v
}
