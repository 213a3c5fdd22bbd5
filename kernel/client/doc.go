// Package client is the client side of the bus: submitting, inspecting,
// watching and cancelling tasks, shared by the HTTP bridge, the CLI and
// the kernel's task API (kernel/api) so every entry point behaves the
// same. It publishes and reads messages only; it never runs a command.
package client
