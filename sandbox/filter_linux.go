package sandbox

import (
	"fmt"
	"sync"

	"github.com/amf-os/amf/sandbox/internal/child"
	"github.com/amf-os/amf/sandbox/internal/seccompfilter"
)

// seccompMessage is the seccomp filter every init installs, assembled
// once per process and sent to each init ready to install: assembling it
// took every init ~0.5 ms of CPU, and initialising the assembler's
// architecture tables ~0.3 ms more, for the same program each time.
var seccompMessage = sync.OnceValues(func() ([]byte, error) {
	f, err := seccompfilter.Program()
	if err != nil {
		return nil, fmt.Errorf("seccomp filter: %w", err)
	}
	return child.FilterMessage(f), nil
})
