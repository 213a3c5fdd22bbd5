// Package cache is the hot cache of AMF-OS: task status, session turns
// and worker presence, in Redis (go-redis) or, when no Redis is set, in
// the kernel's JetStream KV. The kernel's status projector (kernel/status)
// keeps task status in it from the AMF_EVENTS stream, which stays the
// record of truth.
package cache
