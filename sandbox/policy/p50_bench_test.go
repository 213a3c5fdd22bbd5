package policy

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkValidateP50 measures what validating one command costs, as
// the median over the tldr-pages corpus (29,496 commands written by
// people who are not this checker's authors). Against an earlier build:
// AMF_BENCH_PKG=./sandbox/policy AMF_BENCH_PATTERN=ValidateP50
// bench/compare.sh REF, which runs both builds' benchmark interleaved.
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
