// Package memory owns what AMF-OS remembers: tactical knowledge (a
// chromem-go index of successful commands, materialised on every worker
// from the AMF_MEMORY stream) and the hot cache of sessions, task status
// and worker presence (Redis, or JetStream KV when no Redis is set).
package memory
