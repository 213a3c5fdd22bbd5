// Package bus is the contract every part of AMF-OS speaks on NATS: subject
// names, stream and bucket configurations, header names, and the task,
// event, status and heartbeat types with their JSON codec. It imports no
// other AMF-OS package so that anything (including plain NATS clients
// written in other languages) can follow it from this one place.
package bus
