package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/schedule"
)

func init() {
	register(command{name: "kernel", summary: "run the NATS kernel (JetStream) and the task API service", run: runKernel})
}

// kernelFlags are the settings of the embedded kernel.
type kernelFlags struct {
	listen       string
	config       string
	name         string
	eventsMaxAge time.Duration
	tasksDups    time.Duration
	tasksMax     int
	readers      int
	followers    int
	eventsDups   time.Duration
	replicas     int
	sync         string
	authDir      string
	leafListen   string
	tls          tlsFlags
	// gcPercent is the process's GC percent (kernel.Server.GCPercent):
	// set where the kernel has the process to itself.
	gcPercent int
	// Per-owner quotas (kernel/api.Quota, schedules).
	quotaTasks, quotaTaskMiB, quotaSchedules, quotaScheduleMiB int
}

func (k *kernelFlags) bind(f flags) {
	f.str(&k.listen, "listen", "AMF_NATS_LISTEN", kernel.DefaultListen, "kernel's client address")
	f.str(&k.config, "config", "AMF_NATS_CONFIG", "", "nats-server configuration file (cluster routes, leafnodes, auth, TLS)")
	f.str(&k.name, "server-name", "AMF_SERVER_NAME", "", "this kernel's name in a cluster (default: hostname)")
	f.duration(&k.eventsMaxAge, "events-max-age", "AMF_EVENTS_MAX_AGE", 24*time.Hour, "how long task events are kept")
	f.str(&k.sync, "sync", "AMF_NATS_SYNC", kernel.SyncDefault, "when JetStream flushes to disk: default (every 2m; a host crash can lose what was acknowledged since), always (before every acknowledgement) or a duration")
	f.int(&k.tasksMax, "tasks-max-mib", "AMF_TASKS_MAX_MIB", bus.DefaultTasksMaxBytes>>20, "MiB of queued tasks the kernel holds; past it submissions are refused")
	f.int(&k.followers, "followers-per-credential", "AMF_FOLLOWERS_PER_CREDENTIAL", bus.DefaultFollowersPerCredential, "consumers on the memory stream one worker credential may hold at once (a worker follows through one; workers sharing a credential count together); past it opening another is refused")
	f.int(&k.readers, "readers-per-owner", "AMF_READERS_PER_OWNER", bus.DefaultReadersPerOwner, "event streams one owner (credential or HTTP token) may hold open at once; past it opening another is refused")
	f.duration(&k.tasksDups, "tasks-duplicates", "AMF_TASKS_DUPLICATES", bus.DefaultTasksDuplicates, "how long the tasks stream remembers a task id")
	f.duration(&k.eventsDups, "events-duplicates", "AMF_EVENTS_DUPLICATES", bus.DefaultEventsDuplicates, "how long the events stream remembers an event's message id")
	f.int(&k.replicas, "replicas", "AMF_REPLICAS", 0, "copies of each stream in a cluster (0: 1 alone, 3 when clustered)")
	f.str(&k.authDir, "auth-dir", "AMF_AUTH_DIR", "", "the installation's keys (default <state-dir>/auth; kernels of a cluster share it)")
	f.str(&k.leafListen, "leaf-listen", "AMF_NATS_LEAF_LISTEN", "", "accept leafnodes (sites behind NAT, `amf leaf`) on this address, e.g. 0.0.0.0:7422; TLS and credentials as on the client port")
	f.int(&k.quotaTasks, "quota-tasks", "AMF_QUOTA_TASKS", api.DefaultQuotaTasks, "queued or running tasks one owner (client credential, HTTP token) may hold; past it that owner's submissions are refused (-1: no limit)")
	f.int(&k.quotaTaskMiB, "quota-task-mib", "AMF_QUOTA_TASK_MIB", api.DefaultQuotaTaskBytes>>20, "MiB of queued or running tasks one owner may hold (-1: no limit)")
	f.int(&k.quotaSchedules, "quota-schedules", "AMF_QUOTA_SCHEDULES", schedule.DefaultPerMaker, "schedules one owner may keep (-1: no limit)")
	f.int(&k.quotaScheduleMiB, "quota-schedule-mib", "AMF_QUOTA_SCHEDULE_MIB", schedule.DefaultOwnerBytes>>20, "MiB of the schedules store one owner's schedules may take, each counted with the runs it keeps (-1: no limit)")
	k.tls.bind(f, "CA of client certificates the kernel then requires")
}

func (k *kernelFlags) server(c *common) *kernel.Server {
	s := &kernel.Server{
		StateDir:           c.stateDir,
		Listen:             k.listen,
		ConfigFile:         k.config,
		ServerName:         k.name,
		EventsMaxAge:       k.eventsMaxAge,
		Replicas:           k.replicas,
		Sync:               k.sync,
		AuthDir:            k.authDir,
		LeafListen:         k.leafListen,
		TLS:                k.tls.server(),
		TasksDuplicates:    k.tasksDups,
		TasksMaxBytes:      int64(k.tasksMax) << 20,
		EventsDuplicates:   k.eventsDups,
		Quota:              api.Quota{Tasks: k.quotaTasks, TaskBytes: mibOrNone(k.quotaTaskMiB)},
		QuotaSchedules:     k.quotaSchedules,
		QuotaScheduleBytes: mibOrNone(k.quotaScheduleMiB),
		ReadersPerOwner:    k.readers,
		Names:              c.names(),
		Version:            version,
		GCPercent:          k.gcPercent,
		Logger:             slog.Default().With("part", "kernel"),
	}
	s.FollowersPerCredential = k.followers
	return s
}

func runKernel(ctx context.Context, args []string) error {
	var c common
	var k kernelFlags
	var cf cacheFlags
	var noProjector bool
	f := newFlags("kernel", "kernel [flags]")
	cf.bind(f)
	f.bool(&noProjector, "no-status-projector", "AMF_NO_STATUS_PROJECTOR", false, "do not keep task status in the hot cache from this kernel (in a cluster the kernels that do elect one by lease)")
	c.bindState(f)
	c.bindLog(f)
	k.bind(f)
	if err := f.parse(args); err != nil {
		return err
	}
	c.logger()
	// The process is the kernel's alone: its collector is paced for the
	// kernel's heap (see kernel/gcpace.go). `amf up` shares its process
	// with a worker and a bridge, whose garbage it would pace too.
	k.gcPercent = kernel.DefaultGCPercent
	l, err := startLocal(ctx, &c, &k, &cf, noProjector)
	if err != nil {
		return err
	}
	defer l.shutdown()
	notifyReady()
	return l.srv.Wait(ctx)
}

// mibOrNone is n MiB in bytes, or a negative n (no limit) as it is.
func mibOrNone(n int) int64 {
	if n < 0 {
		return -1
	}
	return int64(n) << 20
}
