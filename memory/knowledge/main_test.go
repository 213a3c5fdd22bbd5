package knowledge_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the package starts (the stream follower, the index
// saver, the search endpoint) must end with the value that owns it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
