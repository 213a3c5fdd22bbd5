package reply_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/workers/reply"
)

// replyCase is one file of testdata/replies: a reply as a local model
// wrote it and what the parser must make of it.
type replyCase struct {
	name     string
	reply    string
	want     string // the command, when usable
	unusable string // part of the reason, when not
	shape    string
}

// loadReplies reads the corpus. Each file has sections that start with
// "-- name --" lines: reply (ended by "-- end --"), then want or
// unusable, and optionally shape.
func loadReplies(t testing.TB) []replyCase {
	t.Helper()
	files, err := filepath.Glob("testdata/replies/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no reply corpus: %v", err)
	}
	var out []replyCase
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(raw)
		body, ok := strings.CutPrefix(s, "-- reply --\n")
		text, rest, ok2 := strings.Cut(body, "\n-- end --\n")
		if !ok || !ok2 {
			t.Fatalf("%s: want a reply section ended by -- end --", f)
		}
		c := replyCase{name: strings.TrimSuffix(filepath.Base(f), ".txt"), reply: text}
		for _, sec := range strings.Split(rest, "-- ")[1:] {
			name, val, _ := strings.Cut(sec, " --\n")
			val = strings.TrimSuffix(val, "\n")
			switch name {
			case "want":
				c.want = val
			case "unusable":
				c.unusable = val
			case "shape":
				c.shape = val
			default:
				t.Fatalf("%s: unknown section %q", f, name)
			}
		}
		if (c.want == "") == (c.unusable == "") {
			t.Fatalf("%s: give exactly one of want and unusable", f)
		}
		out = append(out, c)
	}
	return out
}

func TestParseCorpus(t *testing.T) {
	cases := loadReplies(t)
	if len(cases) < 40 {
		t.Fatalf("corpus has %d replies, want at least 40", len(cases))
	}
	shapes := map[string]int{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := reply.Parse(c.reply)
			if c.unusable != "" {
				if !errors.Is(err, reply.ErrUnusable) {
					t.Fatalf("want unusable (%s), got command %q (shape %s), err %v", c.unusable, p.Command, p.Shape, err)
				}
				if !strings.Contains(err.Error(), c.unusable) {
					t.Fatalf("reason %q should mention %q", err, c.unusable)
				}
				return
			}
			if err != nil {
				t.Fatalf("want %q, got error %v", c.want, err)
			}
			if p.Command != c.want {
				t.Fatalf("command = %q, want %q (shape %s)", p.Command, c.want, p.Shape)
			}
			if c.shape != "" && p.Shape != c.shape {
				t.Errorf("shape = %s, want %s", p.Shape, c.shape)
			}
			shapes[p.Shape]++
		})
	}
	t.Logf("%d replies; usable by shape: %v", len(cases), shapes)
}

func TestParseKeepsThought(t *testing.T) {
	p, err := reply.Parse(`{"thought": "du sums sizes", "command": "du -sh ."}`)
	if err != nil || p.Thought != "du sums sizes" {
		t.Fatalf("got %+v, %v", p, err)
	}
	p, err = reply.Parse("<think>nproc counts CPUs</think>\nnproc")
	if err != nil || p.Command != "nproc" || p.Thought != "nproc counts CPUs" {
		t.Fatalf("thinking block as thought: got %+v, %v", p, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range loadReplies(f) {
		f.Add(c.reply)
	}
	f.Add(strings.Repeat("{", 5000))
	f.Add(strings.Repeat("```\n", 3000))
	f.Add(strings.Repeat(`{"command": [`, 2000))
	f.Add(strings.Repeat("<think>", 1000) + "ls")
	f.Fuzz(func(t *testing.T, text string) {
		start := time.Now()
		p, err := reply.Parse(text)
		// A generous bound: the parser is linear in its capped input, so
		// only a pathological slowdown (a regression) can reach it.
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("parsing %d bytes took %v", len(text), d)
		}
		if err != nil {
			if !errors.Is(err, reply.ErrUnusable) {
				t.Fatalf("error %v does not wrap ErrUnusable", err)
			}
			return
		}
		if strings.TrimSpace(p.Command) == "" || strings.ContainsRune(p.Command, 0) || len(p.Command) > 16<<10 {
			t.Fatalf("accepted an unusable command %q", p.Command)
		}
		if p.Shape == "" {
			t.Fatalf("no shape for %q", p.Command)
		}
	})
}
