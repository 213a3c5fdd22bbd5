package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// apiCall asks the kernel's task API (<prefix>.api.<what>) and returns
// the answer's body, or the error the kernel answered with its code.
func apiCall(ctx context.Context, nc *nats.Conn, subject string, body []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
	}
	msg, err := nc.RequestWithContext(ctx, subject, body)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, fmt.Errorf("nothing serves %s: is the kernel at %s running (amf up or amf kernel)?", subject, nc.ConnectedUrlRedacted())
	case err != nil:
		return nil, fmt.Errorf("%s: %w", subject, err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return nil, fmt.Errorf("%s answered %s: %s", subject, code, msg.Header.Get("Nats-Service-Error"))
	}
	return msg.Data, nil
}
