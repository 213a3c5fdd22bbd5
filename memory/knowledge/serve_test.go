package knowledge_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
	"github.com/amf-os/amf/memory"
	"github.com/amf-os/amf/memory/knowledge"
)

// TestServeAnswersSearches: the CLI's search goes to a worker's index
// over NATS, sees what was learned just before, gets bad requests
// refused with a reason, and no answer once the service stops.
func TestServeAnswersSearches(t *testing.T) {
	k := kerneltest.Start(t)
	names := bus.Names{}
	kn := openKnowledge(t, k, knowledge.Config{})
	learn(t, kn, "show the disk usage per filesystem", "df -h")
	stop := knowledge.Serve(ctxT(t), k.NC, names, kn)
	defer stop()

	// Learned after the service started, searched at once: the index
	// syncs with the stream before it answers.
	id := learn(t, memory.Publisher{JS: k.JS}, "count the lines of every log file", "wc -l /var/log/*.log")
	var rep memory.SearchReply
	eventually(t, "the search service to answer", func() bool {
		var err error
		rep, err = memory.Search(ctxT(t), k.NC, names, memory.SearchRequest{Query: "count lines in the log files", K: 1, Host: here})
		return !errors.Is(err, memory.ErrNoSearchService)
	})
	if len(rep.Matches) != 1 || rep.Matches[0].ID != id || rep.Memories != 2 || rep.Applied != kn.Applied() || rep.Worker == "" ||
		rep.Embedder != knowledge.LocalEmbedder().Name() || rep.ReuseScore != kn.Calibration().Threshold {
		t.Fatalf("reply = %+v", rep)
	}

	for _, bad := range []memory.SearchRequest{{Query: ""}, {Query: strings.Repeat("x", knowledge.MaxQueryBytes+1)}} {
		if _, err := memory.Search(ctxT(t), k.NC, names, bad); !errors.Is(err, memory.ErrBadRequest) {
			t.Fatalf("search %.10q = %v, want the service's 400 refusal (ErrBadRequest)", bad.Query, err)
		}
	}
	msg, err := k.NC.RequestWithContext(ctxT(t), names.MemorySearch(), []byte(`{"query":"x","limit":3}`))
	if err != nil || !strings.Contains(msg.Header.Get("Nats-Service-Error"), "limit") {
		t.Fatalf("unknown field: %v %v", msg, err)
	}

	stop()
	if _, err := memory.Search(ctxT(t), k.NC, names, memory.SearchRequest{Query: "x"}); !errors.Is(err, memory.ErrNoSearchService) {
		t.Fatalf("after stop: %v, want ErrNoSearchService", err)
	}
}
