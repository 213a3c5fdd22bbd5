package memory

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/amf-os/amf/kernel/bus"
)

// ImportResult counts what an import did.
type ImportResult struct {
	Learned int
	// Skipped lists the lines that were not records, with why.
	Skipped []error
}

// Import publishes each JSON line of r as a learned record; blank lines
// are ignored, bad lines are skipped and reported. progress (optional) is
// called after each line with the count of lines read. The records go
// on the bare learned subject, which only admins may publish on and
// every index takes as it is: an import is an operator's word, and the
// tasks that taught its records may be long gone, so no kernel could
// vouch for them (kernel/vouch).
func (p Publisher) Import(ctx context.Context, r io.Reader, progress func(lines int)) (ImportResult, error) {
	var res ImportResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 2*bus.MaxMemoryBytes)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text != "" {
			rec, err := bus.DecodeLearned([]byte(text))
			if err == nil {
				_, err = p.learnOn(ctx, p.Names.Learned(), rec)
			}
			switch {
			case err == nil:
				res.Learned++
			case errors.Is(err, bus.ErrInvalidMemory):
				res.Skipped = append(res.Skipped, fmt.Errorf("%w: line %d: %w", ErrImportLine, line, err))
			default:
				return res, fmt.Errorf("import line %d: %w", line, err)
			}
		}
		if progress != nil {
			progress(line)
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("import after line %d: %w", line, err)
	}
	return res, nil
}
