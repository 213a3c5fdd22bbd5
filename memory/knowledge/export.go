package knowledge

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/amf-os/amf/kernel/bus"
)

// Exported is one line of `amf memory export`: the learned record and
// what the fleet knows of its outcomes. Import reads the record and
// ignores the counts and the confirmation: what another fleet proved is
// an example here until it works on another worker credential too, or
// a user here confirms it.
type Exported struct {
	bus.Learned
	Successes   int    `json:"successes"`
	Failures    int    `json:"failures"`
	ConfirmedBy string `json:"confirmed_by,omitempty"`
}

// Export writes every memory as one JSON line, oldest first.
func (k *Knowledge) Export(w io.Writer) (int, error) {
	enc := json.NewEncoder(w)
	all := k.all()
	for _, e := range all {
		if err := enc.Encode(Exported{Learned: e.Rec, Successes: e.Successes, Failures: e.Failures, ConfirmedBy: e.ConfirmedBy}); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
	}
	return len(all), nil
}
