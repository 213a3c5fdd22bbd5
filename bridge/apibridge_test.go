package bridge_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/api"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// apiKernel is a kernel serving its task API, whose list of live workers
// is offers, and the token store bridges on it check.
type apiKernel struct {
	k     *kerneltest.Kernel
	store *tokens.Store
	v     *tokens.Verifier
}

func startAPIKernel(t *testing.T, offers client.WorkerLister) *apiKernel {
	t.Helper()
	k := kerneltest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	svc := &api.Service{Client: &client.Client{NC: k.NC, JS: k.JS, Offers: offers}, Schedules: k.ScheduleStore(k.JS)}
	wg.Go(func() { _ = svc.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	store, v := openTokens(t, k.JS)
	return &apiKernel{k: k, store: store, v: v}
}

// openTokens opens (making it) the token store on js and watches it for
// a bridge to check tokens against, until the test ends.
func openTokens(t *testing.T, js jetstream.JetStream) (*tokens.Store, *tokens.Verifier) {
	t.Helper()
	store, err := tokens.Open(context.Background(), js, bus.Names{}, true)
	if err != nil {
		t.Fatal(err)
	}
	v, err := store.Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Stop)
	return store, v
}

// bridge serves a bridge holding a bridge credential named name, as
// `amf bridge` runs: it reads and writes through the task API, and
// offers is its own list of workers (nil: none, it cannot tell a
// pool's default profile).
func (a *apiKernel) bridge(t *testing.T, name string, offers client.WorkerLister) *authFixture {
	t.Helper()
	nc := a.k.ConnectAs(a.k.Creds(kernel.UserSpec{Name: name, Role: kernel.RoleBridge}))
	s := &bridge.Server{NC: nc, Client: &client.Client{NC: nc, ViaAPI: true, Offers: offers}, Tokens: a.v, Logger: kerneltest.Logger(t)}
	h, err := s.Handler()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &authFixture{k: a.k, url: ts.URL, store: a.store, handler: h}
}

// acceptLog reads the accepted events stored for a task: what the
// events stream holds, not what a subscriber saw (a duplicate publish
// the stream refused is seen, never stored).
type acceptLog struct {
	js jetstream.JetStream
}

func (l *acceptLog) policies(id string) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := l.js.OrderedConsumer(ctx, bus.Names{}.EventsStream(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{bus.Names{}.TaskEvents(id)}})
	if err != nil {
		return []string{"(no stream: " + err.Error() + ")"}
	}
	var out []string
	for {
		m, err := c.Next(jetstream.FetchMaxWait(300 * time.Millisecond))
		if err != nil {
			return out
		}
		if e, err := bus.DecodeEvent(m.Data()); err == nil && e.Type == bus.EventAccepted && e.Task != nil {
			out = append(out, e.Task.Policy)
		}
	}
}
