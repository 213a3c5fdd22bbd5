package policy

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Validation must cost memory linear in the command's length: at most
// allocPerByte bytes allocated per input byte, plus allocBase. The parser
// alone allocates a few hundred bytes per byte of dense input.
const (
	allocPerByte = 1024
	allocBase    = 512 << 10
)

// validateAlloc validates cmd under profile and returns the bytes
// allocated meanwhile.
func validateAlloc(pol *Policy, cmd, profile string) (error, uint64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := pol.Validate(cmd, profile)
	runtime.ReadMemStats(&after)
	return err, after.TotalAlloc - before.TotalAlloc
}

// FuzzValidate feeds arbitrary text to every profile: validation must
// never panic, must answer quickly with nil or a *Refusal, and must
// allocate no more than linearly in the input's size.
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
	// Shapes that once made validation slow or large: long pipelines,
	// deep paths, values that double, words with many brace groups,
	// a written script run many times.
	f.Add(strings.Repeat("ls|", 10000) + "ls")
	f.Add("cat " + strings.Repeat("/*", 5000))
	f.Add("cat /" + strings.Repeat("*a", 2000))
	f.Add(strings.Repeat("echo $(", 500) + strings.Repeat(")", 500))
	f.Add("a=x; " + strings.Repeat("a=$a$a; ", 29) + "sudo")
	f.Add(strings.Repeat("{a,b}", 1000))
	f.Add("echo '" + strings.Repeat("ls;", 300) + "' > s; " + strings.Repeat("sh s; ", 300))
	pol := DefaultPolicy()
	f.Fuzz(func(t *testing.T, cmd string) {
		for _, name := range pol.Names() {
			start := time.Now()
			err, alloc := validateAlloc(pol, cmd, name)
			// A hang detector, not a speed target: the bound on
			// allocation above is what keeps the work linear.
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("validation of %.200q (%d bytes) took %v", cmd, len(cmd), d)
			}
			if limit := uint64(allocPerByte*len(cmd) + allocBase); alloc > limit {
				t.Fatalf("validation of %d bytes allocated %d bytes under %s; the bound is %d", len(cmd), alloc, name, limit)
			}
			var r *Refusal
			if err != nil && !errors.As(err, &r) {
				t.Fatalf("%.200q: error %v is not a *Refusal", cmd, err)
			}
		}
	})
}
