package cache_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the package starts (the status projector, the Redis
// client's pool) must end with the value that owns it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
