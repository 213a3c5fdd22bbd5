// Package api is the kernel's task API on NATS: a micro service,
// discoverable with `nats micro ls`, that submits, inspects and cancels
// tasks, lists workers and pools, and keeps schedules, each request
// answered through a kernel/client.Client. It publishes and reads
// messages only; it never runs a command.
package api
