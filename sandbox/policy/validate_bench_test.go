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
