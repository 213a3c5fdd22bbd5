package sandbox

import (
	"errors"
	"strings"
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
	// Shapes that once made validation slow: long pipelines, deep paths.
	f.Add(strings.Repeat("ls|", 10000) + "ls")
	f.Add("cat " + strings.Repeat("/*", 5000))
	f.Add("cat /" + strings.Repeat("*a", 2000))
	f.Add(strings.Repeat("echo $(", 500) + strings.Repeat(")", 500))
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
