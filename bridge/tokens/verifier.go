package tokens

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// missTimeout bounds the bucket read of a token the watch does not know.
const missTimeout = 2 * time.Second

// Verifier answers "is this token valid, and what may it do" from an
// in-memory copy of the bucket that a watch keeps current, so checking a
// request costs a hash and a map lookup, not a round trip.
type Verifier struct {
	store   *Store
	mu      sync.RWMutex
	records map[string]Record
	applied atomic.Uint64 // watch updates handled, for tests

	cancel context.CancelFunc
	done   chan struct{}
}

// Watch loads every token and keeps following the bucket until Stop.
// It returns once the current tokens are loaded; ctx bounds the watch's
// whole life.
func (s *Store) Watch(ctx context.Context) (*Verifier, error) {
	ctx, cancel := context.WithCancel(ctx)
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	v := &Verifier{store: s, records: map[string]Record{}, cancel: cancel, done: make(chan struct{})}
	loaded := make(chan struct{})
	go func() {
		defer close(v.done)
		defer func() { _ = w.Stop() }()
		first := true
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					if first {
						first = false
						close(loaded)
					}
					continue
				}
				v.confirm(ctx, e.Key())
				v.applied.Add(1)
			}
		}
	}()
	select {
	case <-loaded:
		return v, nil
	case <-v.done:
		return nil, errors.New("token watch ended before the tokens were loaded")
	case <-ctx.Done():
		v.Stop()
		return nil, ctx.Err()
	}
}

// confirm reads the record of a key the watch reported changed straight
// from the bucket, and keeps what the bucket holds. The watch only says
// which key to read: its messages arrive on an inbox, and a push consumer
// of any stream can be pointed at an inbox, so a watch entry alone could
// be a forgery; the direct read answers from the bucket's own stream. A
// record the bucket does not hold, or that does not decode, grants
// nothing.
func (v *Verifier) confirm(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(ctx, missTimeout)
	defer cancel()
	e, err := v.store.kv.Get(ctx, key)
	var r Record
	if err == nil {
		r, err = decode(e.Value())
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err != nil || r.ID != key {
		// Deleted, purged, unreadable just now (a request that names
		// it then reads the bucket itself) or not a record.
		delete(v.records, key)
		return
	}
	v.records[key] = r
}

// Verify returns the record of a valid token or ErrInvalid.
func (v *Verifier) Verify(token string) (Record, error) {
	id, ok := IDOf(token)
	if !ok {
		return Record{}, ErrInvalid
	}
	v.mu.RLock()
	r, ok := v.records[id]
	v.mu.RUnlock()
	if !ok {
		// A token created a moment ago may not have reached the watch
		// yet: ask the bucket, so a fresh token works at once.
		ctx, cancel := context.WithTimeout(context.Background(), missTimeout)
		defer cancel()
		return v.store.Verify(ctx, token)
	}
	if !r.Matches(token) {
		return Record{}, ErrInvalid
	}
	return r, nil
}

// Lookup returns the current record of the token with this id, or
// ErrInvalid once it is revoked. A console session holds only the id,
// so it sees a revocation or a change of scopes at its next request.
func (v *Verifier) Lookup(id string) (Record, error) {
	v.mu.RLock()
	r, ok := v.records[id]
	v.mu.RUnlock()
	if ok {
		return r, nil
	}
	// As in Verify: a token created a moment ago may not have reached
	// the watch yet.
	ctx, cancel := context.WithTimeout(context.Background(), missTimeout)
	defer cancel()
	r, err := v.store.Get(ctx, id)
	if err != nil {
		return Record{}, ErrInvalid
	}
	return r, nil
}

// Stop ends the watch and waits for it.
func (v *Verifier) Stop() {
	v.cancel()
	<-v.done
}
