package workers_test

import (
	"io"
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/sandbox"
)

func TestMain(m *testing.M) {
	// The namespace backend re-executes this test binary as its init.
	sandbox.MaybeInit()
	// Every goroutine a worker starts (pull loop, heartbeats, in-progress
	// acks, control subscriptions) ends when its owner stops.
	goleak.VerifyTestMain(m)
}

// testRunner is the real confined runner the workers use in production.
func testRunner(t testing.TB) sandbox.Runner {
	t.Helper()
	testenv.NeedRoot(t)
	r, err := sandbox.New(sandbox.Config{StateDir: t.TempDir(), Logger: discard()})
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
