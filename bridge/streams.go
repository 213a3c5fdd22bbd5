package bridge

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// defaultStreamsPerToken is Server.StreamsPerToken's default.
const defaultStreamsPerToken = 32

// streamCounts counts the event streams each token holds open.
type streamCounts struct {
	mu   sync.Mutex
	open map[string]int
}

// acquire takes one stream for the caller's token, or says why it may
// not; release gives it back. A bridge without auth counts nothing.
func (s *Server) acquireStream(c echo.Context) (release func(), err error) {
	rec, ok := c.Get(tokenKey).(tokens.Record)
	if !ok {
		return func() {}, nil
	}
	limit := s.StreamsPerToken
	if limit <= 0 {
		limit = defaultStreamsPerToken
	}
	sc := &s.streams
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.open == nil {
		sc.open = map[string]int{}
	}
	if sc.open[rec.ID] >= limit {
		return nil, fail(http.StatusTooManyRequests, "too_many_streams",
			fmt.Sprintf("this token already holds %d open event streams on this bridge; close one, or use a token per client", limit))
	}
	sc.open[rec.ID]++
	return func() {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		if sc.open[rec.ID]--; sc.open[rec.ID] <= 0 {
			delete(sc.open, rec.ID)
		}
	}, nil
}

// readerOf is whom the bridge reads a task's events for: the caller's
// token, which the kernel checks owns the task and counts against its
// owner's open streams; a read-all token reads every task, an admin
// token too without a cap. A bridge without auth reads as its own
// credential.
func readerOf(c echo.Context) client.Reader {
	rec, ok := c.Get(tokenKey).(tokens.Record)
	if !ok {
		return client.Reader{}
	}
	return client.Reader{Owner: bus.OwnerOfToken(rec.ID), All: rec.Has(tokens.ScopeReadAll), Operator: rec.Has(tokens.ScopeAdmin)}
}
