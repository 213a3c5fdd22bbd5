package knowledge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// savedCalibration reads the calibration from the saved index's header.
func savedCalibration(t *testing.T, dir string) knowledge.Calibration {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "memory", "index.chromem"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Embedder    string                 `json:"embedder"`
		Calibration *knowledge.Calibration `json:"calibration"`
	}
	if err := json.Unmarshal(line, &h); err != nil || h.Calibration == nil {
		t.Fatalf("index header %s: %v", line, err)
	}
	if h.Calibration.Embedder != h.Embedder {
		t.Fatalf("the saved calibration is for %s, the index for %s", h.Calibration.Embedder, h.Embedder)
	}
	return *h.Calibration
}

// TestCalibrationIsSavedWithTheIndexAndRedoneForANewEmbedder: the
// threshold is chosen per embedder on the calibration pairs, saved in
// the index beside the embedder's name, read back at the next start,
// and chosen anew when the embedder changes.
func TestCalibrationIsSavedWithTheIndexAndRedoneForANewEmbedder(t *testing.T) {
	k := kerneltest.Start(t)
	dir := t.TempDir()
	kn := openKnowledge(t, k, knowledge.Config{StateDir: dir})
	local := kn.Calibration()
	if local.Embedder != knowledge.LocalEmbedder().Name() || local.NearMissPairs < 50 || local.ParaphrasePairs < 30 {
		t.Fatalf("local calibration = %+v", local)
	}
	if local.Threshold <= local.WorstNearMiss || local.Threshold > 1 {
		t.Fatalf("threshold %.3f does not clear the worst near-miss %.3f", local.Threshold, local.WorstNearMiss)
	}
	t.Logf("%s", local)
	if err := kn.Close(); err != nil {
		t.Fatal(err)
	}
	if got := savedCalibration(t, dir); got != local {
		t.Fatalf("saved %+v, want %+v", got, local)
	}

	// Loaded as saved at the next start.
	kn = openKnowledge(t, k, knowledge.Config{StateDir: dir})
	if got := kn.Calibration(); got != local {
		t.Fatalf("reopened with %+v, want the saved %+v", got, local)
	}
	kn.Close()

	// Another embedder: another threshold, saved in its place.
	ollama := startFakeOllama(t, 48)
	emb := knowledge.OllamaEmbedder(ollama.client(t), "nomic-embed-text")
	kn2 := openKnowledge(t, k, knowledge.Config{StateDir: dir, Embedder: emb})
	other := kn2.Calibration()
	if other.Embedder != emb.Name() || other == local {
		t.Fatalf("after the embedder changed: %+v", other)
	}
	t.Logf("%s", other)
	if err := kn2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := savedCalibration(t, dir); got != other {
		t.Fatalf("saved %+v, want %+v", got, other)
	}
}

// sameVector is an embedder that cannot tell any two texts apart.
type sameVector struct{}

func (sameVector) Name() string { return "test-same-vector" }
func (sameVector) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{0.6, 0.8}
	}
	return out, nil
}

// TestAnEmbedderThatCannotSeparateNearMissesReusesNothing: when the
// calibration's near-misses score as high as anything can, no threshold
// separates them, and no score is enough for blind reuse.
func TestAnEmbedderThatCannotSeparateNearMissesReusesNothing(t *testing.T) {
	kn := openKnowledge(t, kerneltest.Start(t), knowledge.Config{Embedder: sameVector{}})
	if c := kn.Calibration(); c.Threshold <= 1 || c.Paraphrases != 0 {
		t.Fatalf("calibration = %+v, want a threshold no score reaches", c)
	}
	for range 2 {
		learn(t, kn, "list the files here", "ls")
	}
	syncKn(t, kn)
	ms, err := kn.Recall(ctxT(t), "", "list the files here", memory.HostFacts{}, 1)
	if err != nil || len(ms) != 1 || ms[0].Reuse || !strings.Contains(ms[0].NoReuse, "threshold calibrated for test-same-vector") {
		t.Fatalf("recall = %+v, %v", ms, err)
	}
}

// TestAgreementIsNeededBeyondTheScore: a paraphrase in other words may
// score high, but only an instruction naming the same things is reused.
func TestAgreementIsNeededBeyondTheScore(t *testing.T) {
	k := kerneltest.Start(t)
	kn := openKnowledge(t, k, knowledge.Config{ReuseScore: 0.3})
	learn(t, kn, "delete the old log files in /var/log", "find /var/log -mtime +30 -delete")
	learn(t, workerPublisher(t, k, "w2"), "delete the old log files in /var/log", "find /var/log -mtime +30 -delete")
	syncKn(t, kn)
	for _, tc := range []struct {
		query string
		reuse bool
		why   string
	}{
		{"remove old log files in /var/log", true, ""},
		{"delete old logs in /var/log", false, "asked: logs; learned: log files"},
		{"Erase the old log files in /var/log.", true, ""},
		{"Erase the OLD log files in /var/log", false, "asked: `OLD` `/var/log`; learned: `/var/log`"},
		{"list the old log files in /var/log", false, "asked: list; learned: delete"},
		{"delete the old log files in /var/tmp", false, "asked: `/var/tmp`; learned: `/var/log`"},
		{"delete all old log files in /var/log", false, "asked: all file; learned: files"},
	} {
		ms, err := kn.Recall(ctxT(t), "", tc.query, memory.HostFacts{}, 1)
		if err != nil || len(ms) != 1 {
			t.Fatalf("%q: %+v %v", tc.query, ms, err)
		}
		if ms[0].Reuse != tc.reuse || !strings.Contains(ms[0].NoReuse, tc.why) {
			t.Errorf("%q: reuse=%v (%s), want %v (%s)", tc.query, ms[0].Reuse, ms[0].NoReuse, tc.reuse, tc.why)
		}
	}
}

// TestSuccessesCountForTheMeaning: two wordings that say the same, each
// learned once with the same command, are two successes for that
// meaning; with different commands, neither has two. Each was learned
// on another worker's credential: what counts is who vouches for it.
func TestSuccessesCountForTheMeaning(t *testing.T) {
	k := kerneltest.Start(t)
	kn := openKnowledge(t, k, knowledge.Config{})
	learn(t, kn, "show the disk usage", "du -sh .")
	learn(t, workerPublisher(t, k, "w2"), "display the disk usage", "du -sh .")
	learn(t, kn, "display the kernel version", "uname -r")
	learn(t, kn, "show the kernel version", "uname -a")
	syncKn(t, kn)
	if m := recallOne(t, kn, "show the disk usage"); !m.Reuse || m.Successes != 1 {
		t.Fatalf("two wordings, one command: %+v", m)
	}
	if m := recallOne(t, kn, "show the kernel version"); m.Reuse || !strings.Contains(m.NoReuse, "worked 1 time") {
		t.Fatalf("two wordings, two commands: %+v", m)
	}
}
