// Package vouch owns the kernel's memory voucher: it reads every record a
// credential published on its own learned subject and stores, on
// amf.memory.vouched, the kernel's verdict on it. The indexes
// (memory/knowledge) learn a record a worker credential published only
// from its vouched copy, so that a worker credential can teach memories
// only for owners whose tasks it ran (bus/vouch.go).
package vouch
