package bridge_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the bridge starts (SSE relays, keep-alives, the
// heartbeat roster) must end with the request or server that owns it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
