package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// DefaultOwnerBytes is how many bytes of the schedules store one owner's
// schedules may take unless the kernel is told otherwise: an eighth of
// bus.SchedulesMaxBytes, and room for one schedule of MaxScheduleBytes
// with the runs it keeps.
const DefaultOwnerBytes = 32 << 20

// QuotaScheduleBytesSetting is the setting that raises OwnerBytes, named
// in refusals.
const QuotaScheduleBytesSetting = "--quota-schedule-mib, AMF_QUOTA_SCHEDULE_MIB"

// MaxScheduleBytes bounds one schedule as stored. A task body is at most
// bus.MaxTaskBytes when it is decoded, but its stored encoding may be
// larger (JSON escapes '<', '>', '&' and control characters in 6 bytes),
// and every run copies it: without this bound one body of 1 MiB could
// store 6 MiB a run.
const MaxScheduleBytes = bus.MaxTaskBytes + 64<<10

// msgOverhead is what the store takes for a message besides its subject,
// headers and body, with room for the headers JetStream adds to a run
// (the scheduler, the next run's time, its TTL).
const msgOverhead = 256

// footprint is what a schedule stored as m (or read back as such) may
// take of the schedules store: its definition, and a copy of it for each
// run the stream keeps on the schedule's run subject (JetStream copies
// the definition's body into every run; runs are kept for
// bus.ScheduleRunTTL, at most MaxMsgsPerSubject of them).
func (s *Store) footprint(subject string, h nats.Header, data []byte) int64 {
	size := int64(msgOverhead + len(subject) + len(data))
	for k, vs := range h {
		for _, v := range vs {
			size += int64(len(k) + len(v) + 4) // "k: v\r\n"
		}
	}
	runs := int64(s.Names.SchedulesStreamConfig().MaxMsgsPerSubject)
	return size * (1 + runs)
}

// checkSize refuses a schedule whose stored form is past MaxScheduleBytes.
func checkSize(sc bus.Schedule, m *nats.Msg) error {
	if n := len(m.Data); n > MaxScheduleBytes {
		return fmt.Errorf("%w: schedule %s is %d bytes stored, the limit is %d: shorten its command, instruction or env (each '<', '>', '&' or control character takes 6 bytes stored)",
			bus.ErrTooLarge, sc.ID, n, MaxScheduleBytes)
	}
	return nil
}

// held is what the store keeps for one maker and one owner, counted from
// the store itself so deletes, other kernels and restarts are seen.
type held struct {
	kept       int   // schedules made by the maker or owned by the owner
	ownerBytes int64 // the owner's schedules' footprints
}

// heldBy reads every schedule's definition and counts those of maker and
// owner.
func (s *Store) heldBy(ctx context.Context, maker string, owner bus.Owner) (held, error) {
	var h held
	st, err := s.JS.Stream(ctx, s.Names.SchedulesStream())
	if err != nil {
		return h, fmt.Errorf("%w: schedules stream: %v", client.ErrUnavailable, err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(s.Names.ScheduleDefs()))
	if err != nil {
		return h, fmt.Errorf("%w: count schedules: %v", client.ErrUnavailable, err)
	}
	for subj := range info.State.Subjects {
		raw, err := st.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return h, fmt.Errorf("%w: read schedule %s: %v", client.ErrUnavailable, strings.TrimPrefix(subj, s.Names.ScheduleDef("")), err)
		}
		var sc struct {
			Maker string
			Task  struct{ Owner bus.Owner }
		}
		if json.Unmarshal(raw.Data, &sc) != nil {
			continue // not a schedule: the runner reports it
		}
		if (maker != "" && sc.Maker == maker) || (owner != "" && sc.Task.Owner == owner) {
			h.kept++
		}
		if owner != "" && sc.Task.Owner == owner {
			h.ownerBytes += s.footprint(raw.Subject, raw.Header, raw.Data)
		}
	}
	return h, nil
}

// perMaker is the bound of schedules one maker or owner keeps: PerMaker,
// else $AMF_SCHEDULES_PER_MAKER, else DefaultPerMaker; < 0 none.
func (s *Store) perMaker() int {
	if s.PerMaker != 0 {
		return s.PerMaker
	}
	if n, err := strconv.Atoi(os.Getenv(PerMakerEnv)); err == nil && n != 0 {
		return n
	}
	return DefaultPerMaker
}

// ownerBytes is the bound of an owner's schedules' footprints: OwnerBytes,
// else DefaultOwnerBytes; < 0 none.
func (s *Store) ownerBytes() int64 {
	if s.OwnerBytes != 0 {
		return s.OwnerBytes
	}
	return DefaultOwnerBytes
}

// checkMaker refuses a schedule of footprint size past PerMaker for its
// maker or its owner (a bridge makes its tokens' schedules under no maker
// key: the owner counts them), or past OwnerBytes for its owner. Makes
// racing each other may pass it together: the bounds are exceeded by at
// most how many requests one owner has in flight.
func (s *Store) checkMaker(ctx context.Context, maker string, owner bus.Owner, size int64) error {
	limit, bytes := s.perMaker(), s.ownerBytes()
	if (maker == "" && owner == "") || (limit < 0 && (owner == "" || bytes < 0)) {
		return nil
	}
	h, err := s.heldBy(ctx, maker, owner)
	if err != nil {
		return err
	}
	if n := h.kept; limit >= 0 && n >= limit {
		who := "owner " + string(owner)
		if maker != "" {
			who = "credential " + maker
		}
		return fmt.Errorf("%w: %s keeps %d schedules, the most one owner may: delete some (amf schedule ls, amf schedule rm), or have the kernel allow more (--quota-schedules, AMF_SCHEDULES_PER_MAKER)", client.ErrSchedulesFull, who, n)
	}
	if owner != "" && bytes >= 0 && h.ownerBytes+size > bytes {
		return &client.QuotaError{Owner: owner, Limit: client.LimitScheduleBytes, Held: h.ownerBytes, Max: bytes, Setting: QuotaScheduleBytesSetting}
	}
	return nil
}
