package bus

// MemoryServiceName is the NATS micro service every worker adds to
// answer memory searches from its index: "amf-memory".
func (n Names) MemoryServiceName() string { return n.p() + "-memory" }

// MemorySearch is the request/reply subject of a memory search over
// every owner's memories: "amf.api.memory.search". Only admins, the
// bridge (for its admin and read-all tokens) and read-all credentials may
// publish on it.
func (n Names) MemorySearch() string { return n.API() + ".memory.search" }

// memorySearchOp is the operation of an owner's memory search.
const memorySearchOp = "memory.search"

// MemorySearchAs is owner o's memory search, which sees o's memories and
// the shared ones (the installation's, and those an admin confirmed):
// "amf.api.as.<owner>.memory.search". nats-server lets a client
// credential publish only under its own owner, so the subject, never the
// body, says whose memories a search sees.
func (n Names) MemorySearchAs(o Owner) string { return n.As(o, memorySearchOp) }

// MemorySearchAny is what a worker's index serves to answer every
// owner's searches: "amf.api.as.*.memory.search".
func (n Names) MemorySearchAny() string { return n.API() + ".as.*." + memorySearchOp }

// memoryListOp is the operation of a memory listing.
const memoryListOp = "memory.list"

// MemoryList lists every owner's memories (amf memory ls by an admin or
// a read-all credential): "amf.api.memory.list". Who may publish on it
// is MemorySearch's company.
func (n Names) MemoryList() string { return n.API() + "." + memoryListOp }

// MemoryListAs lists owner o's memories and the shared ones:
// "amf.api.as.<owner>.memory.list".
func (n Names) MemoryListAs(o Owner) string { return n.As(o, memoryListOp) }

// MemoryListAny is what a worker's index serves to answer every owner's
// listings: "amf.api.as.*.memory.list".
func (n Names) MemoryListAny() string { return n.API() + ".as.*." + memoryListOp }

// MemoryConfirm is the request/reply subject by which a user about to
// confirm a memory for blind reuse asks a worker whether it exists:
// "amf.api.memory.confirm". Who may send it is the credential's
// permission (kernel roles): admins and the bridge, who then publish the
// confirmation (MemoryConfirmed) themselves.
func (n Names) MemoryConfirm() string { return n.API() + ".memory.confirm" }
