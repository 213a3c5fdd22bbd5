package kernel_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/amf-os/amf/internal/testenv"
)

func TestMain(m *testing.M) {
	// Each test owns its kernels; the cluster tests mostly wait for
	// elections and lease expiries, not for the CPU.
	testenv.WaitingParallelism(6)
	goleak.VerifyTestMain(m)
}
