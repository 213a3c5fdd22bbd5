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
}
