// Package knowledge is a worker's copy of what the fleet learned: a
// chromem-go collection built from the AMF_MEMORY stream and followed
// live, saved with chromem-go's export beside its stream position, and
// searched by a flat accelerator over the same vectors (recall) or by
// chromem-go's filtered query. Serve answers `amf memory search` from it
// over NATS. The embedders that turn instructions into vectors (local,
// Ollama) live here too.
package knowledge
