package status_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/amf-os/amf/internal/testenv"
)

func TestMain(m *testing.M) {
	// Each test owns its kernel (and Redis) and mostly waits: for leases
	// to lapse, for the projector to catch up.
	testenv.WaitingParallelism(6)
	goleak.VerifyTestMain(m)
}

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
