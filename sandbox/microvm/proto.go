package microvm

import (
	"encoding/binary"
	"fmt"
	"io"
)

// The agent protocol, over one virtio-serial port: frames of a type
// byte, a big-endian uint32 length and the payload. The guest sends
// frameReady once booted; the host sends one frameTask; the guest
// streams frameStdout/frameStderr chunks and ends with frameExit, or
// frameFail when it could not run the command at all.
const (
	frameReady  = 'R'
	frameTask   = 'T'
	frameStdout = 'O'
	frameStderr = 'E'
	frameExit   = 'X'
	frameFail   = 'F'

	// maxFrame bounds a frame; output is sent in chunks well below it.
	maxFrame = 1 << 20
	// chunkSize is the largest output chunk the agent sends.
	chunkSize = 32 << 10
)

// Task is the command the host hands a booted guest.
type Task struct {
	// Command is shell text, run as bash -c -- Command.
	Command string   `json:"command"`
	Env     []string `json:"env"`
	// UID and GID the command runs as inside the guest. They are also
	// the owner of what it writes in the work dir on the host (9p
	// passthrough), so they are an otherwise unused host id.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// WorkSub is the subdirectory of the work share that is the work
	// dir ("" for the share itself).
	WorkSub string `json:"work_sub"`
	// Limits applied in the guest: a cgroup for memory, processes and
	// CPU, rlimits for the rest, a size-capped /tmp.
	Memory    int64   `json:"memory"`
	Processes int64   `json:"processes"`
	CPUs      float64 `json:"cpus"`
	CPUTime   int64   `json:"cpu_seconds"`
	FileSize  uint64  `json:"file_size"`
	OpenFiles uint64  `json:"open_files"`
	Tmp       int64   `json:"tmp"`
	// DNS is the DNS server the guest's resolv.conf names, for a guest
	// with a network.
	DNS string `json:"dns,omitempty"`
}

// Exit is how the command ended, as the guest saw it.
type Exit struct {
	Code      int    `json:"code"`
	Signal    string `json:"signal,omitempty"`
	PeakMemKB int64  `json:"peak_mem_kb"`
	// OOM is set when the memory limit killed a process of the command;
	// PidsMax when a fork failed at the process limit.
	OOM     bool `json:"oom,omitempty"`
	PidsMax bool `json:"pids_max,omitempty"`
}

func writeFrame(w io.Writer, typ byte, payload []byte) error {
	if len(payload) > maxFrame {
		return fmt.Errorf("%w: frame of %d bytes is over the %d limit", ErrAgent, len(payload), maxFrame)
	}
	buf := make([]byte, 5+len(payload))
	buf[0] = typ
	binary.BigEndian.PutUint32(buf[1:5], uint32(len(payload)))
	copy(buf[5:], payload)
	_, err := w.Write(buf)
	return err
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("%w: frame of %d bytes is over the %d limit", ErrAgent, n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return hdr[0], b, nil
}
