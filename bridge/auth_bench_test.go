package bridge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/bridge"
	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

// BenchmarkRequestAuth is one status request (a 404 after the same bus
// lookup) through an open bridge, through one that checks a bearer
// token, and through the same one with a console session cookie, on the
// same kernel in the same run.
func BenchmarkRequestAuth(b *testing.B) {
	k := kerneltest.Start(b)
	ctx := context.Background()
	st, err := tokens.Open(ctx, k.JS, bus.Names{}, true)
	if err != nil {
		b.Fatal(err)
	}
	v, err := st.Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Stop()
	tok, _, err := st.Create(ctx, []tokens.Scope{tokens.ScopeRead}, nil, "bench")
	if err != nil {
		b.Fatal(err)
	}
	serve := func(s *bridge.Server) string {
		h, err := s.Handler()
		if err != nil {
			b.Fatal(err)
		}
		ts := httptest.NewServer(h)
		b.Cleanup(ts.Close)
		return ts.URL
	}
	open := serve(&bridge.Server{NC: k.NC, NoAuth: true, Logger: kerneltest.Logger(b)})
	authed := serve(&bridge.Server{NC: k.NC, Tokens: v, Logger: kerneltest.Logger(b)})
	c := &http.Client{}
	lreq, _ := http.NewRequest("POST", authed+"/v1/session", strings.NewReader(`{"token":"`+tok+`"}`))
	lreq.Header.Set("X-Amf-Csrf", "1")
	lresp, err := c.Do(lreq)
	if err != nil {
		b.Fatal(err)
	}
	lresp.Body.Close()
	cookies := lresp.Cookies()
	if lresp.StatusCode != 200 || len(cookies) == 0 {
		b.Fatalf("login: %d, %d cookies", lresp.StatusCode, len(cookies))
	}
	get := func(b *testing.B, base, token string, cookie *http.Cookie) {
		b.Helper()
		req, _ := http.NewRequest("GET", base+"/v1/tasks/nope", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	// Interleaved, so both see the same machine load.
	var po, pt, ps []time.Duration
	for b.Loop() {
		start := time.Now()
		get(b, open, "", nil)
		po = append(po, time.Since(start))
		start = time.Now()
		get(b, authed, tok, nil)
		pt = append(pt, time.Since(start))
		start = time.Now()
		get(b, authed, "", cookies[0])
		ps = append(ps, time.Since(start))
	}
	b.ReportMetric(p50us(po), "open-p50-µs")
	b.ReportMetric(p50us(pt), "token-p50-µs")
	b.ReportMetric(p50us(ps), "session-p50-µs")
	b.ReportMetric(p50us(pt)-p50us(po), "auth-p50-µs")
}

func p50us(d []time.Duration) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2].Nanoseconds()) / 1000
}
