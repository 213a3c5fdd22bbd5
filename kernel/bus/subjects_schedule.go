package bus

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SchedulesStream holds every schedule and the runs JetStream publishes
// for them: AMF_SCHEDULES.
func (n Names) SchedulesStream() string { return n.upper() + "_SCHEDULES" }

// ScheduleDef is where schedule id is kept, its last message with a
// Nats-Schedule header while active: amf.schedules.def.<id>.
func (n Names) ScheduleDef(id string) string { return n.p() + ".schedules.def." + id }

// ScheduleDefs matches every schedule: amf.schedules.def.*.
func (n Names) ScheduleDefs() string { return n.p() + ".schedules.def.*" }

// ScheduleRun is where JetStream publishes each run of schedule id
// (the Nats-Schedule-Target): amf.schedules.run.<id>.
func (n Names) ScheduleRun(id string) string { return n.p() + ".schedules.run." + id }

// ScheduleRuns matches every run: amf.schedules.run.*.
func (n Names) ScheduleRuns() string { return n.p() + ".schedules.run.*" }

// ScheduleRefused is where the kernel records the last run of schedule
// id it refused (its owner's quota was full), its newest message only:
// amf.schedules.refused.<id>.
func (n Names) ScheduleRefused(id string) string { return n.p() + ".schedules.refused." + id }

// ScheduleRunner is the durable consumer the kernels share to turn runs
// into tasks: each run is taken by one kernel.
func (n Names) ScheduleRunner() string { return "schedule-runner" }

// ScheduleAPI is the task API subject of one schedule operation:
// amf.api.schedules.<op> (create, list, get, pause, resume, delete).
func (n Names) ScheduleAPI(op string) string { return n.API() + ".schedules." + op }

// ScheduleCreate is where the credential whose user public key is maker
// makes a schedule whose task asks for policy:
// amf.api.schedules.create.<maker>, or .<maker>.<policy> for a granted
// profile. nats-server lets a credential publish only under its own key
// and its grants, so the subject tells the kernel who made the schedule
// (to cap and to pause on revocation) and that it may run policy. An
// empty maker is amf.api.schedules.create[.<policy>], an admin's.
func (n Names) ScheduleCreate(maker, policy string) string {
	if maker == "" {
		return n.scheduleGranted("create", policy)
	}
	s := n.ScheduleAPI("create") + "." + maker
	if policy == "" || policy == BasePolicy {
		return s
	}
	return s + "." + policy
}

// ScheduleResume is where a paused schedule whose task asks for policy is
// resumed: amf.api.schedules.resume[.<policy>]. Resuming starts runs, so
// it needs the same grant as making the schedule.
func (n Names) ScheduleResume(policy string) string { return n.scheduleGranted("resume", policy) }

func (n Names) scheduleGranted(op, policy string) string {
	if policy == "" || policy == BasePolicy {
		return n.ScheduleAPI(op)
	}
	return n.ScheduleAPI(op) + "." + policy
}

// SchedulesMaxBytes bounds what the schedules stream holds before new
// schedules are refused. The stream cannot refuse by itself (JetStream's
// scheduler requires discard-old, which would delete schedules), so the
// store checks it before making one.
const SchedulesMaxBytes = 256 << 20

// ScheduleRunTTL is how long a run JetStream published waits for the
// kernel to take it; a run older than that is dropped, not run late.
const ScheduleRunTTL = time.Hour

// SchedulesStreamConfig is the stream of schedules and their runs. Each
// schedule subject keeps only its newest message (JetStream rolls a
// schedule message up on its subject); each run expires after
// ScheduleRunTTL once published (Nats-Schedule-TTL).
func (n Names) SchedulesStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              n.SchedulesStream(),
		Description:       "AMF-OS schedules (JetStream message schedules) and their runs",
		Subjects:          []string{n.p() + ".schedules.def.*", n.p() + ".schedules.run.*", n.p() + ".schedules.refused.*"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		MaxMsgSize:        TaskMsgMaxBytes,
		AllowMsgSchedules: true,
		AllowMsgTTL:       true,
		AllowRollup:       true,
		Discard:           jetstream.DiscardOld,
		// A run kept past its TTL is not needed; a schedule subject
		// holds only its newest message.
		MaxMsgsPerSubject: 16,
	}
}
