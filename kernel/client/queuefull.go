package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/amf-os/amf/kernel/retry"
)

// ErrQueueFull means the tasks queue holds as many bytes as the kernel
// allows: tasks wait there for a worker of their pool, and past the
// bound new ones are refused rather than queued ones dropped. It is not
// a passing fault, so it is answered at once and not retried.
var ErrQueueFull = errors.New("queue full")

// queueFull turns a refused queueing into ErrQueueFull, naming the bound,
// when the tasks stream is at its byte bound; otherwise it is nil. It
// asks the stream rather than read the refusal's wording: the store
// refuses for other reasons too (a full disk).
func (c *Client) queueFull(ctx context.Context, err error, size int) error {
	// A stream with Discard New answers "store failed" at its bound.
	if !retry.Is(err, server.JSStreamStoreFailedF) {
		return nil
	}
	stream, serr := c.JS.Stream(ctx, c.Names.TasksStream())
	if serr != nil {
		return nil
	}
	info := stream.CachedInfo()
	limit := info.Config.MaxBytes
	if limit <= 0 || info.State.Bytes+uint64(size) <= uint64(limit) {
		return nil
	}
	return fmt.Errorf("%w: the task queue holds %d tasks in %s, its limit is %s (the kernel's --tasks-max-mib, AMF_TASKS_MAX_MIB): submit again once workers have taken some, or raise the limit",
		ErrQueueFull, info.State.Msgs, mib(info.State.Bytes), mib(uint64(limit)))
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// ErrStoreFull means the kernel's store has no room: JetStream refuses
// writes past its limit, a share of the kernel's disk. Like a full queue
// it is answered at once; it passes when space is freed on the kernel's
// disk, without a restart.
var ErrStoreFull = errors.New("store full")

// storeFull turns a write JetStream refused for want of storage into
// ErrStoreFull; otherwise it is nil.
func storeFull(err error) error {
	// JetStream's refusal of a write past the server's or the account's
	// storage limit.
	if !retry.Is(err, server.JSInsufficientResourcesErr) {
		return nil
	}
	return fmt.Errorf("%w: the kernel's store is at its limit and takes no new task: free disk space on the kernel's host (tasks already accepted go on; submissions are taken again once there is room)", ErrStoreFull)
}
