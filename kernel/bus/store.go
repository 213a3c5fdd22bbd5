package bus

import (
	"encoding/json"
	"time"
)

// StoreReport is what a kernel announces about its JetStream store on
// Names.KernelStore every few seconds: whether it has room for more, and
// if not, why. Core NATS carries it, so it arrives when the store itself
// takes nothing more.
type StoreReport struct {
	Server string `json:"server"`
	// Full means the kernel refuses new tasks: the store reached its
	// limit, a share of its disk.
	Full   bool   `json:"full"`
	Reason string `json:"reason,omitempty"`
	// Used, Reserved and Limit are the store's bytes in use, reserved by
	// bounded streams, and allowed; Free is the disk's free space.
	Used     uint64    `json:"used"`
	Reserved uint64    `json:"reserved"`
	Limit    int64     `json:"limit"`
	Free     uint64    `json:"free"`
	TS       time.Time `json:"ts"`
}

// Encode is the report's JSON.
func (r StoreReport) Encode() []byte {
	b, _ := json.Marshal(r)
	return b
}

// KernelStore is where kernels announce their store: amf.kernel.store.
func (n Names) KernelStore() string { return n.p() + ".kernel.store" }
