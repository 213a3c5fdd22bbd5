package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// serve runs the task API (with its readers' endpoints) on the test
// kernel's admin connection until the test ends.
func serve(t *testing.T, c *client.Client, readersPerOwner int) {
	t.Helper()
	// Every streamed submission's reader made ahead of its record, however
	// few tasks the stream keeps: the path a loaded kernel takes.
	serveService(t, &api.Service{Client: c, ReadersPerOwner: readersPerOwner, ReadersAheadFrom: -1})
}

// serveService runs svc on the test kernel's admin connection until the
// test ends.
func serveService(t *testing.T, svc *api.Service) {
	t.Helper()
	c := svc.Client
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	// Ready once the readers' endpoint answers at all.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.NC.Request(bus.Names{}.ReadersOpen(""), []byte(`{}`), time.Second)
		if !errors.Is(err, nats.ErrNoResponders) || time.Now().After(deadline) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// attacker is a connection on a role's credential that records what the
// server refused it.
type attacker struct {
	nc  *nats.Conn
	key string
	mu  sync.Mutex
	// denied are the server's permission violations, in order.
	denied []string
}

func connectAs(t *testing.T, k *kerneltest.Kernel, spec kernel.UserSpec) *attacker {
	t.Helper()
	a := &attacker{}
	a.nc = k.ConnectAs(k.Creds(spec), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if strings.Contains(err.Error(), "Permissions Violation") {
			a.mu.Lock()
			a.denied = append(a.denied, err.Error())
			a.mu.Unlock()
		}
	}))
	a.key = client.UserKey(a.nc)
	return a
}

func (a *attacker) owner() bus.Owner { return bus.OwnerOfCredential(bus.CredentialID(a.key)) }

