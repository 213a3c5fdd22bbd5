package bus

// MemoryServiceName is the NATS micro service every worker adds to
// answer memory searches from its index: "amf-memory".
func (n Names) MemoryServiceName() string { return n.p() + "-memory" }

// MemorySearch is the request/reply subject of a memory search:
// "amf.api.memory.search".
func (n Names) MemorySearch() string { return n.API() + ".memory.search" }

// MemoryConfirm is the request/reply subject by which a user about to
// confirm a memory for blind reuse asks a worker whether it exists:
// "amf.api.memory.confirm". Who may send it is the credential's
// permission (kernel roles): admins and the bridge, who then publish the
// confirmation (MemoryConfirmed) themselves.
func (n Names) MemoryConfirm() string { return n.API() + ".memory.confirm" }
