package schedule_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/amf-os/amf/internal/testenv"
)

func TestMain(m *testing.M) {
	// Each test owns its kernel and mostly waits for schedules to tick.
	testenv.WaitingParallelism(8)
	goleak.VerifyTestMain(m)
}