// refused reports whether the server refused a publish or subscription
// on subject.
func (a *attacker) refused(subject string) bool {
	_ = a.nc.Flush()
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		for _, d := range a.denied {
			if strings.Contains(d, `"`+subject+`"`) {
				a.mu.Unlock()
				return true
			}
		}
		a.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// ownedTask stores a task's accepted event with its owner set, as the
// kernel does at submission, and more events after it.
func ownedTask(t *testing.T, js jetstream.JetStream, id string, owner bus.Owner, more ...bus.EventType) {
	t.Helper()
	names := bus.Names{}
	evs := []bus.Event{{TaskID: id, Type: bus.EventAccepted, TS: time.Now().UTC(),
		Task: &bus.Task{ID: id, Command: "true", Pool: bus.DefaultPool, Owner: owner}}}
	for _, typ := range more {
		evs = append(evs, bus.Event{TaskID: id, Type: typ, TS: time.Now().UTC()})
	}
	for _, e := range evs {
		if _, err := js.PublishMsg(context.Background(), names.EventMsg(e)); err != nil {
			t.Fatalf("store %s's %s: %v", id, e.Type, err)
		}
	}
}

// No client, bridge or worker credential may make, change or delete a
// consumer on the events, tasks or memory streams: not with the bare create subject naming the status
// projector's consumer in its body, not with a name in the subject, not
// a durable, not a delete. The projector's consumer is the same after
// every try.
func TestCredentialsMayNotTouchTheStreamsConsumers(t *testing.T) {
	t.Parallel()
	k, _ := setup(t)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The kernel's status projector's consumer on the events stream, as
	// the kernel makes it (this test kernel runs no hot cache to project to).
	cons, err := k.JS.CreateOrUpdateConsumer(ctx, names.EventsStream(), jetstream.ConsumerConfig{
		Durable: names.StatusConsumer(), AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	proj := *cons.CachedInfo()
	hijack := func(stream, name string) []byte {
		b, _ := json.Marshal(map[string]any{"stream_name": stream, "config": map[string]any{
			"durable_name": name, "name": name, "deliver_policy": "new", "ack_policy": "none",
			"filter_subject": names.Event("nothing"), "deliver_subject": names.Control("hijacked"),
		}})
		return b
	}
	for _, spec := range []kernel.UserSpec{{Role: kernel.RoleClient}, {Role: kernel.RoleBridge}, {Role: kernel.RoleWorker}} {
		a := connectAs(t, k, spec)
		for _, stream := range []string{names.EventsStream(), names.TasksStream(), names.MemoryStream()} {
			name := names.StatusConsumer()
			if stream != names.EventsStream() {
				name = "hijack"
			}
			api := "$JS.API.CONSUMER."
			for _, subject := range []string{
				api + "CREATE." + stream,                                       // name in the body only
				api + "CREATE." + stream + "." + name,                          // name in the subject
				api + "CREATE." + stream + "." + name + "." + names.Event("x"), // and a filter
				api + "DURABLE.CREATE." + stream + "." + name,
				api + "DELETE." + stream + "." + name,
			} {
				if _, err := kerneltest.Ask(a.nc, subject, hijack(stream, name), nil, time.Minute); !errors.Is(err, nats.ErrPermissionViolation) {
					t.Errorf("%s credential: %s was not refused by the server (%v)", spec.Role, subject, err)
				}
			}
		}
	}
	after, err := k.JS.Consumer(ctx, names.EventsStream(), names.StatusConsumer())
	if err != nil {
		t.Fatalf("the status projector's consumer is gone: %v", err)
	}
	got, want := after.CachedInfo().Config, proj.Config
	if got.FilterSubject != want.FilterSubject || got.DeliverSubject != want.DeliverSubject || got.DeliverPolicy != want.DeliverPolicy || !after.CachedInfo().Created.Equal(proj.Created) {
		t.Fatalf("the status projector's consumer changed: %+v, was %+v", got, want)
	}
}

// A client reads its own task's events through the consumer the kernel
// makes for it; another client's credential can neither ask for one on
// that task, nor ask in the owner's name, nor have one delivered into the
// owner's inbox, nor subscribe to the events, nor direct-get the task's
// newest event.
func TestClientReadsOnlyItsOwnEvents(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	serve(t, admin, 0)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := connectAs(t, k, kernel.UserSpec{Name: "alice", Role: kernel.RoleClient})
	mallory := connectAs(t, k, kernel.UserSpec{Name: "mallory", Role: kernel.RoleClient})
	ownedTask(t, k.JS, "alices", alice.owner(), bus.EventAssigned, bus.EventDone)
	ownedTask(t, k.JS, "mallorys", mallory.owner(), bus.EventDone)

	read := func(a *attacker, id string) ([]bus.EventType, error) {
		var types []bus.EventType
		c := &client.Client{NC: a.nc, Names: names, ViaAPI: true}
		st, err := c.Open(ctx, id, 0, true)
		if err != nil {
			return nil, err
		}
		err = st.EachEvent(ctx, func(e bus.Event) error { types = append(types, e.Type); return nil })
		return types, err
	}
	if types, err := read(alice, "alices"); err != nil || fmt.Sprint(types) != "[accepted assigned done]" {
		t.Fatalf("alice reads her task: %v %v", types, err)
	}
	if types, err := read(mallory, "mallorys"); err != nil || fmt.Sprint(types) != "[accepted done]" {
		t.Fatalf("mallory reads her task: %v %v", types, err)
	}
	if types, err := read(mallory, "alices"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("mallory read alice's task: %v %v", types, err)
	}

	// Asking in alice's name: the subject is alice's alone.
	inbox := mallory.nc.NewInbox()
	req, _ := json.Marshal(bus.ReaderRequest{Task: "alices", Deliver: inbox})
	subject := names.ReadersOpen(alice.key)
	if _, err := kerneltest.Ask(mallory.nc, subject, req, nil, time.Minute); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("mallory asked for a reader in alice's name: %v", err)
	}
	// Asking for her own task delivered into alice's inbox.
	req, _ = json.Marshal(bus.ReaderRequest{Task: "mallorys", Deliver: bus.InboxPrefix(alice.key) + ".stolen"})
	msg, err := mallory.nc.Request(names.ReadersOpen(mallory.key), req, 5*time.Second)
	if err != nil || msg.Header.Get("Nats-Service-Error-Code") != "403" {
		t.Errorf("a reader delivering into another's inbox: %v %v", err, msg)
	}
	// Asking on the operators' subject.
	req, _ = json.Marshal(bus.ReaderRequest{Task: "alices", Deliver: inbox})
	if _, err := kerneltest.Ask(mallory.nc, names.ReadersOpen(""), req, nil, time.Minute); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("mallory asked on the operators' subject: %v", err)
	}
	// Asking on the bridge's subject, for a token of her choosing.
	tokenSubject := names.ReadersOpenForToken(mallory.key)
	req, _ = json.Marshal(bus.ReaderRequest{Task: "alices", Deliver: inbox, All: true, Owner: bus.OwnerOfToken("x")})
	if _, err := kerneltest.Ask(mallory.nc, tokenSubject, req, nil, time.Minute); !errors.Is(err, nats.ErrPermissionViolation) {
		t.Errorf("mallory asked on the bridge's subject: %v", err)
	}
	// Listening to the events as they are stored.
	if _, err := mallory.nc.SubscribeSync(names.Events()); err != nil || !mallory.refused(names.Events()) {
		t.Errorf("mallory subscribed to every task's events: %v", err)
	}
	// Direct-getting alice's newest event.
	mjs, err := jetstream.New(mallory.nc)
	if err != nil {
		t.Fatal(err)
	}
	getCtx, cancelGet := context.WithTimeout(ctx, time.Second)
	defer cancelGet()
	s, err := mjs.Stream(getCtx, names.EventsStream())
	if err == nil {
		if m, err := s.GetLastMsgForSubject(getCtx, names.Event("alices")); err == nil {
			t.Fatalf("mallory direct-got alice's newest event: %s", m.Data)
		}
	}
	// Asked on the wire too, whether or not the stream's info was given.
	direct := "$JS.API.DIRECT.GET." + names.EventsStream() + "." + names.Event("alices")
	if m, err := mallory.nc.Request(direct, nil, time.Second); err == nil && len(m.Data) > 0 && m.Header.Get("Status") == "" {
		t.Fatalf("mallory direct-got alice's newest event: %s", m.Data)
	}
	if !mallory.refused(direct) {
		t.Errorf("mallory's direct get of alice's newest event was not refused by the server")
	}
	// The admin reads every task.
	adminClient := &client.Client{NC: k.NC, Names: names, ViaAPI: true}
	var n int
	if err := adminClient.Watch(ctx, "alices", 0, true, func(bus.Event) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("the admin reads alice's task: %d events, %v", n, err)
	}
}

// One owner holding as many open event streams as the kernel allows is
// refused another, with the limit named, while another owner still opens
// one; closing one makes room again.
func TestOpenStreamsAreCappedPerOwner(t *testing.T) {
	t.Parallel()
	k, admin := setup(t)
	const limit = 3
	serve(t, admin, limit)
	names := bus.Names{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	greedy := connectAs(t, k, kernel.UserSpec{Name: "greedy", Role: kernel.RoleClient})
	other := connectAs(t, k, kernel.UserSpec{Name: "other", Role: kernel.RoleClient})
	ownedTask(t, k.JS, "greedys", greedy.owner(), bus.EventAssigned)
	ownedTask(t, k.JS, "others", other.owner(), bus.EventAssigned)
	gc := &client.Client{NC: greedy.nc, Names: names, ViaAPI: true}
	var open []*client.Stream
	for i := range limit {
		st, err := gc.Open(ctx, "greedys", 0, true)
		if err != nil {
			t.Fatalf("stream %d of %d: %v", i+1, limit, err)
		}
		open = append(open, st)
	}
	_, err := gc.Open(ctx, "greedys", 0, true)
	if !errors.Is(err, client.ErrTooManyReaders) || !strings.Contains(err.Error(), "--readers-per-owner") || !strings.Contains(err.Error(), fmt.Sprint(limit)) {
		t.Fatalf("stream %d: %v, want a refusal naming the limit", limit+1, err)
	}
	oc := &client.Client{NC: other.nc, Names: names, ViaAPI: true}
	st, err := oc.Open(ctx, "others", 0, true)
	if err != nil {
		t.Fatalf("another owner is refused while one is at its limit: %v", err)
	}
	readOne(t, ctx, st)
	// A stream read and closed makes room.
	readOne(t, ctx, open[0])
	var again *client.Stream
	for again == nil {
		if again, err = gc.Open(ctx, "greedys", 0, true); err != nil && ctx.Err() != nil {
			t.Fatalf("no room after closing a stream: %v", err)
		}
	}
	readOne(t, ctx, again)
	for _, st := range open[1:] {
		readOne(t, ctx, st)
	}
}

// readOne reads a stream's first event and leaves, which closes it.
func readOne(t *testing.T, ctx context.Context, st *client.Stream) {
	t.Helper()
	errOne := errors.New("one is enough")
	if err := st.Each(ctx, func(client.RawEvent) error { return errOne }); !errors.Is(err, errOne) {
		t.Fatalf("read a stream: %v", err)
	}
}
