package sandbox

import (
	"errors"
	"testing"
	"time"
)

// FuzzValidate feeds arbitrary text to every profile: validation must
// never panic, must answer quickly, and must answer nil or a *Refusal.
func FuzzValidate(f *testing.F) {
	for _, tc := range hostile {
		f.Add(tc.cmd)
	}
	for _, c := range everyday[:40] {
		f.Add(c)
	}
	f.Add("{1..100}{1..100}{1..100}")
	f.Add("eval eval eval eval eval eval sudo")
	f.Add("sh -c 'sh -c \"sh -c \\\"sh -c sudo\\\"\"'")
	pol := DefaultPolicy()
	f.Fuzz(func(t *testing.T, cmd string) {
		for _, name := range pol.Names() {
			start := time.Now()
			err := pol.Validate(cmd, name)
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("validation of %q took %v", cmd, d)
			}
			var r *Refusal
			if err != nil && !errors.As(err, &r) {
				t.Fatalf("%q: error %v is not a *Refusal", cmd, err)
			}
		}
	})
}
