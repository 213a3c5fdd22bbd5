package bus

import (
	"strings"
	"time"
)

// Whose a learned record is. A worker credential publishes its successes
// on its own subject (LearnedBy), and nats-server vouches for which
// credential that was, not for what the record says: its owner and task
// are the worker's word. From the VouchingStart marker on, the indexes
// take a record published on a credential's subject only through the
// kernel's Vouched copy of it, which the kernel stores once it has seen
// that the record's task was accepted for the owner it names (the
// kernel's accepted event) and that the same credential stored an event
// of that task in the task's pool. Records on the bare Learned subject
// (admins only) are taken as they are, as are those stored before the
// marker (there was no vouching then, and their tasks' events may have
// expired since).

// MemoryVouched carries the kernel's verdicts on learned records:
// amf.memory.vouched. Only the kernel and admins may publish on it.
func (n Names) MemoryVouched() string { return n.p() + ".memory.vouched" }

// MemoryVouching carries the one VouchingStart marker:
// amf.memory.vouching.
func (n Names) MemoryVouching() string { return n.p() + ".memory.vouching" }

// Vouched is the kernel's verdict on the learned record stored at Seq on
// LearnedBy(Cred): Record is the record as the indexes learn it, or
// Refused says why none does.
type Vouched struct {
	Seq     uint64    `json:"seq"`
	Cred    string    `json:"cred"`
	Record  *Learned  `json:"record,omitempty"`
	Refused string    `json:"refused,omitempty"`
	TS      time.Time `json:"ts"`
}

// VouchingStart marks where vouching began on the memory stream: a
// record on a credential's learned subject stored after it counts only
// through a Vouched copy.
type VouchingStart struct {
	TS time.Time `json:"ts"`
}

// voucherNamePrefix starts the names of the memory voucher's consumers.
const voucherNamePrefix = "memory-voucher"

// VoucherNamePrefix is the name prefix of the consumer the kernel's
// memory voucher reads the learned records through (an ordered
// consumer: nats.go adds a sequence to it).
func VoucherNamePrefix() string { return voucherNamePrefix }

// IsVoucherName reports whether a consumer name is the memory voucher's.
func IsVoucherName(name string) bool { return strings.HasPrefix(name, voucherNamePrefix) }
