package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestDoRetriesPassingErrorsUntilSuccess(t *testing.T) {
	t.Parallel()
	tries := 0
	err := Do(context.Background(), Policy{Bound: 5 * time.Second, First: time.Millisecond}, func(context.Context) error {
		if tries++; tries < 3 {
			return nats.ErrNoResponders
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Fatalf("Do = %v after %d tries, want nil after 3", err, tries)
	}
}

func TestDoStopsAtAPermanentError(t *testing.T) {
	t.Parallel()
	tries := 0
	err := Do(context.Background(), Policy{First: time.Millisecond}, func(context.Context) error {
		tries++
		return nats.ErrPermissionViolation
	})
	if !errors.Is(err, nats.ErrPermissionViolation) || tries != 1 {
		t.Fatalf("Do = %v after %d tries, want the refusal after 1", err, tries)
	}
}

func TestDoGivesUpAtItsBound(t *testing.T) {
	t.Parallel()
	err := Do(context.Background(), Policy{Bound: 50 * time.Millisecond, First: 5 * time.Millisecond, Max: 10 * time.Millisecond}, func(context.Context) error {
		return nats.ErrNoResponders
	})
	if !errors.Is(err, ErrBoundPassed) || !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("Do = %v, want ErrBoundPassed wrapping the last error", err)
	}
}

func TestDoStopsWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	tries := 0
	err := Do(ctx, Policy{First: time.Hour}, func(context.Context) error {
		if tries++; tries == 1 {
			time.AfterFunc(10*time.Millisecond, cancel)
		}
		return nats.ErrNoResponders
	})
	if !errors.Is(err, nats.ErrNoResponders) || tries != 1 {
		t.Fatalf("Do = %v after %d tries, want the last error after 1", err, tries)
	}
}

// Each pause is drawn between half and all of its step, and steps double
// up to Max.
func TestDoJittersItsPauses(t *testing.T) {
	t.Parallel()
	var pauses []time.Duration
	tries := 0
	p := Policy{First: 4 * time.Millisecond, Max: 16 * time.Millisecond, OnRetry: func(_ error, d time.Duration) { pauses = append(pauses, d) }}
	_ = Do(context.Background(), p, func(context.Context) error {
		if tries++; tries > 5 {
			return nil
		}
		return nats.ErrTimeout
	})
	steps := []time.Duration{4, 8, 16, 16, 16}
	if len(pauses) != len(steps) {
		t.Fatalf("%d pauses, want %d", len(pauses), len(steps))
	}
	for i, s := range steps {
		s *= time.Millisecond
		if pauses[i] < s/2 || pauses[i] > s {
			t.Fatalf("pause %d = %v, want within [%v, %v]", i, pauses[i], s/2, s)
		}
	}
}

// A try gets a context bounded to Policy.Try, so a request lost with a
// dying kernel is sent again.
func TestDoBoundsEachTry(t *testing.T) {
	t.Parallel()
	tries := 0
	err := Do(context.Background(), Policy{Bound: 5 * time.Second, Try: 20 * time.Millisecond, MinTry: 20 * time.Millisecond, First: time.Millisecond}, func(ctx context.Context) error {
		if tries++; tries == 1 {
			<-ctx.Done() // the lost request
			return ctx.Err()
		}
		return nil
	})
	if err != nil || tries != 2 {
		t.Fatalf("Do = %v after %d tries, want nil after 2", err, tries)
	}
}
