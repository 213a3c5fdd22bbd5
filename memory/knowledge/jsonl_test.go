package knowledge_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

func TestExportImportRoundTrip(t *testing.T) {
	src := kerneltest.Start(t)
	a := openKnowledge(t, src, knowledge.Config{})
	ps := loadParaphrases(t)[:12]
	for _, p := range ps {
		learn(t, a, p.Instruction, p.Command)
	}
	learn(t, a, ps[0].Instruction, ps[0].Command) // a second success
	syncKn(t, a)
	var buf bytes.Buffer
	n, err := a.Export(&buf)
	if err != nil || n != len(ps) {
		t.Fatalf("export: %d, %v", n, err)
	}
	if !strings.Contains(buf.String(), `"successes":2`) {
		t.Fatalf("export lacks success counts:\n%s", buf.String())
	}

	// Into another installation, with junk lines among the records.
	dst := kerneltest.Start(t)
	in := "\n{not json}\n" + buf.String() + `{"instruction":"","command":"ls"}` + "\n"
	var lines []int
	res, err := memory.Publisher{JS: dst.JS}.Import(ctxT(t), strings.NewReader(in), func(n int) { lines = append(lines, n) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Learned != len(ps) || len(res.Skipped) != 2 {
		t.Fatalf("import: %+v", res)
	}
	for _, e := range res.Skipped {
		if !errors.Is(e, memory.ErrImportLine) {
			t.Fatalf("skipped line error %v does not wrap ErrImportLine", e)
		}
	}
	if len(lines) == 0 || lines[len(lines)-1] != len(ps)+3 {
		t.Fatalf("progress calls end at %v, want %d lines", lines, len(ps)+3)
	}
	b := openKnowledge(t, dst, knowledge.Config{})
	syncKn(t, b)
	if b.Len() != len(ps) {
		t.Fatalf("imported index has %d memories, want %d", b.Len(), len(ps))
	}
	m, err := b.Recall(ctxT(t), "", ps[5].Instruction, here, 1)
	if err != nil || len(m) != 1 || m[0].Command != ps[5].Command {
		t.Fatalf("recall after import: %+v %v", m, err)
	}
}
