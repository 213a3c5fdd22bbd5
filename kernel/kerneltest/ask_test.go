package kerneltest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// Ask tells a refused subject from an answered one, and a refusal comes
// back without waiting out the request's timeout.
func TestAskSeesARefusalAtOnce(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	echo, err := k.NC.Subscribe("echo.here", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = echo.Unsubscribe() })
	if err := k.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	m, err := kerneltest.Ask(k.NC, "echo.here", []byte("hi"), nil, time.Minute)
	if err != nil || string(m.Data) != "hi" {
		t.Fatalf("an allowed request: %v %v, want its answer", m, err)
	}

	worker := k.ConnectAs(k.Creds(kernel.UserSpec{Name: "ask-worker", Role: kernel.RoleWorker}))
	done := make(chan error, 1)
	go func() {
		_, err := kerneltest.Ask(worker, "echo.here", []byte("hi"), nil, time.Hour)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, nats.ErrPermissionViolation) || !kerneltest.Refused(worker, "echo.here") {
			t.Fatalf("a refused request: %v, want a permissions violation", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a refused request waited out its timeout")
	}
}
