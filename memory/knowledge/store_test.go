package knowledge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	chromem "github.com/philippgille/chromem-go"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// TestSavedIndexIsChromemsExport: the file on disk is a header line and
// chromem-go's own export, which chromem-go reads back by itself with
// every memory as a document; a restart restores the outcome counts.
func TestSavedIndexIsChromemsExport(t *testing.T) {
	k := kerneltest.Start(t)
	dir := t.TempDir()
	kn, err := knowledge.Open(ctxT(t), k.JS, knowledge.Config{StateDir: dir, Logger: kerneltest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	inPool := func(p string) func(*bus.Learned) { return func(l *bus.Learned) { l.Pool = p } }
	df := learn(t, kn, "show disk usage", "df -h", inPool("ops"))
	learn(t, kn, "show disk usage", "df -h", inPool("ops"))
	learn(t, kn, "list the files", "ls -la", inPool("dev"))
	// A failure is reported on a memory its reporter recalled, so one
	// every index has learned: after the kernel's verdicts, not before.
	syncKn(t, kn)
	if err := kn.ReportFailure(ctxT(t), bus.MemoryFailure{ID: df, TaskID: "t9"}); err != nil {
		t.Fatal(err)
	}
	syncKn(t, kn)
	applied := kn.Applied()
	if err := kn.Close(); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(filepath.Join(dir, "memory", "index.chromem"))
	if err != nil {
		t.Fatal(err)
	}
	line, body, _ := bytes.Cut(data, []byte("\n"))
	var h struct {
		Applied  uint64
		Memories int
	}
	if err := json.Unmarshal(line, &h); err != nil || h.Memories != 2 || h.Applied != applied {
		t.Fatalf("header %s: %+v %v", line, h, err)
	}
	db := chromem.NewDB()
	if err := db.ImportFromReader(bytes.NewReader(body), ""); err != nil {
		t.Fatalf("chromem-go cannot read the saved index: %v", err)
	}
	coll := db.GetCollection("memories", func(context.Context, string) ([]float32, error) { return nil, nil })
	if coll == nil || coll.Count() != 2 {
		t.Fatalf("saved collection: %v", coll)
	}
	doc, err := coll.GetByID(ctxT(t), df)
	if err != nil || doc.Content != "show disk usage" || doc.Metadata["pool"] != "ops" || len(doc.Embedding) != knowledge.LocalDim {
		t.Fatalf("saved document = %+v, %v", doc, err)
	}

	kn2 := openKnowledge(t, k, knowledge.Config{StateDir: dir})
	m, err := kn2.Get(df)
	if err != nil || m.Successes != 2 || m.Failures != 1 || m.Command != "df -h" {
		t.Fatalf("after restart: %+v, %v", m, err)
	}
}

// TestSearchFiltersByPoolAndDistro: the fleet's search is chromem-go's
// query with a metadata filter.
func TestSearchFiltersByPoolAndDistro(t *testing.T) {
	k := kerneltest.Start(t)
	kn := openKnowledge(t, k, knowledge.Config{})
	on := func(pool, distro string) func(*bus.Learned) {
		return func(l *bus.Learned) { l.Pool, l.Host = pool, memory.HostFacts{OS: "linux", Distro: distro} }
	}
	apt := learn(t, kn, "install the curl package", "apt-get install -y curl", on("ops", "debian"))
	apk := learn(t, kn, "install the curl package", "apk add curl", on("edge", "alpine"))
	syncKn(t, kn)
	for _, c := range []struct {
		name         string
		pool, distro string
		want         []string
	}{
		{"all", "", "", []string{apt, apk}},
		{"pool", "edge", "", []string{apk}},
		{"distro", "", "debian", []string{apt}},
		{"both, none fit", "edge", "debian", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, err := kn.Search(ctxT(t), bus.Admin, memory.SearchRequest{Query: "install curl", K: 5, Pool: c.pool, Distro: c.distro, Host: here})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				got = append(got, m.ID)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for _, id := range c.want {
				found := false
				for _, g := range got {
					found = found || g == id
				}
				if !found {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
	if _, err := kn.Search(ctxT(t), bus.Admin, memory.SearchRequest{Query: " "}); err == nil {
		t.Fatal("an empty search was accepted")
	}
}
