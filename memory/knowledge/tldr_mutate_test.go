package knowledge_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/amf-os/amf/memory/knowledge"
)

// A mutation turns an instruction into a different request in nearly
// the same words, the way the near-misses a replay must never confuse
// differ: another connective, time field, scope, comparison, negation,
// literal or order of names.
type mutation struct {
	name string
	fn   func(string) (string, bool)
}

// swapWords replaces the first whole word of a group with the next one
// of its group.
func swapWords(groups ...[]string) func(string) (string, bool) {
	return func(s string) (string, bool) {
		for _, g := range groups {
			for i, w := range g {
				re := regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(w) + `\b`)
				if loc := re.FindStringIndex(s); loc != nil {
					return s[:loc[0]] + g[(i+1)%len(g)] + s[loc[1]:], true
				}
			}
		}
		return s, false
	}
}

// editLiteral changes the first token that holds a digit, a dot, a slash
// or a glob character with edit.
func editLiteral(edit func(string) string) func(string) (string, bool) {
	return func(s string) (string, bool) {
		fields := strings.Fields(s)
		for i, f := range fields {
			core := strings.TrimRight(f, ",.;:)")
			if len(core) < 2 || !strings.ContainsAny(core, "0123456789./*~$") {
				continue
			}
			if e := edit(core); e != core {
				fields[i] = e + f[len(core):]
				return strings.Join(fields, " "), true
			}
		}
		return s, false
	}
}

var mutations = []mutation{
	{"connective", swapWords([]string{"and", "or"})},
	{"time field", swapWords([]string{"modified", "changed", "accessed", "created"})},
	{"comparison", swapWords([]string{"more", "less"}, []string{"larger", "smaller"}, []string{"newer", "older"},
		[]string{"first", "last"}, []string{"before", "after"}, []string{"above", "below"}, []string{"all", "some"})},
	{"negation", swapWords([]string{"with", "without"}, []string{"including", "excluding"})},
	{"scope", swapWords([]string{"in", "under"}, []string{"recursively", "non-recursively"})},
	{"scope added", func(s string) (string, bool) { return strings.TrimRight(s, ". ") + " recursively", true }},
	{"here added", func(s string) (string, bool) { return strings.TrimRight(s, ". ") + " here", true }},
	{"only added", func(s string) (string, bool) { return "Only " + strings.ToLower(s[:1]) + s[1:], true }},
	{"not added", func(s string) (string, bool) { return "Do not " + strings.ToLower(s[:1]) + s[1:], true }},
	{"literal case", editLiteral(func(l string) string {
		for i, r := range l {
			if unicode.IsLetter(r) {
				flip := unicode.ToUpper(r)
				if unicode.IsUpper(r) {
					flip = unicode.ToLower(r)
				}
				return l[:i] + string(flip) + l[i+len(string(r)):]
			}
		}
		return l
	})},
	{"trailing slash", editLiteral(func(l string) string {
		if strings.HasSuffix(l, "/") {
			return strings.TrimSuffix(l, "/")
		}
		return l + "/"
	})},
	{"home prefix", editLiteral(func(l string) string { return "~/" + strings.TrimPrefix(l, "/") })},
	{"glob to regex", editLiteral(func(l string) string { return strings.Replace(l, "*", ".*", 1) })},
	{"number", editLiteral(func(l string) string {
		return regexp.MustCompile(`[0-9]`).ReplaceAllStringFunc(l, func(d string) string { return string('0' + (d[0]-'0'+1)%10) })
	})},
}

// TestPublicMutations: every description of the held-out slice, changed
// by each mutation that applies, is a different request; the agreement
// alone must refuse every one, whatever an embedder would score.
func TestPublicMutations(t *testing.T) {
	examples := readTLDR(t, "testdata/tldr/heldout.tsv")
	c := knowledge.Calibration{Embedder: "any", Threshold: 0}
	total, agreed := 0, 0
	for _, m := range mutations {
		n := 0
		for _, e := range examples {
			mutated, ok := m.fn(e.description)
			if !ok || mutated == e.description {
				continue
			}
			n++
			if ok, _ := c.Reusable(1, mutated, e.description); ok {
				agreed++
				t.Errorf("%s: %q agrees with %q", m.name, mutated, e.description)
			}
		}
		t.Logf("%-15s %5d mutated descriptions", m.name, n)
		if n == 0 {
			t.Errorf("%s applies to no description: the slice no longer tests it", m.name)
		}
		total += n
	}
	t.Logf("held-out mutations: %d, agreeing: %d", total, agreed)
}
