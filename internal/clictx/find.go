package clictx

import (
	"errors"
	"fmt"
	"os"
)

// Found is the context a client command follows and why that one.
type Found struct {
	Context
	// Path is the file it came from.
	Path string
	// Why says how Path was chosen, for `amf context` and errors.
	Why string
}

// Lookup says where a client looks: the file AMF_CONTEXT (or --context)
// names, else the state dir it was told to use, else the user's chosen
// context, else the default state dir's.
type Lookup struct {
	// File is a context file named by --context / AMF_CONTEXT; it must
	// exist.
	File string
	// StateDir is the state dir named by --state-dir / AMF_STATE_DIR;
	// when set, only its context applies: another installation's
	// credential would not be accepted by this one's kernel.
	StateDir string
	// DefaultStateDir is where `amf up` keeps its state when not told.
	DefaultStateDir string
}

// Find returns the context that applies, or ok false when none does.
func (l Lookup) Find() (f Found, ok bool, err error) {
	try := func(path, why string, must bool) (bool, error) {
		c, err := Read(path)
		switch {
		case err == nil:
			f = Found{Context: c, Path: path, Why: why}
			return true, nil
		case errors.Is(err, ErrNoContext) && !must:
			return false, nil
		}
		return false, err
	}
	if l.File != "" {
		ok, err := try(l.File, "named by --context / "+EnvFile, true)
		if err != nil {
			return Found{}, false, fmt.Errorf("%w (from --context / %s)", err, EnvFile)
		}
		return f, ok, nil
	}
	if l.StateDir != "" {
		ok, err := try(StatePath(l.StateDir), "the kernel of the state dir named by --state-dir / AMF_STATE_DIR", false)
		return f, ok, err
	}
	if p, err := UserPath(); err == nil {
		if ok, err := try(p, "chosen with `amf context use`", false); ok || err != nil {
			return f, ok, err
		}
	}
	if l.DefaultStateDir != "" {
		ok, err := try(StatePath(l.DefaultStateDir), "written by the last `amf up` / `amf kernel` on the default state dir", false)
		return f, ok, err
	}
	return Found{}, false, nil
}

// Gone says why the kernel that wrote c is known to be gone: its process
// on this host no longer exists. It is empty when that is not known (the
// kernel is on another host, or its process lives).
func (c Context) Gone() string {
	if c.PID <= 0 || c.Host == "" {
		return ""
	}
	if h, err := os.Hostname(); err != nil || h != c.Host {
		return ""
	}
	p, err := os.FindProcess(c.PID)
	if err == nil && signalZero(p) == nil {
		return ""
	}
	return fmt.Sprintf("its process %d is gone", c.PID)
}
