// Package schedule keeps recurring tasks. Timing is JetStream's: each
// schedule is a message with a Nats-Schedule header on
// amf.schedules.def.<id> in the AMF_SCHEDULES stream, and the server
// publishes a copy on amf.schedules.run.<id> whenever it is due, across
// restarts, on whichever kernel leads the stream. The Store makes, lists,
// pauses, resumes and deletes schedules; the Runner turns each published
// run into a task of its own through the same Submit as any other task.
package schedule

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// Header names of JetStream's message schedules (ADR-51).
const (
	headerSchedule  = "Nats-Schedule"
	headerTarget    = "Nats-Schedule-Target"
	headerRunTTL    = "Nats-Schedule-TTL"
	headerTimeZone  = "Nats-Schedule-Time-Zone"
	headerScheduler = "Nats-Scheduler"
	headerNext      = "Nats-Schedule-Next"
	headerRollup    = "Nats-Rollup"
)

// Store keeps schedules in the AMF_SCHEDULES stream. It needs a
// connection that may write there: the kernel's own.
type Store struct {
	JS    jetstream.JetStream
	Names bus.Names
	// MaxBytes bounds the stream before new schedules are refused
	// (default bus.SchedulesMaxBytes).
	MaxBytes int64
	// PerMaker bounds the schedules one credential may keep (zero:
	// $AMF_SCHEDULES_PER_MAKER, else DefaultPerMaker; negative: no
	// bound), so a stolen credential cannot fill the stream.
	PerMaker int
	// OwnerBytes bounds the bytes of the schedules store one owner's
	// schedules may take, each counted with the runs it keeps (zero:
	// DefaultOwnerBytes; negative: no bound), so one owner cannot fill
	// the store for everyone.
	OwnerBytes int64
}

// DefaultPerMaker is how many schedules one credential may keep unless
// the kernel is told otherwise (PerMakerEnv).
const DefaultPerMaker = 100

// PerMakerEnv names the variable that sets a kernel's PerMaker.
const PerMakerEnv = "AMF_SCHEDULES_PER_MAKER"

var _ api.MakerScheduleStore = (*Store)(nil)

// editTries bounds how often a pause or resume re-reads a schedule that
// another writer changed meanwhile.
const editTries = 10

// Create makes a schedule of t, a normalized task with a Schedule; t's
// id is the schedule's. An id in use is ErrScheduleExists. It records no
// maker: the task API calls CreateBy.
func (s *Store) Create(ctx context.Context, t bus.Task) (bus.Schedule, error) {
	return s.CreateBy(ctx, t, "")
}

// CreateBy makes a schedule as Create does, made by the credential whose
// user public key is maker: at most PerMaker of them are kept, and the
// runner pauses them once that credential is revoked.
func (s *Store) CreateBy(ctx context.Context, t bus.Task, maker string) (bus.Schedule, error) {
	if t.ScheduleID != "" {
		return bus.Schedule{}, s.Names.ErrRunByKernel(t.ScheduleID)
	}
	if err := t.Normalize(); err != nil {
		return bus.Schedule{}, err
	}
	if t.Schedule == "" {
		return bus.Schedule{}, fmt.Errorf("%w: the task has no \"schedule\"", bus.ErrInvalidTask)
	}
	pattern, zone, err := bus.ParseSchedule(t.Schedule)
	if err != nil {
		return bus.Schedule{}, err
	}
	tmpl := t
	tmpl.ID, tmpl.Schedule, tmpl.Submitted = "", "", time.Time{}
	now := time.Now().UTC()
	sc := bus.Schedule{ID: t.ID, Spec: t.Schedule, Pattern: pattern, TimeZone: zone, Task: tmpl, Created: now,
		Maker: maker, RunKey: newRunKey()}
	m := s.msg(sc)
	if err := checkSize(sc, m); err != nil {
		return bus.Schedule{}, err
	}
	if err := s.checkRoom(ctx); err != nil {
		return bus.Schedule{}, err
	}
	if err := s.checkMaker(ctx, maker, t.Owner, s.footprint(m.Subject, m.Header, m.Data)); err != nil {
		return bus.Schedule{}, err
	}
	// Claims the id: stored only while the schedule's subject is empty.
	_, err = s.JS.PublishMsg(ctx, m, bus.Fenced(0))
	switch {
	case bus.IsFenceConflict(err):
		return bus.Schedule{}, fmt.Errorf("%w: %s: delete it first, or give the new one another \"id\"", client.ErrScheduleExists, t.ID)
	case err != nil:
		return bus.Schedule{}, publishError(sc, err)
	}
	return sc.Shown(), nil
}

