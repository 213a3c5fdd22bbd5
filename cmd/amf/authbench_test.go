package main

import (
	"context"
	"encoding/json"
	"github.com/amf-os/amf/internal/ssetest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/internal/ollamatest"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// BenchmarkTTFTAuth measures time to first token through an open bridge
// and through a bridge that checks a bearer token, side by side on the
// same kernel and worker, alternating which goes first.
func BenchmarkTTFTAuth(b *testing.B) {
	m := newBenchMesh(b, 2, ollamatest.WithFallback(ollamatest.Reply{Content: structured}))
	ctx := context.Background()
	st, err := tokens.Open(ctx, m.k.JS, bus.Names{}, true)
	if err != nil {
		b.Fatal(err)
	}
	v, err := st.Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.Stop)
	tok, _, err := st.Create(ctx, []tokens.Scope{tokens.ScopeSubmit, tokens.ScopeRead}, nil, "bench")
	if err != nil {
		b.Fatal(err)
	}
	br := &bridge.Server{NC: m.k.NC, Tokens: v, Logger: kerneltest.Logger(b)}
	h, err := br.Handler()
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	b.Cleanup(ts.Close)

	ttft := func(base, token string) time.Duration {
		start := time.Now()
		req, _ := http.NewRequest("POST", base+"/v1/tasks", strings.NewReader(`{"instruction":"do nothing","no_answer":true}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := plainHTTP.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var s struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&s)
		resp.Body.Close()
		if resp.StatusCode != 202 {
			b.Fatalf("submit: %d", resp.StatusCode)
		}
		req, _ = http.NewRequest("GET", base+"/v1/tasks/"+s.ID+"/events", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err = plainHTTP.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		first := time.Duration(0)
		_ = ssetest.Read(resp.Body, func(msg ssetest.Message) error {
			if first == 0 && msg.Event == string(bus.EventToken) {
				first = time.Since(start)
			}
			return nil
		})
		if first == 0 {
			b.Fatalf("task %s streamed no token", s.ID)
		}
		return first
	}
	var open, authed []time.Duration
	i := 0
	for b.Loop() {
		for j := range 2 {
			// An idle machine before each measurement, as BenchmarkTTFT.
			time.Sleep(250 * time.Millisecond)
			if (i+j)%2 == 0 {
				open = append(open, ttft(m.base, ""))
			} else {
				authed = append(authed, ttft(ts.URL, tok))
			}
		}
		i++
	}
	b.ReportMetric(ms(percentile(open, .5)), "open-p50-ms")
	b.ReportMetric(ms(percentile(authed, .5)), "auth-p50-ms")
	b.ReportMetric(ms(percentile(authed, .5)-percentile(open, .5)), "auth-overhead-p50-ms")
	b.ReportMetric(ms(percentile(open, .99)), "open-p99-ms")
	b.ReportMetric(ms(percentile(authed, .99)), "auth-p99-ms")
}
