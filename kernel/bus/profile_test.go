package bus

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckProfile(t *testing.T) {
	custom := Offer{Profiles: map[string][]string{"strict": nil, "gpu-jobs": nil}}
	other := Offer{Profiles: map[string][]string{"strict": nil, "net-only": nil}}
	for _, tc := range []struct {
		name          string
		policy        string
		served, fleet []Offer
		want          string // "" = accepted; else in the refusal
	}{
		{"none asked", "", nil, nil, ""},
		{"built-in before any heartbeat", "network", nil, nil, ""},
		{"unknown before any heartbeat", "nonsense", nil, nil, "strict, trusted, workspace"},
		{"served by the pool", "gpu-jobs", []Offer{custom}, []Offer{custom, other}, ""},
		{"served elsewhere only", "net-only", []Offer{custom}, []Offer{custom, other}, "gpu-jobs, strict"},
		{"pool without offers: the fleet's", "net-only", nil, []Offer{other}, ""},
		{"built-in not served by the pool", "trusted", []Offer{custom}, nil, `unknown profile "trusted"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckProfile(Task{Policy: tc.policy}, tc.served, tc.fleet)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !errors.Is(err, ErrInvalidTask) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want ErrInvalidTask naming %q", err, tc.want)
			}
		})
	}
}