// newRunKey is a schedule's run key: 32 random bytes.
func newRunKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}

// checkRoom refuses a new schedule once the stream holds MaxBytes (zero:
// bus.SchedulesMaxBytes).
func (s *Store) checkRoom(ctx context.Context) error {
	limit := s.MaxBytes
	if limit <= 0 {
		limit = bus.SchedulesMaxBytes
	}
	st, err := s.JS.Stream(ctx, s.Names.SchedulesStream())
	if err != nil {
		return fmt.Errorf("%w: schedules stream: %v", client.ErrUnavailable, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("%w: schedules stream: %v", client.ErrUnavailable, err)
	}
	if int64(info.State.Bytes) >= limit {
		return fmt.Errorf("%w: the schedules hold %d bytes, the limit is %d: delete schedules no longer needed (amf schedule ls, amf schedule rm)", client.ErrSchedulesFull, info.State.Bytes, limit)
	}
	return nil
}

// msg is the stored form of sc: with JetStream's schedule headers while
// it is active, without them (and rolling up the active one) when paused.
func (s *Store) msg(sc bus.Schedule) *nats.Msg {
	// What is read from elsewhere when the schedule is read is not kept.
	sc.LastRun, sc.Next, sc.LastError, sc.LastErrorAt = "", time.Time{}, "", time.Time{}
	data, err := json.Marshal(sc)
	if err != nil {
		panic("schedule: encode: " + err.Error()) // plain fields: cannot fail
	}
	m := &nats.Msg{Subject: s.Names.ScheduleDef(sc.ID), Data: data, Header: nats.Header{}}
	if sc.Paused {
		m.Header.Set(headerRollup, "sub")
		return m
	}
	m.Header.Set(headerSchedule, sc.Pattern)
	m.Header.Set(headerTarget, s.Names.ScheduleRun(sc.ID))
	m.Header.Set(headerRunTTL, bus.ScheduleRunTTL.String())
	if sc.TimeZone != "" {
		m.Header.Set(headerTimeZone, sc.TimeZone)
	}
	return m
}

// publishError explains a schedule JetStream refused.
func publishError(sc bus.Schedule, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 400 {
		// Our own parse accepted it, so this is a pattern JetStream's
		// cron finds no time for (such as the 31st of February).
		return fmt.Errorf("%w: schedule %q: JetStream's scheduler refused it (%s): check that it names a time that exists", bus.ErrInvalidTask, sc.Spec, apiErr.Description)
	}
	return fmt.Errorf("%w: store schedule %s: %v", client.ErrUnavailable, sc.ID, err)
}

// Get returns schedule id with its last run, if one is still kept.
func (s *Store) Get(ctx context.Context, id string) (bus.Schedule, error) {
	sc, _, err := s.get(ctx, id)
	return sc, err
}

func (s *Store) get(ctx context.Context, id string) (bus.Schedule, uint64, error) {
	if !bus.ValidToken(id) {
		return bus.Schedule{}, 0, fmt.Errorf("%w: %q is not a schedule id: letters, digits, '-' and '_' only", bus.ErrInvalidTask, id)
	}
	st, err := s.JS.Stream(ctx, s.Names.SchedulesStream())
	if err != nil {
		return bus.Schedule{}, 0, fmt.Errorf("%w: schedules stream: %v", client.ErrUnavailable, err)
	}
	raw, err := st.GetLastMsgForSubject(ctx, s.Names.ScheduleDef(id))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return bus.Schedule{}, 0, fmt.Errorf("%w: %s", client.ErrScheduleNotFound, id)
	}
	if err != nil {
		return bus.Schedule{}, 0, fmt.Errorf("%w: read schedule %s: %v", client.ErrUnavailable, id, err)
	}
	var sc bus.Schedule
	if err := json.Unmarshal(raw.Data, &sc); err != nil {
		return bus.Schedule{}, 0, fmt.Errorf("read schedule %s: %w", id, err)
	}
	if run, err := st.GetLastMsgForSubject(ctx, s.Names.ScheduleRun(id)); err == nil && run.Time.After(sc.Created) {
		sc.LastRun = sc.RunID(run.Time)
		if next, err := time.Parse(time.RFC3339Nano, run.Header.Get(headerNext)); err == nil && !sc.Paused {
			sc.Next = next
		}
	}
	if ref, err := st.GetLastMsgForSubject(ctx, s.Names.ScheduleRefused(id)); err == nil && ref.Time.After(sc.Created) {
		sc.LastError, sc.LastErrorAt = string(ref.Data), ref.Time.UTC()
	}
	return sc, raw.Sequence, nil
}

