package policy

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// tldrExample is one command of the tldr-pages corpus, placeholders
// filled.
type tldrExample struct {
	page, command string
}

// placeholder is a tldr {{…}} placeholder.
var placeholder = regexp.MustCompile(`\{\{(.*?)\}\}`)

// fillPlaceholders replaces tldr's placeholders with what a person would
// type: the first of the alternatives ({{[-r|--recursive]}},
// {{bash|zsh}}), the sample
// without its trailing "..." ({{file1 file2 ...}}), paths as written
// (path/to/file is relative, so under the work dir).
func fillPlaceholders(cmd string) string {
	return placeholder.ReplaceAllStringFunc(cmd, func(m string) string {
		v := m[2 : len(m)-2]
		switch {
		case strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") && strings.Contains(v, "|"):
			v, _, _ = strings.Cut(v[1:len(v)-1], "|")
		case strings.Contains(v, "|") && !strings.Contains(v, " | "):
			// {{bash|zsh|fish}}: the older spelling of alternatives.
			v, _, _ = strings.Cut(v, "|")
		}
		v = strings.TrimSuffix(v, "...")
		v = strings.TrimRight(v, " ,")
		if v == "" {
			v = "x"
		}
		return v
	})
}

// tldrCorpus reads the vendored corpus (testdata/tldr).
func tldrCorpus(t testing.TB) []tldrExample {
	t.Helper()
	f, err := os.Open("testdata/tldr/examples.tsv.gz")
	if err != nil {
		t.Fatalf("open the tldr corpus: %v", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("read the tldr corpus: %v", err)
	}
	var out []tldrExample
	sc := bufio.NewScanner(z)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for first := true; sc.Scan(); first = false {
		if first {
			continue // the header
		}
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			t.Fatalf("tldr corpus line %q: want 3 fields", sc.Text())
		}
		out = append(out, tldrExample{page: fields[1], command: fillPlaceholders(fields[2])})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the tldr corpus: %v", err)
	}
	return out
}

// refusalClass is how a refusal on the tldr corpus was judged by hand.
type refusalClass struct {
	class, rule string
}

// Classes of refusal (testdata/tldr/refusals.tsv).
const (
	classPolicy    = "policy"    // the reason is true and the profile documents the rule
	classMisjudged = "misjudged" // the reason is false for this command
	classArtefact  = "artefact"  // the corpus line is not a command bash would run
)

// maxMisjudged is the share of corpus commands that may be refused
// for a false reason: 0.1 %.
const maxMisjudged = 0.001

// escapeLine writes a command on one line of a fixture.
func escapeLine(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }

// readFixture reads a tab-separated fixture, skipping # comments.
func readFixture(t *testing.T, name string, fields int) [][]string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	var out [][]string
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < fields {
			t.Fatalf("%s line %d: %d fields, want %d", name, i+1, len(f), fields)
		}
		out = append(out, f)
	}
	return out
}

// TestTldrCorpus judges every command of the tldr-pages corpus under
// strict. Every refusal must be classified by hand in
// testdata/tldr/refusals.tsv with the rule that gave it, no
// classification may be stale, and refusals for a false reason stay
// under 0.1 % of the corpus.
func TestTldrCorpus(t *testing.T) {
	classes := map[string]refusalClass{}
	for _, f := range readFixture(t, "testdata/tldr/refusals.tsv", 3) {
		switch f[0] {
		case classPolicy, classMisjudged, classArtefact:
		default:
			t.Fatalf("refusals.tsv: unknown class %q for %q", f[0], f[2])
		}
		classes[f[2]] = refusalClass{class: f[0], rule: f[1]}
	}
	corpus := tldrCorpus(t)
	counts := map[string]int{}
	byRule := map[string]int{}
	seen := map[string]bool{}
	var unclassified []string
	for _, ex := range corpus {
		err := Validate(ex.command, "strict")
		if err == nil {
			counts["accepted"]++
			continue
		}
		var r *Refusal
		if !errors.As(err, &r) {
			t.Fatalf("%q: %v is not a *Refusal", ex.command, err)
		}
		key := escapeLine(ex.command)
		seen[key] = true
		c, ok := classes[key]
		if !ok || c.rule != r.Rule {
			unclassified = append(unclassified, fmt.Sprintf("%s\t%s\t%s\t(%s)", "?", r.Rule, key, r.Reason))
			continue
		}
		counts[c.class]++
		byRule[r.Rule]++
	}
	for _, u := range unclassified[:min(len(unclassified), 20)] {
		t.Errorf("refusal not classified in testdata/tldr/refusals.tsv (or by another rule): %s", u)
	}
	for cmd := range classes {
		if !seen[cmd] {
			t.Errorf("refusals.tsv classifies %q, which strict no longer refuses; remove the line", cmd)
		}
	}
	n := len(corpus)
	if limit := int(maxMisjudged * float64(n)); counts[classMisjudged] > limit {
		t.Errorf("%d commands refused for a false reason; at most %d (0.1 %% of %d) may be", counts[classMisjudged], limit, n)
	}
	t.Logf("tldr corpus, %d commands under strict: accepted %d, refused %d (policy as documented %d, misjudged %d = %.3f %%, corpus artefact %d)",
		n, counts["accepted"], n-counts["accepted"], counts[classPolicy], counts[classMisjudged],
		100*float64(counts[classMisjudged])/float64(n), counts[classArtefact])
	t.Logf("refusals by rule: %v", byRule)
}

// TestTldrAcceptedSample keeps the hand-checked sample of accepted
// commands (no write outside the work dir, no secret read) accepted, so
// the check stays true of the checker that was read.
func TestTldrAcceptedSample(t *testing.T) {
	sample := readFixture(t, "testdata/tldr/accepted-sample.tsv", 2)
	if len(sample) < 300 {
		t.Fatalf("the hand-checked sample holds %d commands; keep at least 300", len(sample))
	}
	for _, f := range sample {
		if err := Validate(strings.ReplaceAll(f[1], `\n`, "\n"), "strict"); err != nil {
			t.Errorf("%s: %q was read by hand as accepted and is now refused (%v): re-read it and move it to refusals.tsv", f[0], f[1], err)
		}
	}
}
