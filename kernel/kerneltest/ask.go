package kerneltest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Ask sends data on subject as nc and waits up to timeout for the answer.
// A publish nats-server refuses nc is dropped with an -ERR and never
// answered, so a plain request would only time out: Ask flushes, and
// returns an error wrapping nats.ErrPermissionViolation at once when the
// server refused nc that subject. Attack tests use it to see a denial
// without waiting for nothing.
func Ask(nc *nats.Conn, subject string, data []byte, hdr nats.Header, timeout time.Duration) (*nats.Msg, error) {
	inbox, err := nc.SubscribeSync(nc.NewRespInbox())
	if err != nil {
		return nil, fmt.Errorf("subscribe to an inbox: %w", err)
	}
	defer func() { _ = inbox.Unsubscribe() }()
	if err := nc.PublishMsg(&nats.Msg{Subject: subject, Reply: inbox.Subject, Data: data, Header: hdr}); err != nil {
		return nil, fmt.Errorf("publish on %s: %w", subject, err)
	}
	// The server sends the -ERR of a refused publish before its answer
	// to the flush's ping.
	if err := nc.Flush(); err != nil {
		return nil, fmt.Errorf("flush: %w", err)
	}
	if Refused(nc, subject) {
		return nil, nc.LastError()
	}
	m, err := inbox.NextMsg(timeout)
	if err != nil {
		return nil, fmt.Errorf("no answer on %s: %w", subject, err)
	}
	return m, nil
}

// Refused reports whether the last error nats-server sent nc is a
// permissions violation naming subject. Call it after a flush.
func Refused(nc *nats.Conn, subject string) bool {
	err := nc.LastError()
	return errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`)
}