// List returns every schedule, ordered by id, task env values redacted.
func (s *Store) List(ctx context.Context) ([]bus.Schedule, error) {
	st, err := s.JS.Stream(ctx, s.Names.SchedulesStream())
	if err != nil {
		return nil, fmt.Errorf("%w: schedules stream: %v", client.ErrUnavailable, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(s.Names.ScheduleDefs()))
	if err != nil {
		return nil, fmt.Errorf("%w: list schedules: %v", client.ErrUnavailable, err)
	}
	prefix := s.Names.ScheduleDef("")
	ids := make([]string, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		ids = append(ids, strings.TrimPrefix(subj, prefix))
	}
	slices.Sort(ids)
	out := make([]bus.Schedule, 0, len(ids))
	for _, id := range ids {
		sc, err := s.Get(ctx, id)
		if errors.Is(err, client.ErrScheduleNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, sc.Shown())
	}
	return out, nil
}

// Pause stops a schedule's runs until Resume; pausing a paused schedule
// changes nothing.
func (s *Store) Pause(ctx context.Context, id string) (bus.Schedule, error) {
	return s.setPaused(ctx, id, true, "", nil)
}

// Resume starts a paused schedule's runs again, from now on: runs it
// missed while paused are not made up.
func (s *Store) Resume(ctx context.Context, id string) (bus.Schedule, error) {
	return s.ResumeIf(ctx, id, nil)
}

// ResumeIf resumes as Resume does when allow (nil: always) accepts the
// version of the schedule the resume is fenced on, so what was checked is
// what is resumed.
func (s *Store) ResumeIf(ctx context.Context, id string, allow func(bus.Schedule) error) (bus.Schedule, error) {
	return s.setPaused(ctx, id, false, "", allow)
}

// pauseFor pauses a schedule saying why, unless it changed meanwhile.
func (s *Store) pauseFor(ctx context.Context, id, why string) (bus.Schedule, error) {
	return s.setPaused(ctx, id, true, why, nil)
}

func (s *Store) setPaused(ctx context.Context, id string, paused bool, why string, allow func(bus.Schedule) error) (bus.Schedule, error) {
	for range editTries {
		sc, seq, err := s.get(ctx, id)
		if err != nil {
			return sc.Shown(), err
		}
		if allow != nil {
			if err := allow(sc); err != nil {
				return sc.Shown(), err
			}
		}
		if sc.Paused == paused {
			return sc.Shown(), nil
		}
		sc.Paused, sc.PausedWhy, sc.Updated = paused, why, time.Now().UTC()
		sc.LastRun, sc.Next = "", time.Time{}
		if len(sc.RunKey) == 0 {
			// Made before runs were keyed: its runs' ids are not
			// predictable from now on.
			sc.RunKey = newRunKey()
		}
		// Fenced on the version read: a concurrent delete or edit wins
		// and this one reads again.
		_, err = s.JS.PublishMsg(ctx, s.msg(sc), bus.Fenced(seq))
		if bus.IsFenceConflict(err) {
			continue
		}
		if err != nil {
			return sc.Shown(), publishError(sc, err)
		}
		return sc.Shown(), nil
	}
	return bus.Schedule{}, fmt.Errorf("%w: schedule %s keeps changing; try again", client.ErrUnavailable, id)
}

// Delete removes a schedule and its runs not yet taken: it never runs
// again.
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, _, err := s.get(ctx, id); err != nil {
		return err
	}
	st, err := s.JS.Stream(ctx, s.Names.SchedulesStream())
	if err != nil {
		return fmt.Errorf("%w: schedules stream: %v", client.ErrUnavailable, err)
	}
	for _, subj := range []string{s.Names.ScheduleDef(id), s.Names.ScheduleRun(id), s.Names.ScheduleRefused(id)} {
		if err := st.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return fmt.Errorf("%w: delete schedule %s: %v", client.ErrUnavailable, id, err)
		}
	}
	return nil
}

// noteRefused records why a run of schedule id was refused, in place of
// the refusal recorded before: one short message a schedule, read back
// as its LastError. One recorded for a schedule deleted meanwhile is not
// read by one made later under its id (it predates it).
func (s *Store) noteRefused(ctx context.Context, id, why string) error {
	m := &nats.Msg{Subject: s.Names.ScheduleRefused(id), Data: []byte(why), Header: nats.Header{}}
	m.Header.Set(headerRollup, "sub")
	if _, err := s.JS.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("record refused run of schedule %s: %w", id, err)
	}
	return nil
}
