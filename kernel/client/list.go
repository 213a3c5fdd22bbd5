package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/amf-os/amf/kernel/bus"
)

// RecentSource lists the statuses of the most recently active tasks: the
// hot cache implements it.
type RecentSource interface {
	RecentStatuses(ctx context.Context, n int) ([]bus.Status, error)
}

// ListWindow is how many recent tasks of every owner a listing for one
// owner looks through for that owner's own.
const ListWindow = 10000

// TaskList is the answer of <prefix>.api.list and of its owners' subjects.
type TaskList struct {
	Tasks []bus.Status `json:"tasks"`
}

// ListRequest is the body of a list request; an empty body asks for
// DefaultListLimit.
type ListRequest struct {
	Limit int `json:"limit,omitempty"`
}

// DefaultListLimit is how many tasks a listing answers unless asked.
const DefaultListLimit = 50

// MaxListLimit is the most tasks one listing answers.
const MaxListLimit = 1000

// List returns up to n of the most recently active tasks the caller may
// see, newest first: through the task API for a part that holds a client
// credential (ViaAPI), else from recent (the hot cache).
func (c *Client) List(ctx context.Context, recent RecentSource, n int) ([]bus.Status, error) {
	if n < 1 || n > MaxListLimit {
		return nil, fmt.Errorf("%w: limit %d: want a whole number from 1 to %d", bus.ErrInvalidTask, n, MaxListLimit)
	}
	a := c.access(ctx)
	if c.ViaAPI || recent == nil {
		body, _ := json.Marshal(ListRequest{Limit: n})
		reply, err := c.request(ctx, c.readSubject(a, "list"), body)
		if err != nil {
			return nil, fmt.Errorf("list tasks: %w", err)
		}
		var l TaskList
		if err := json.Unmarshal(reply, &l); err != nil {
			return nil, fmt.Errorf("%w: list answered %q", ErrUnavailable, reply)
		}
		return Visible(a, l.Tasks, n), nil
	}
	window := n
	if !a.SeeAll && !a.ActAll {
		window = ListWindow
	}
	all, err := recent.RecentStatuses(ctx, window)
	if err != nil {
		return nil, fmt.Errorf("%w: list tasks: %v", ErrUnavailable, err)
	}
	return Visible(a, all, n), nil
}
