package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/amf-os/amf/kernel/bus"
)

// Store is the token bucket. Writing needs a connection allowed to write
// the bucket (an operator's); bridges only read it through a Verifier.
type Store struct {
	kv jetstream.KeyValue
}

// Open binds the bucket, creating it when create is set (an operator's
// connection) and the bucket is missing. A kernel provisions it at
// start, replicated as its streams are.
func Open(ctx context.Context, js jetstream.JetStream, names bus.Names, create bool) (*Store, error) {
	kv, err := js.KeyValue(ctx, names.TokensBucket())
	if errors.Is(err, jetstream.ErrBucketNotFound) && create {
		kv, err = js.CreateKeyValue(ctx, names.TokensBucketConfig())
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, names.TokensBucket())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open token bucket %s: %w", names.TokensBucket(), err)
	}
	return &Store{kv: kv}, nil
}

// Create issues a token and stores its record; the token is returned
// once and kept nowhere.
func (s *Store) Create(ctx context.Context, scopes []Scope, grants []string, name string) (string, Record, error) {
	token, r, err := Generate(scopes, grants, name)
	if err != nil {
		return "", Record{}, err
	}
	b, _ := json.Marshal(r)
	if _, err := s.kv.Create(ctx, r.ID, b); err != nil {
		return "", Record{}, fmt.Errorf("store token: %w", err)
	}
	return token, r, nil
}

// Get returns one token's record.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return Record{}, err
	}
	return decode(e.Value())
}

// List returns every live token's record, oldest first.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var out []Record
	for e := range w.Updates() {
		if e == nil {
			break
		}
		if r, err := decode(e.Value()); err == nil {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Record) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// Revoke deletes a token; every bridge stops accepting it as soon as the
// deletion reaches its watch.
func (s *Store) Revoke(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	return s.kv.Purge(ctx, id)
}

// Verify checks a token against the bucket directly (one KV read). A
// bridge uses a Verifier instead, which keeps the bucket in memory.
func (s *Store) Verify(ctx context.Context, token string) (Record, error) {
	id, ok := IDOf(strings.TrimSpace(token))
	if !ok {
		return Record{}, ErrInvalid
	}
	r, err := s.Get(ctx, id)
	if err != nil || !r.Matches(token) {
		return Record{}, ErrInvalid
	}
	return r, nil
}

func decode(b []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode token record: %w", err)
	}
	return r, nil
}
