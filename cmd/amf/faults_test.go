package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/bus"
	kapi "github.com/amf-os/amf/kernel/client"
)

// faultPhase is one stretch of the run: what was broken, and how the
// client calls made meanwhile fared.
type faultPhase struct {
	name          string
	from          time.Time
	calls, failed atomic.Int64
	// Tasks first submitted in this phase, and of them those lost.
	tasks, lost int
	// What happened to tasks in this phase, by the time of the event
	// that made it so (a second end, a second exec_end, an event after
	// the end).
	endedTwice, ranTwice, afterEnd int
}

// TestFleetUnderFaults: three kernels clustered across three hosts, a
// worker on a fourth and one on a fifth that is behind NAT (it reaches
// the kernels through a leaf it dials out from; nothing reaches it), TLS
// and credentials everywhere. Under a steady load of tasks, a kernel is
// SIGKILLed and restarted, the direct worker's cable is pulled for longer
// than a task's ack wait, and the worker behind NAT is SIGKILLed and
// restarted. Every task whose submission was acknowledged ends exactly
// once with nothing after its end; commands run to the end twice (at
// least once delivery) and failed client calls are counted per fault; the table it
// logs (-v) is README's. AMF_FAULT_TASKS sets the load (default 1000).
func TestFleetUnderFaults(t *testing.T) {
	testenv.Short(t)
	natsBin := testenv.NeedBinary(t, "nats")
	total := 1000
	if s := os.Getenv("AMF_FAULT_TASKS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("AMF_FAULT_TASKS=%q: want a positive number", s)
		}
		total = n
	}
	l := newLAN(t, "k1", "k2", "k3", "wa", "wb")
	kernelRoles := []string{"k1", "k2", "k3"}
	certs := makeCerts(t, l.ip["k1"], l.ip["k2"], l.ip["k3"])

	// The kernels share one authority; credentials are made from it.
	authDir := t.TempDir()
	auth, err := kernel.OpenAuthority(authDir)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(spec kernel.UserSpec) string {
		t.Helper()
		creds, _, err := auth.Issue(spec)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), spec.Name+".creds")
		if err := os.WriteFile(path, creds, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	admin := issue(kernel.UserSpec{Name: "fault-admin", Role: kernel.RoleAdmin})
	client := issue(kernel.UserSpec{Name: "fault-client", Role: kernel.RoleClient})
	workerA := issue(kernel.UserSpec{Name: "worker-a", Role: kernel.RoleWorker})
	workerB := issue(kernel.UserSpec{Name: "worker-b", Role: kernel.RoleWorker})
	// What a site's leaf is given: the account JWT (a copy it keeps
	// current) and the credential revocations reach it with.
	leafDir := t.TempDir()
	accJWT, err := auth.AccountJWT()
	if err != nil {
		t.Fatal(err)
	}
	leafUpdates, err := auth.LeafUpdates()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(leafDir, "account.jwt"), []byte(accJWT), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(leafDir, "leaf-updates.creds"), leafUpdates, 0o600); err != nil {
		t.Fatal(err)
	}

	// The shipped cluster configuration, its host names made addresses.
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "cluster", "kernel-cluster.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var clientURLs, leafURLs []string
	kernelEnv := map[string][]string{}
	for i, role := range kernelRoles {
		ip := l.ip[role]
		conf := strings.NewReplacer("0.0.0.0:6222", ip+":6222", "0.0.0.0:8222", ip+":8222", "0.0.0.0:7422", ip+":7422").Replace(string(raw))
		for j, r := range kernelRoles {
			conf = strings.ReplaceAll(conf, fmt.Sprintf("kernel-%d.example.internal", j+1), l.ip[r])
		}
		path := filepath.Join(t.TempDir(), "kernel.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		kernelEnv[role] = []string{
			"AMF_STATE_DIR=" + t.TempDir(), "AMF_AUTH_DIR=" + authDir, "AMF_NATS_CONFIG=" + path,
			"AMF_SERVER_NAME=" + fmt.Sprintf("kernel-%d", i+1), "AMF_NATS_LISTEN=" + ip + ":4222",
			"AMF_NATS_LEAF_LISTEN=" + ip + ":7422", "AMF_NATS_TLS_CERT=" + certs.Cert, "AMF_NATS_TLS_KEY=" + certs.Key,
		}
		clientURLs = append(clientURLs, "tls://"+ip+":4222")
		leafURLs = append(leafURLs, "tls://"+ip+":7422")
	}
	var units []*unit
	defer func() { // before the cleanups kill the processes
		for _, u := range units {
			u.halt()
		}
	}()
	kernels := map[string]*unit{}
	for _, role := range kernelRoles {
		args := []string{"kernel"}
		if role != "k1" { // one status projector for the cluster
			args = append(args, "--no-status-projector")
		}
		kernels[role] = supervise(t, "kernel-"+role[1:], func() *proc { return l.amfIn(l.ns[role], kernelEnv[role], args...) })
		units = append(units, kernels[role])
	}
	for _, role := range kernelRoles {
		waitKernelAt(t, "tls://"+l.ip[role]+":4222", admin, certs.CA, kernels[role])
	}

	// The fake model, served to the LAN from the test's host.
	llm := ollamatest.New(t, ollamatest.WithFallback(ollamatest.Reply{Content: structured}))
	model := l.serveOnLAN(llm.URL())

	// Worker A dials the kernels directly.
	workerEnv := func(url, creds string) []string {
		return []string{"AMF_NATS_URL=" + url, "AMF_NATS_CREDS=" + creds, "AMF_STATE_DIR=" + t.TempDir(), "OLLAMA_HOST=" + model}
	}
	waEnv := append(workerEnv(strings.Join(clientURLs, ","), workerA), "AMF_NATS_TLS_CA="+certs.CA)
	wa := supervise(t, "worker-a", func() *proc { return l.amfIn(l.ns["wa"], waEnv, "worker", "--id", "worker-a", "--concurrency", "4") })
	units = append(units, wa)

	// Worker B's host lets nothing in; its leaf dials out and serves it.
	l.behindNAT("wb")
	leaf := supervise(t, "leaf", func() *proc {
		return l.amfIn(l.ns["wb"], nil, "leaf", "--listen", "0.0.0.0:4222", "--remote", strings.Join(leafURLs, ","),
			"--creds", workerB, "--tls-ca", certs.CA, "--account-jwt", filepath.Join(leafDir, "account.jwt"),
			"--updates", filepath.Join(leafDir, "leaf-updates.creds"), "--server-name", "edge-wb")
	})
	units = append(units, leaf)
	waitOutput(t, leaf, "Leafnode connection created")
	// On its own host the worker talks to the leaf over loopback.
	wbEnv := workerEnv("nats://127.0.0.1:4222", workerB)
	wb := supervise(t, "worker-b", func() *proc { return l.amfIn(l.ns["wb"], wbEnv, "worker", "--id", "worker-b", "--concurrency", "4") })
	units = append(units, wb)
	waitOutput(t, wa, "worker ready")
	waitOutput(t, wb, "worker ready")

	// Nothing reaches worker B's host, though its leaf listens on every
	// address there: from a kernel's host the connection gets no answer
	// at all (no authorization error: no server ever saw it).
	ipBin, _ := exec.LookPath("ip")
	out, err := exec.Command(ipBin, l.in(l.ns["k1"], natsBin, "--server", "nats://"+l.ip["wb"]+":4222", "--timeout", "2s", "rtt")...).CombinedOutput()
	// (`nats rtt` reports a failed dial in its output, not its status.)
	if !strings.Contains(string(out), "i/o timeout") || strings.Contains(strings.ToLower(string(out)), "authorization") {
		t.Fatalf("a kernel's host reached the host behind NAT: %v\n%s", err, out)
	}
	// …while on that host the leaf answers.
	if out, err := exec.Command(ipBin, l.in(l.ns["wb"], natsBin, "--server", "nats://127.0.0.1:4222", "--creds", workerB, "--timeout", "5s", "rtt")...).CombinedOutput(); err != nil || strings.Contains(string(out), "failed") {
		t.Fatalf("the leaf on the host behind NAT: %v\n%s", err, out)
	}

	// The client: the test's host, with a client credential over TLS.
	credOpts, err := kernel.CredsOptions(client)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(strings.Join(clientURLs, ","), append(credOpts, nats.RootCAs(certs.CA), nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := &kapi.Client{NC: nc, ViaAPI: true}

	// The faults, on a schedule from the start of the load.
	phases := []*faultPhase{{name: "none (warm-up)", from: time.Now()}}
	var current atomic.Pointer[faultPhase]
	current.Store(phases[0])
	enter := func(name string) {
		p := &faultPhase{name: name, from: time.Now()}
		phases = append(phases, p)
		current.Store(p)
		t.Logf("%s: %s", time.Now().Format("15:04:05.000"), name)
	}
	faultsDone := make(chan struct{})
	start := time.Now()
	at := func(d time.Duration) { time.Sleep(time.Until(start.Add(d))) }
	go func() {
		defer close(faultsDone)
		at(3 * time.Second)
		kernels["k2"].kill() // SIGKILL
		enter("kernel-2 SIGKILLed")
		at(8 * time.Second)
		kernels["k2"].restart()
		enter("kernel-2 restarted on its store")
		at(12 * time.Second)
		l.cut("wa", true)
		// Longer than the pool's ack wait: worker A's tasks go to B.
		enter(fmt.Sprintf("worker-a partitioned (veth down %v)", bus.PoolAckWait+2*time.Second))
		at(12*time.Second + bus.PoolAckWait + 2*time.Second)
		l.cut("wa", false)
		enter("worker-a reconnected")
		at(27 * time.Second)
		wb.kill()
		enter("worker-b (behind NAT) SIGKILLed, restarted")
		wb.restart()
		at(30 * time.Second)
		enter("after the faults (redeliveries)")
	}()

	// The load: tasks submitted at a steady pace over about 30s, each
	// retried with its own id until the kernel acknowledges it.
	ids := make([]string, total)
	acked := make([]bool, total)
	phaseOf := make([]*faultPhase, total)
	interval := 30 * time.Second / time.Duration(total)
	feed := make(chan int)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range feed {
				task := bus.Task{ID: ids[i], Instruction: "say nothing, run true", NoAnswer: true}
				for try := 0; try < 60 && !acked[i]; try++ {
					p := current.Load()
					p.calls.Add(1)
					// Longer than the client's own ride through an
					// election (kapi.DefaultRideThrough), so a call fails
					// only when the client gives up, as a user's would.
					ctx, cancel := context.WithTimeout(context.Background(), kapi.DefaultRideThrough+5*time.Second)
					_, _, err := c.Submit(ctx, task)
					cancel()
					if err == nil {
						acked[i] = true
						break
					}
					p.failed.Add(1)
					if !errors.Is(err, kapi.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("task %s: submission refused for good: %v", task.ID, err)
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	for i := range total {
		ids[i] = fmt.Sprintf("flt%d-%04d", l.n, i)
		phaseOf[i] = current.Load()
		feed <- i
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * interval)))
	}
	close(feed)
	wg.Wait()
	<-faultsDone
	submitted := time.Since(start)

	// Every acknowledged task ends; read the record of truth until then.
	anc, err := nats.Connect(strings.Join(clientURLs, ","), nats.UserCredentials(admin), nats.RootCAs(certs.CA), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer anc.Close()
	js, _ := jetstream.New(anc)
	var events map[string][]bus.Event
	var open []string
	deadline := time.Now().Add(4 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		events, err = readAllEvents(ctx, js, bus.Names{}.EventsStream())
		cancel()
		if err != nil {
			t.Logf("read events: %v", err)
		}
		open = open[:0]
		for i, id := range ids {
			if (acked[i] || len(events[id]) > 0) && terminals(events[id]) == 0 {
				open = append(open, id)
			}
		}
		if err == nil && len(open) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, id := range open[:min(len(open), 20)] {
				t.Errorf("task %s never ended: %s", id, eventTypes(events[id]))
			}
			t.Fatalf("%d of %d tasks never ended", len(open), total)
		}
		time.Sleep(2 * time.Second)
	}
	ended := time.Since(start)

	// Exactly one end per task, nothing after it, none lost. A command
	// may run twice (delivery is at least once: a run whose end could not
	// be stored is run again, and a cut-off worker stops its run only once
	// it misses renewals for the ack wait); those are counted, not failed.
	var lost, dupEnds, twiceRun, afterEnd, done, failed, notAcked int
	byWorker := map[string]int{}
	for i, id := range ids {
		evs, p := events[id], phaseOf[i]
		p.tasks++
		if !acked[i] {
			notAcked++
		}
		if acked[i] && len(evs) == 0 {
			lost++
			p.lost++
			t.Errorf("LOST: task %s was acknowledged and has no events", id)
			continue
		}
		if e, ok := nth(evs, 2, bus.EventType.Terminal); ok {
			dupEnds++
			phaseAt(phases, e.TS).endedTwice++
			t.Errorf("ENDED TWICE: task %s: %s", id, eventTypes(evs))
		}
		if e, ok := nth(evs, 2, func(t bus.EventType) bool { return t == bus.EventExecEnd }); ok {
			twiceRun++
			phaseAt(phases, e.TS).ranTwice++
			t.Logf("ran twice: task %s ran its command to the end twice: %s", id, eventTypes(evs))
		}
		for j, e := range evs {
			if e.Type.Terminal() && j < len(evs)-1 {
				afterEnd++
				phaseAt(phases, evs[j+1].TS).afterEnd++
				t.Errorf("EVENT AFTER END: task %s has events after its %s: %s", id, e.Type, eventTypes(evs))
				break
			}
		}
		for _, e := range evs {
			switch e.Type {
			case bus.EventDone:
				done++
				byWorker[e.Worker]++
			case bus.EventFailed:
				failed++
				t.Logf("task %s failed: %s", id, eventTypes(evs))
			}
		}
	}
	if notAcked > 0 {
		t.Errorf("%d tasks were never acknowledged after 60 tries each", notAcked)
	}
	if done+failed != total-notAcked {
		t.Errorf("%d done + %d failed, want %d", done, failed, total-notAcked)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n%d tasks at %.0f/s for %v (2 workers x 4), all ended %v after the load began; done %d, failed %d, by worker %v\n",
		total, float64(time.Second)/float64(interval), submitted.Round(time.Second), ended.Round(time.Second), done, failed, byWorker)
	fmt.Fprintf(&b, "| fault injected | tasks submitted | submit calls failed | tasks lost | ended twice | run to the end twice | events after the end |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range phases {
		fmt.Fprintf(&b, "| %s | %d | %d of %d | %d | %d | %d | %d |\n", p.name, p.tasks, p.failed.Load(), p.calls.Load(), p.lost, p.endedTwice, p.ranTwice, p.afterEnd)
	}
	fmt.Fprintf(&b, "| total | %d | | %d | %d | %d | %d |\n", total, lost, dupEnds, twiceRun, afterEnd)
	t.Log(b.String())
	// Start-up waits for JetStream rather than exit: any exit is a fault
	// of ours (the test restarts the unit, as systemd would, and goes on).
	for _, u := range units {
		if ex := u.exits(); len(ex) > 0 {
			t.Errorf("%s exited by itself %d times: %q", u.name, len(ex), ex)
		}
	}
}

// readAllEvents reads the whole events stream, grouped by task.
func readAllEvents(ctx context.Context, js jetstream.JetStream, stream string) (map[string][]bus.Event, error) {
	out := map[string][]bus.Event{}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return out, err
	}
	last := s.CachedInfo().State.LastSeq
	if last == 0 {
		return out, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return out, err
	}
	for {
		batch, err := cons.Fetch(2000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return out, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			if e, err := bus.DecodeEvent(m.Data()); err == nil {
				out[e.TaskID] = append(out[e.TaskID], e)
			}
			if md, err := m.Metadata(); err == nil && md.Sequence.Stream >= last {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return out, err
		}
		if n == 0 {
			return out, fmt.Errorf("events stream stalled before sequence %d", last)
		}
	}
}

// nth is the n-th event whose type matches.
func nth(evs []bus.Event, n int, match func(bus.EventType) bool) (bus.Event, bool) {
	for _, e := range evs {
		if match(e.Type) {
			if n--; n == 0 {
				return e, true
			}
		}
	}
	return bus.Event{}, false
}

// phaseAt is the phase the run was in at ts.
func phaseAt(phases []*faultPhase, ts time.Time) *faultPhase {
	p := phases[0]
	for _, q := range phases {
		if !ts.Before(q.from) {
			p = q
		}
	}
	return p
}

func terminals(evs []bus.Event) int {
	n := 0
	for _, e := range evs {
		if e.Type.Terminal() {
			n++
		}
	}
	return n
}

// eventTypes shows a task's events: type@worker+seconds since the first.
func eventTypes(evs []bus.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, fmt.Sprintf("%s@%s+%.1fs", e.Type, e.Worker, e.TS.Sub(evs[0].TS).Seconds()))
	}
	return strings.Join(s, " ")
}

// waitKernelAt polls until the kernel at url serves its task API.
func waitKernelAt(t *testing.T, url, creds, ca string, u *unit) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if nc, err := nats.Connect(url, nats.Timeout(time.Second), nats.UserCredentials(creds), nats.RootCAs(ca)); err == nil {
			_, err := nc.Request(bus.Names{}.API()+".status", []byte("probe"), time.Second)
			nc.Close()
			if err == nil {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("kernel at %s not serving in time:\n%s", url, u.proc().Output())
}

// waitOutput waits until a supervised process has printed want.
func waitOutput(t *testing.T, u *unit, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(u.proc().Output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q from %s in time:\n%s", want, u.name, u.proc().Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
