package workers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// poolConsumer opens the pool's durable consumer. A worker's credential
// may not create consumers, so the kernel makes it on request (with the
// bus's own configuration, not one a worker chose); with no kernel
// answering (a bare NATS server, admin credentials) the worker makes it.
func (w *Worker) poolConsumer(ctx context.Context, js jetstream.JetStream) (jetstream.Consumer, error) {
	stream, name := w.Names.TasksStream(), w.Names.PoolConsumer(w.Pool)
	_, err := w.NC.Request(w.Names.PoolSubject(w.Pool), nil, 10*time.Second)
	switch {
	case err == nil:
		return js.Consumer(ctx, stream, name)
	case errors.Is(err, nats.ErrNoResponders):
		return js.CreateOrUpdateConsumer(ctx, stream, w.Names.PoolConsumerConfig(w.Pool))
	}
	if cons, cerr := js.Consumer(ctx, stream, name); cerr == nil {
		return cons, nil
	}
	return nil, fmt.Errorf("the kernel did not open pool %q for this worker (%v): is the worker's credential issued for this pool (amf auth creds worker --pool %s)?", w.Pool, err, w.Pool)
}
