package kernel_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/schedule"
)

// TestClusterSchedulesOutliveTheirLeader: in three clustered kernels the
// schedules stream is replicated, JetStream's scheduler runs on its
// leader, and when that kernel stops another takes over: runs go on.
func TestClusterSchedulesOutliveTheirLeader(t *testing.T) {
	t.Parallel()
	servers, credsFile := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names := bus.Names{}
	connect := func(s *kernel.Server) (*nats.Conn, jetstream.JetStream) {
		nc, err := nats.Connect(s.ClientURL(), nats.UserCredentials(credsFile), nats.MaxReconnects(-1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		return nc, js
	}
	_, js := connect(servers[0])
	st, err := js.Stream(ctx, names.SchedulesStream())
	if err != nil {
		t.Fatal(err)
	}
	info := st.CachedInfo()
	if info.Config.Replicas != 3 || !info.Config.AllowMsgSchedules {
		t.Fatalf("schedules stream: %d replicas, schedules %v; want 3 and true", info.Config.Replicas, info.Config.AllowMsgSchedules)
	}
	task, err := bus.DecodeTask([]byte(`{"id":"sched-cluster","command":"true","schedule":"every 1s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&schedule.Store{JS: js}).Create(ctx, task); err != nil {
		t.Fatal(err)
	}
	info, err = st.Info(ctx)
	if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
		t.Fatalf("schedules stream leader: %+v %v", info, err)
	}
	leader := info.Cluster.Leader
	var survivor *kernel.Server
	var stop *kernel.Server
	for _, s := range servers {
		if s.ServerName == leader {
			stop = s
		} else if survivor == nil {
			survivor = s
		}
	}
	nc, _ := connect(survivor)
	runs := make(chan string, 1024)
	sub, err := nc.Subscribe(names.Events(), func(m *nats.Msg) {
		if e, err := bus.DecodeEvent(m.Data); err == nil && e.Type == bus.EventAccepted && e.Task != nil && e.Task.ScheduleID == "sched-cluster" {
			runs <- e.TaskID
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	next := func() string {
		t.Helper()
		select {
		case id := <-runs:
			return id
		case <-ctx.Done():
			t.Fatal("no run")
			return ""
		}
	}
	next()
	stop.Shutdown()
	stopped := time.Now()
	for {
		id := next()
		stamp, _, _ := strings.Cut(strings.TrimPrefix(id, "sched-cluster-"), "-") // then the run's tag
		at, err := time.Parse("20060102T150405Z", stamp)
		if err != nil {
			t.Fatalf("run id %s: %v", id, err)
		}
		if at.After(stopped.Add(time.Second)) {
			break // published after the leader went
		}
	}
}
