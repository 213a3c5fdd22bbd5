package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/amf-os/amf/kernel/bus"
)

// ErrQuota means one owner holds as much as the kernel lets one owner
// hold: that owner's submission is refused, everyone else's goes on. It
// is not a passing fault: it is answered at once and not retried.
var ErrQuota = errors.New("quota reached")

// QuotaError is a refusal by one owner's quota, naming the limit, how
// far the owner is, and how to raise it.
type QuotaError struct {
	Owner bus.Owner
	// Limit names the limit: "tasks", "task-bytes" or LimitScheduleBytes.
	Limit string
	// Held and Max are what the owner holds and may hold (tasks, bytes).
	Held, Max int64
	// Setting is the kernel flag and its environment twin.
	Setting string
}

// LimitScheduleBytes is the limit of the bytes of the schedules store
// one owner's schedules take.
const LimitScheduleBytes = "schedule-bytes"

func (e *QuotaError) Error() string {
	if e.Limit == LimitScheduleBytes {
		return fmt.Sprintf("%s: %s: %s's schedules take %s of the schedules store (each counted with the runs it keeps), and this one would pass %s, the most one owner may (the kernel's %s): delete some (amf schedule ls, amf schedule rm), make this one smaller, or have the operator raise the limit",
			ErrQuota, e.Limit, ownerName(e.Owner), mib(uint64(e.Held)), mib(uint64(e.Max)), e.Setting)
	}
	what := fmt.Sprintf("%d queued or running tasks", e.Held)
	if e.Limit == "task-bytes" {
		what = fmt.Sprintf("%s of queued or running tasks", mib(uint64(e.Held)))
	}
	return fmt.Sprintf("%s: %s: %s holds %s, the most one owner may (the kernel's %s): wait for some to end or cancel some (amf tasks ls, amf tasks cancel), or have the operator raise the limit",
		ErrQuota, e.Limit, ownerName(e.Owner), what, e.Setting)
}

func (e *QuotaError) Unwrap() error { return ErrQuota }

func ownerName(o bus.Owner) string {
	if o == "" {
		return "the installation"
	}
	return "owner " + string(o)
}

// quotaText reports whether a 429 the task API answered is an owner's
// quota rather than the full queue.
func quotaText(text string) bool { return strings.HasPrefix(text, ErrQuota.Error()) }
