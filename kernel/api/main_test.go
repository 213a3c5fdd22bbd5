package api_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

func TestMain(m *testing.M) {
	// Each test owns its kernel and mostly waits: for refusals, for
	// events to be stored, for nothing to arrive.
	testenv.WaitingParallelism(6)
	goleak.VerifyTestMain(m)
}

// setup starts a kernel and a client on it.
func setup(t *testing.T) (*kerneltest.Kernel, *client.Client) {
	t.Helper()
	k := kerneltest.StartWith(t, kernel.Server{TasksDuplicates: 200 * time.Millisecond, EventsDuplicates: 200 * time.Millisecond})
	return k, &client.Client{NC: k.NC, JS: k.JS}
}
