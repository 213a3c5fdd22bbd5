package policy

import (
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"
)

// BenchmarkValidate validates the whole benign corpus once per
// iteration, beside its baseline: parsing the same commands, which every
// validation does first.
func BenchmarkValidate(b *testing.B) {
	cmds := benignCorpus(b)
	doubling := "a=x; " + strings.Repeat("a=$a$a; ", 29) + "sudo"
	b.Run("parse-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range cmds {
				syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(c), "")
			}
		}
	})
	b.Run("validate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range cmds {
				Validate(c, "")
			}
		}
	})
	b.Run("doubling-29", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Validate(doubling, "")
		}
	})
}

// BenchmarkDirect decides, for the whole benign corpus, which commands
// run without the shell: a second parse on the task's path, beside the
// validation it follows (BenchmarkValidate) and the shell's start it
// saves (~4 ms of CPU here).
func BenchmarkDirect(b *testing.B) {
	cmds := benignCorpus(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range cmds {
			Direct(c, nil)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(cmds)), "µs/command")
}
