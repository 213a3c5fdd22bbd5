package bridge

import (
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

// storeFresh is how long a kernel's store report counts: kernels send
// one a second, so an older one is from a kernel gone or cut off.
const storeFresh = 10 * time.Second

// storeReports keeps each kernel's last announcement of its store
// (bus.StoreReport), so /healthz can say a store is full although the
// store itself answers every read as usual.
type storeReports struct {
	mu   sync.Mutex
	last map[string]bus.StoreReport
	seen map[string]time.Time
}

// followStores subscribes to the kernels' store reports; nil when the
// subscription is refused (the health report then says nothing of it).
func (s *Server) followStores() *storeReports {
	sr := &storeReports{last: map[string]bus.StoreReport{}, seen: map[string]time.Time{}}
	_, err := s.NC.Subscribe(s.Names.KernelStore(), func(m *nats.Msg) {
		var r bus.StoreReport
		if json.Unmarshal(m.Data, &r) != nil || r.Server == "" {
			return
		}
		sr.mu.Lock()
		sr.last[r.Server], sr.seen[r.Server] = r, time.Now()
		sr.mu.Unlock()
	})
	if err != nil {
		s.Logger.Warn("store reports will not reach /healthz", "err", err)
		return nil
	}
	return sr
}

// full is why the stores that reported full lately are full; "" when
// none is.
func (sr *storeReports) full() string {
	if sr == nil {
		return ""
	}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	var reasons []string
	for name, r := range sr.last {
		if r.Full && time.Since(sr.seen[name]) < storeFresh {
			reasons = append(reasons, name+": "+r.Reason)
		}
	}
	sort.Strings(reasons)
	return strings.Join(reasons, "; ")
}
