package client_test

import (
	"context"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// A streamed submission's reader is made ahead of its record once the
// events stream keeps as many subjects as asked: counted in the
// background, so the first ask, before any count, makes it after.
func TestReadersAreMadeAheadOnceTheStreamKeepsEnough(t *testing.T) {
	t.Parallel()
	k := kerneltest.Start(t)
	names := bus.Names{}
	manyTasks(t, k.JS, names, 100) // two subjects each
	c := &client.Client{NC: k.NC, Names: names}
	ctx := context.Background()
	if !c.ReadersAhead(ctx, -1) {
		t.Fatal("not made ahead when asked to be always")
	}
	if c.ReadersAhead(ctx, 150) {
		t.Fatal("made ahead before the stream was counted")
	}
	testenv.Eventually(t, "the stream's 200 subjects counted", func() bool { return c.ReadersAhead(ctx, 150) })
	if c.ReadersAhead(ctx, 201) {
		t.Fatal("made ahead with 200 subjects kept, from 201")
	}
}
