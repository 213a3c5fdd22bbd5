// Package memory is what every part that uses the fleet's memory shares,
// with no store behind it: the value types a worker reads (Match, Turn),
// the writer of the AMF_MEMORY stream (Publisher, Import) and the facts
// that describe a host. The stores live below it: memory/knowledge is
// the vector index every worker builds from the stream (chromem-go), and
// memory/cache is the hot cache (Redis or JetStream KV) with the status
// projector. Importing this package pulls in neither store.
package memory
