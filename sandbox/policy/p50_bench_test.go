package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/amf-os/amf/sandbox/policy/internal/baseline"
)

// BenchmarkValidateP50 measures what validating one command costs, as
// the median over the tldr-pages corpus (29,496 commands written by
// people who are not this checker's authors), for the checker and, in
// the same run, for the checker as it was before the operand table
// (internal/baseline). Read the p50-ns and p90-ns metrics side by side.
func BenchmarkValidateP50(b *testing.B) {
	corpus := tldrCorpus(b)
	cmds := make([]string, len(corpus))
	for i, ex := range corpus {
		cmds[i] = ex.command
	}
	for _, tc := range []struct {
		name     string
		validate func(string) error
	}{
		{"baseline", func(c string) error { return baseline.Validate(c, "strict") }},
		{"current", func(c string) error { return Validate(c, "strict") }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			took := make([]time.Duration, 0, len(cmds))
			for b.Loop() {
				took = took[:0]
				for _, c := range cmds {
					start := time.Now()
					tc.validate(c)
					took = append(took, time.Since(start))
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(took[len(took)*9/10].Nanoseconds()), "p90-ns")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(cmds)), "mean-ns")
		})
	}
}
