package bus

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	// Time zones of schedules are checked here and by the embedded
	// nats-server: both read the zone database built in, so a host
	// without tzdata schedules the same.
	_ "time/tzdata"
)

// Schedules make a task recur. JetStream's message scheduler (nats-server
// 2.12+, stream option allow_msg_schedules) does the timing: the
// schedule is one message on amf.schedules.def.<id> carrying a
// Nats-Schedule header, and the server publishes a copy of it on
// amf.schedules.run.<id> each time it is due. The kernel turns each copy
// into a task of its own (see kernel/schedule).

// Limits of a schedule.
const (
	// MinScheduleInterval is the shortest "every" a schedule may ask for,
	// the same floor as JetStream's own scheduler: a faster loop is not
	// a schedule.
	MinScheduleInterval = time.Second
	// MaxScheduleInterval is the longest "every": JetStream's scheduler
	// keeps the next run in nanoseconds since 1970, and one past 2262
	// wraps into the past and runs at once, again and again. Rarer
	// runs are a cron expression (@yearly).
	MaxScheduleInterval = 366 * 24 * time.Hour
	// MaxScheduleIDLen leaves room in a task id (128) for a run's time
	// and tag: "-20261127T094500Z-" and 16 hex digits.
	MaxScheduleIDLen = 94
)

// Schedule is one recurring task as the kernel keeps it: the last message
// on its schedule subject.
type Schedule struct {
	// ID names the schedule; each run's task id starts with it.
	ID string `json:"id"`
	// Spec is the schedule as the user wrote it ("every 5m", "*/5 * * * *").
	Spec string `json:"schedule"`
	// Pattern is what JetStream's scheduler runs (Nats-Schedule header),
	// in TimeZone when set (Nats-Schedule-Time-Zone), else UTC.
	Pattern  string `json:"pattern"`
	TimeZone string `json:"time_zone,omitempty"`
	// Task is what each run does; its id and schedule fields are unset.
	Task Task `json:"task"`
	// Paused schedules keep their definition but do not run.
	Paused bool `json:"paused,omitempty"`
	// PausedWhy says why the kernel paused it (its maker was revoked);
	// empty when someone paused it.
	PausedWhy string `json:"paused_why,omitempty"`
	// Maker is the user public key of the credential that made it, from
	// the subject nats-server let that credential publish on (see
	// Names.ScheduleCreate); empty for one an admin made without a key.
	Maker string `json:"maker,omitempty"`
	// RunKey keys its runs' ids (RunID): only kernels read it, so no
	// client can know a run's id before the run exists. Never shown.
	RunKey []byte `json:"run_key,omitempty"`
	// Created and Updated are when it was made and last paused or resumed.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated,omitzero"`
	// LastRun is the task id of the newest run still kept, and Next when
	// JetStream runs it next; both are filled when read, never stored.
	LastRun string    `json:"last_run,omitempty"`
	Next    time.Time `json:"next,omitzero"`
	// LastError says why the kernel last refused one of its runs (its
	// owner's task quota was full), and LastErrorAt when; filled when
	// read, never stored. The schedule runs on: the next run is admitted
	// once its owner holds less.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// RunID is the readable start of the task id of a run of schedule id
// due at t: the schedule and the time. Anyone can compute it, so it is
// never a run's whole id (see Schedule.RunID).
func RunID(scheduleID string, t time.Time) string {
	return scheduleID + "-" + t.UTC().Round(time.Second).Format("20060102T150405Z")
}

// runTagLen is how many hex digits of the keyed hash end a run's id: 64
// bits, past guessing one submission at a time.
const runTagLen = 16

// maxTaskIDLen is the longest task id (tokenRE).
const maxTaskIDLen = 128

// RunID is the task id of the run due at t: RunID(s.ID, t) and an HMAC
// of it under s.RunKey, which only kernels read. Every kernel computes
// the same id (the same run published twice is one task), and a client
// cannot claim a run's id before the run (a task of its own under that
// id would pass for the run and the run be dropped as a duplicate).
func (s Schedule) RunID(t time.Time) string {
	base := RunID(s.ID, t)
	if len(s.RunKey) == 0 {
		return base
	}
	mac := hmac.New(sha256.New, s.RunKey)
	mac.Write([]byte(base))
	n := min(runTagLen, maxTaskIDLen-len(base)-1)
	// A schedule made when ids could be longer gets a shorter tag.
	return base + "-" + hex.EncodeToString(mac.Sum(nil))[:n]
}

// Shown is s as answered to a client: task env values redacted, its run
// key left out.
func (s Schedule) Shown() Schedule {
	s.Task = s.Task.Redacted()
	s.RunKey = nil
	return s
}

// ParseSchedule checks a task's "schedule" and returns the pattern
// JetStream's scheduler takes and the time zone its cron runs in ("" is
// UTC). Accepted forms:
//
//	every <duration>        "every 5m", "every 90s" (at least 1s)
//	<cron, 5 fields>        "*/5 * * * *": minute hour day-of-month month day-of-week
//	@hourly @daily @weekly @monthly @yearly
//	TZ=<zone> <cron>        "TZ=Europe/Paris 0 9 * * mon-fri": cron in that zone
//
// JetStream's cron has a seconds field first; the five-field form people
// know is given one ("0 " + spec), so runs start on a whole minute.
func ParseSchedule(spec string) (pattern, zone string, err error) {
	s := strings.Join(strings.Fields(spec), " ")
	if rest, ok := strings.CutPrefix(s, "TZ="); ok {
		zone, s, _ = strings.Cut(rest, " ")
		if _, err := time.LoadLocation(zone); err != nil || zone == "" || zone == "Local" {
			return "", "", fmt.Errorf("%w: schedule %q: %q is not a time zone; name one from the tz database, such as Europe/Paris or America/New_York", ErrInvalidTask, spec, zone)
		}
		if strings.HasPrefix(s, "every") || strings.HasPrefix(s, "@every") {
			return "", "", fmt.Errorf("%w: schedule %q: a time zone goes with a cron expression; \"every\" counts from when the schedule is made", ErrInvalidTask, spec)
		}
	}
	pattern, err = parsePattern(spec, s)
	if err != nil {
		return "", "", err
	}
	return pattern, zone, nil
}

func parsePattern(spec, s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: schedule is empty: write \"every 5m\" or a cron expression such as \"*/5 * * * *\"", ErrInvalidTask)
	}
	if rest, ok := strings.CutPrefix(s, "every "); ok {
		return parseEvery(spec, rest)
	}
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		return parseEvery(spec, rest)
	}
	switch s {
	case "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually":
		return s, nil
	}
	if strings.HasPrefix(s, "@") || strings.HasPrefix(s, "every") {
		return "", fmt.Errorf("%w: schedule %q is not known: write \"every <duration>\" (\"every 5m\"), a 5-field cron expression, or one of @hourly, @daily, @weekly, @monthly, @yearly", ErrInvalidTask, spec)
	}
	fields := strings.Fields(s)
	if len(fields) != len(cronFields) {
		return "", fmt.Errorf("%w: cron expression %q has %d fields; it takes 5: minute hour day-of-month month day-of-week (\"*/5 * * * *\" is every five minutes)", ErrInvalidTask, spec, len(fields))
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return "", fmt.Errorf("%w: cron expression %q: %s field %q: %v", ErrInvalidTask, spec, cronFields[i].name, f, err)
		}
	}
	return "0 " + s, nil
}

