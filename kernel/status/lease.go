package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/retry"
)

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal:
// the longest a cluster goes without the part after its holder dies.
const DefaultLeaseTTL = 10 * time.Second

// Lease runs a part on one holder at a time across a cluster. The lease is
// a key in the replicated KV bucket AMF_LEASES whose value names the
// holder. The holder renews it with a compare-and-set every TTL/4; the
// bucket's TTL removes the key of a holder that stopped renewing (killed,
// cut off), and then another holder creates it. A holder that cannot
// renew stops its part three quarters of a TTL after the last renewal it
// sent, before the key can expire, so two holders never run the part at
// once while their clocks run at about the same rate.
//
// Why not a consumer priority group with a pinned client: the server
// keeps the pin of a client that went silent for its PinnedTTL (2 min by
// default) and the events it held for the ack wait (30 s), so a takeover
// waited minutes; and the pin follows a connection, which reconnects to a
// surviving kernel, not the kernel that runs the part. A lease names its
// holder, and both sides act on one TTL.
type Lease struct {
	JS    jetstream.JetStream
	Names bus.Names
	// Key names the part; one holder per key.
	Key string
	// Holder names this holder in the key's value (a kernel's server name).
	Holder string
	// TTL is used when this holder creates the bucket; once it exists the
	// bucket's own TTL is the lease's, so all holders agree. Default
	// DefaultLeaseTTL.
	TTL    time.Duration
	Logger *slog.Logger
}

// Run runs fn each time this holder holds the lease, until ctx ends. The
// context given to fn ends when the lease is lost; when fn returns, the
// lease is given up so that another holder (or this one, after a pause)
// takes it. Run returns nil when ctx ends.
func (l *Lease) Run(ctx context.Context, fn func(context.Context) error) error {
	if l.JS == nil || l.Key == "" || l.Holder == "" {
		return errors.New("lease: JS, Key and Holder are required")
	}
	var kv jetstream.KeyValue
	var ttl time.Duration
	// An election or a kernel still joining its cluster: try again.
	always := func(error) bool { return true }
	if err := retry.Do(ctx, retry.Policy{First: time.Second, Max: 5 * time.Second, Retry: always}, func(ctx context.Context) (err error) {
		kv, ttl, err = l.bucket(ctx)
		return err
	}); err != nil {
		return nil // only the end of ctx stops it
	}
	every := ttl / 4
	for ctx.Err() == nil {
		sent := time.Now()
		rev, err := l.take(ctx, kv)
		if err != nil {
			retry.Sleep(ctx, every)
			continue
		}
		l.log().Info("lease taken", "lease", l.Key, "holder", l.Holder)
		l.hold(ctx, kv, rev, sent, ttl, fn)
	}
	return nil
}

// take creates the lease key, or takes it over when it names this holder
// already: a holder restarted before its old lease expired. Holder names
// must therefore be unique to one running holder (amf kernel uses its
// host and state dir, which one process at a time can open).
func (l *Lease) take(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	rev, err := kv.Create(ctx, l.Key, []byte(l.Holder))
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return rev, err
	}
	e, gerr := kv.Get(ctx, l.Key)
	if gerr != nil || string(e.Value()) != l.Holder {
		return 0, err
	}
	return kv.Update(ctx, l.Key, []byte(l.Holder), e.Revision())
}

// hold runs fn while the lease at revision rev, written no earlier than
// sent, is renewed, then gives the lease up. fn is stopped a quarter TTL
// before the key could expire, whether or not a renewal is under way.
func (l *Lease) hold(ctx context.Context, kv jetstream.KeyValue, rev uint64, sent time.Time, ttl time.Duration, fn func(context.Context) error) {
	held, lost := context.WithCancel(ctx)
	defer lost()
	done := make(chan error, 1)
	go func() { done <- fn(held) }()
	every := ttl / 4
	expiry := time.NewTimer(time.Until(sent.Add(ttl - every)))
	defer expiry.Stop()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			// The part stopped by itself: give the lease up at once.
			l.log().Warn("part stopped; giving its lease up", "lease", l.Key, "err", err)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
			_ = kv.Delete(rctx, l.Key, jetstream.LastRevision(rev))
			cancel()
			if ctx.Err() == nil {
				retry.Sleep(ctx, every)
			}
			return
		case <-tick.C:
			sent := time.Now()
			rctx, cancel := context.WithTimeout(held, every)
			next, err := kv.Update(rctx, l.Key, []byte(l.Holder), rev)
			cancel()
			switch {
			case err == nil:
				rev = next
				expiry.Reset(time.Until(sent.Add(ttl - every)))
			case errors.Is(err, jetstream.ErrKeyExists):
				// Someone else holds it now: the key expired or was taken.
				l.log().Warn("lease taken by another holder; stopping", "lease", l.Key)
				lost()
			default:
				l.log().Warn("lease not renewed; retrying", "lease", l.Key, "err", err)
			}
		case <-expiry.C:
			// Not renewed in time: the key may expire soon.
			l.log().Warn("lease not renewed before it could expire; stopping", "lease", l.Key)
			lost()
		case <-held.Done():
			<-done
			if ctx.Err() != nil {
				// Stopping, not lost: give the lease up so that another
				// holder need not wait for it to expire.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
				_ = kv.Delete(rctx, l.Key, jetstream.LastRevision(rev))
				cancel()
			}
			return
		}
	}
}

// bucket opens AMF_LEASES, creating it replicated like the events stream.
func (l *Lease) bucket(ctx context.Context) (jetstream.KeyValue, time.Duration, error) {
	name := l.Names.LeasesBucket()
	kv, err := l.JS.KeyValue(ctx, name)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		ttl := l.TTL
		if ttl <= 0 {
			ttl = DefaultLeaseTTL
		}
		replicas := 1
		if s, serr := l.JS.Stream(ctx, l.Names.EventsStream()); serr == nil {
			replicas = s.CachedInfo().Config.Replicas
		}
		kv, err = l.JS.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: name, Description: "AMF-OS parts that run once per cluster, and who runs them",
			TTL: ttl, History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = l.JS.KeyValue(ctx, name)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("lease bucket %s: %w", name, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("lease bucket %s: %w", name, err)
	}
	if st.TTL() <= 0 {
		return nil, 0, fmt.Errorf("lease bucket %s has no TTL: delete it to let a holder create it again", name)
	}
	return kv, st.TTL(), nil
}

func (l *Lease) log() *slog.Logger {
	if l.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l.Logger
}

// LeaseHolder reads who holds the lease named key, "" when nobody does.
func LeaseHolder(ctx context.Context, js jetstream.JetStream, names bus.Names, key string) (string, error) {
	kv, err := js.KeyValue(ctx, names.LeasesBucket())
	if err != nil {
		return "", err
	}
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(e.Value()), nil
}
