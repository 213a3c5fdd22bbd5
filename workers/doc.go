// Package workers is the swarm worker: it pulls tasks of its pool from
// JetStream, turns instructions into commands with the model, runs them
// through the sandbox, publishes every step as an event, heartbeats its
// presence and drains on shutdown. It never listens for clients.
package workers