func parseEvery(spec, d string) (string, error) {
	v, err := time.ParseDuration(d)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: schedule %q: %q is not a duration; write one like \"30s\", \"5m\" or \"1h30m\"", ErrInvalidTask, spec, d)
	case v < MinScheduleInterval:
		return "", fmt.Errorf("%w: schedule %q: the interval must be at least %s", ErrInvalidTask, spec, MinScheduleInterval)
	case v > MaxScheduleInterval:
		return "", fmt.Errorf("%w: schedule %q: the interval may be at most 366 days; for rarer runs write a cron expression such as @yearly", ErrInvalidTask, spec)
	}
	return "@every " + v.String(), nil
}

// cronField is one field of a five-field cron expression.
type cronField struct {
	name     string
	min, max int
	names    []string // names for min, min+1, … (months, weekdays)
}

var cronFields = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day-of-week", min: 0, max: 6, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// check accepts what JetStream's cron reads: lists of "*", "?", a value
// or a range a-b, each with an optional "/step".
func (c cronField) check(f string) error {
	for part := range strings.SplitSeq(f, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 {
				return fmt.Errorf("step %q must be a whole number of at least 1", step)
			}
		}
		if rng == "*" || rng == "?" {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := c.value(lo)
		if err != nil {
			return err
		}
		b := a
		if isRange {
			if b, err = c.value(hi); err != nil {
				return err
			}
		}
		if b < a {
			return fmt.Errorf("range %q runs backwards", rng)
		}
	}
	return nil
}

func (c cronField) value(s string) (int, error) {
	for i, n := range c.names {
		if strings.EqualFold(s, n) {
			return c.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < c.min || v > c.max {
		return 0, fmt.Errorf("%q is not a value from %d to %d", s, c.min, c.max)
	}
	return v, nil
}

// checkSchedule validates the schedule fields of a task being normalized.
func (t *Task) checkSchedule() error {
	switch {
	case t.ScheduleID != "" && t.Schedule != "":
		return fmt.Errorf("%w: a run of schedule %q cannot itself have a schedule", ErrInvalidTask, t.ScheduleID)
	case t.ScheduleID != "" && !tokenRE.MatchString(t.ScheduleID):
		return fmt.Errorf("%w: schedule_id %q is not a schedule id", ErrInvalidTask, t.ScheduleID)
	case t.Schedule == "":
		return nil
	case len(t.ID) > MaxScheduleIDLen:
		return fmt.Errorf("%w: a schedule's id may be at most %d characters (its runs add a time to it)", ErrInvalidTask, MaxScheduleIDLen)
	}
	_, _, err := ParseSchedule(t.Schedule)
	return err
}

// ErrRunByKernel is why a task naming a schedule_id is refused from
// anyone but the kernel's schedule runner, which queues runs itself.
func (n Names) ErrRunByKernel(scheduleID string) error {
	return fmt.Errorf("%w: schedule_id %q: only the kernel sets schedule_id, on the runs it makes of a schedule; leave it out to submit a task of your own", ErrInvalidTask, scheduleID)
}

// ErrScheduled is why a task with a schedule is neither submitted nor
// run from a pool's queue: a schedule is made on its own API subject,
// which nats-server allows only to those who may make schedules.
func (n Names) ErrScheduled() error {
	return fmt.Errorf("%w: a task with a \"schedule\" is a schedule: create it on %s (POST /v1/schedules, `amf schedule add`), not as a task", ErrInvalidTask, n.ScheduleAPI("create"))
}
