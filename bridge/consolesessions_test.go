package bridge

import (
	"crypto/sha256"
	"testing"
	"time"
)

// TestConsoleSessionsExpire: a session ends after its idle time unused,
// and after its lifetime however much it is used; expired sessions are
// dropped at the next login. The clock is the store's own, stepped by
// hand.
func TestConsoleSessionsExpire(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cs := newConsoleSessions(time.Hour, 3*time.Hour)
	cs.now = func() time.Time { return now }

	busy, err := cs.create("tok-busy")
	if err != nil {
		t.Fatal(err)
	}
	idle, _ := cs.create("tok-idle")
	for step := 0; step < 5; step++ {
		now = now.Add(40 * time.Minute) // 0:40 … 3:20
		_, ok := cs.lookup(busy)
		if want := now.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) < 3*time.Hour; ok != want {
			t.Fatalf("at %s: busy session live=%v, want %v", now.Format("15:04"), ok, want)
		}
		if step == 1 { // 1:20: idle for more than an hour
			if _, ok := cs.lookup(idle); ok {
				t.Fatal("a session unused for longer than its idle time is still live")
			}
		}
	}
	if tokID, ok := cs.lookup("not-a-session"); ok {
		t.Fatalf("an unknown session id found token %q", tokID)
	}
	stale, _ := cs.create("tok-stale")
	now = now.Add(2 * time.Hour)
	if _, err := cs.create("tok-new"); err != nil {
		t.Fatal(err)
	}
	if n := cs.count(); n != 1 {
		t.Fatalf("after a login, %d sessions held, want only the new one", n)
	}
	if _, ok := cs.lookup(stale); ok {
		t.Fatal("a swept session is still live")
	}
	fresh, _ := cs.create("tok-fresh")
	if id, ok := cs.lookup(fresh); !ok || id != "tok-fresh" {
		t.Fatalf("fresh session: %q %v", id, ok)
	}
	cs.remove(fresh)
	if _, ok := cs.lookup(fresh); ok {
		t.Fatal("a removed session is still live")
	}
}

// TestConsoleSessionsKeepOnlyHashes: sessions are keyed by the SHA-256
// of their id, and the defaults apply when no lifetime is set.
func TestConsoleSessionsKeepOnlyHashes(t *testing.T) {
	cs := newConsoleSessions(0, 0)
	if cs.idle != DefaultSessionIdle || cs.lifetime != DefaultSessionLifetime {
		t.Fatalf("defaults: idle %s lifetime %s", cs.idle, cs.lifetime)
	}
	sid, _ := cs.create("tok")
	if s, ok := cs.byID[sha256.Sum256([]byte(sid))]; !ok || s.tokenID != "tok" || len(cs.byID) != 1 {
		t.Fatalf("the session is not held under the hash of its id: %v", cs.byID)
	}
}

// TestConsoleSessionsPerTokenAreBounded: logging in over and over with
// one token keeps at most maxSessionsPerToken sessions of it, ending the
// least recently used, and leaves other tokens' sessions alone.
func TestConsoleSessionsPerTokenAreBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cs := newConsoleSessions(0, 0)
	cs.now = func() time.Time { return now }
	other, _ := cs.create("tok-other")
	var sids []string
	for i := 0; i < maxSessionsPerToken; i++ {
		now = now.Add(time.Second)
		sid, _ := cs.create("tok")
		sids = append(sids, sid)
	}
	now = now.Add(time.Second)
	if _, ok := cs.lookup(sids[0]); !ok { // now the most recently used
		t.Fatal("a session within the bound is not live")
	}
	for i := 0; i < 3; i++ {
		now = now.Add(time.Second)
		if _, err := cs.create("tok"); err != nil {
			t.Fatal(err)
		}
	}
	if n := cs.count(); n != maxSessionsPerToken+1 {
		t.Fatalf("%d sessions held, want %d of the token and 1 other", n, maxSessionsPerToken)
	}
	if _, ok := cs.lookup(sids[0]); !ok {
		t.Fatal("the most recently used session was ended")
	}
	for _, sid := range sids[1:4] {
		if _, ok := cs.lookup(sid); ok {
			t.Fatal("a least recently used session outlived the bound")
		}
	}
	if _, ok := cs.lookup(other); !ok {
		t.Fatal("another token's session was ended")
	}
}
