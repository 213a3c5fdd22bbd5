package client

// Submitted is the reply to a submit request.
type Submitted struct {
	ID        string `json:"id"`
	Pool      string `json:"pool"`
	Duplicate bool   `json:"duplicate,omitempty"`
	Events    string `json:"events_subject"`
	// Warning says why the task may wait: no live worker serves its
	// pool (NoWorker).
	Warning string `json:"warning,omitempty"`
	// Consumer is the reader's consumer the kernel made for a submission
	// that asked for its stream (bus.HeaderDeliver); empty when it made
	// none, and the submitter opens the stream as any reader does, which
	// says why it cannot be opened.
	Consumer string `json:"consumer,omitempty"`
}
