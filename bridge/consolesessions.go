package bridge

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// Default console session lifetimes: a session unused for
// DefaultSessionIdle, or older than DefaultSessionLifetime, is over.
const (
	DefaultSessionIdle     = 12 * time.Hour
	DefaultSessionLifetime = 7 * 24 * time.Hour
)

// maxSessionsPerToken bounds the sessions one token holds, so logging in
// in a loop cannot fill the bridge's memory: a login beyond it ends that
// token's least recently used session.
const maxSessionsPerToken = 64

// consoleSession is what the bridge keeps of a console login: the id of
// the token it was made from, never the token, so the token's current
// scopes and grants, or its revocation, apply at every request.
type consoleSession struct {
	tokenID  string
	created  time.Time
	lastSeen time.Time
}

// consoleSessions maps the SHA-256 of each session id to its session.
// Only the hash is kept, so a dump of the bridge's memory yields no
// cookie that works. Sessions live in this bridge's memory: a restart
// ends them (the user logs in again), and several bridges behind one
// address need sticky routing for the console.
type consoleSessions struct {
	idle, lifetime time.Duration
	now            func() time.Time

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*consoleSession
}

func newConsoleSessions(idle, lifetime time.Duration) *consoleSessions {
	if idle <= 0 {
		idle = DefaultSessionIdle
	}
	if lifetime <= 0 {
		lifetime = DefaultSessionLifetime
	}
	return &consoleSessions{idle: idle, lifetime: lifetime, now: time.Now, byID: map[[sha256.Size]byte]*consoleSession{}}
}

// create starts a session for the token with this id and returns the
// session id: 32 random bytes (256 bits), base64url.
func (cs *consoleSessions) create(tokenID string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	sid := base64.RawURLEncoding.EncodeToString(b[:])
	now := cs.now()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.sweep(now, tokenID)
	cs.byID[sha256.Sum256([]byte(sid))] = &consoleSession{tokenID: tokenID, created: now, lastSeen: now}
	return sid, nil
}

// lookup returns the token id of a live session and marks it used; an
// expired session is deleted.
func (cs *consoleSessions) lookup(sid string) (string, bool) {
	key := sha256.Sum256([]byte(sid))
	now := cs.now()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	s, ok := cs.byID[key]
	if !ok {
		return "", false
	}
	if cs.expired(s, now) {
		delete(cs.byID, key)
		return "", false
	}
	s.lastSeen = now
	return s.tokenID, true
}

// remove ends a session (logout).
func (cs *consoleSessions) remove(sid string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.byID, sha256.Sum256([]byte(sid)))
}

func (cs *consoleSessions) expired(s *consoleSession, now time.Time) bool {
	return now.Sub(s.lastSeen) >= cs.idle || now.Sub(s.created) >= cs.lifetime
}

// sweep drops expired sessions, so sessions never returned to do not
// pile up, and makes room for one more session of tokenID; it runs at
// each login, which only a valid token can make.
func (cs *consoleSessions) sweep(now time.Time, tokenID string) {
	n := 0
	var lru [sha256.Size]byte
	var lruSeen time.Time
	for k, s := range cs.byID {
		if cs.expired(s, now) {
			delete(cs.byID, k)
			continue
		}
		if s.tokenID == tokenID {
			if n == 0 || s.lastSeen.Before(lruSeen) {
				lru, lruSeen = k, s.lastSeen
			}
			n++
		}
	}
	if n >= maxSessionsPerToken {
		delete(cs.byID, lru)
	}
}

// count is the number of sessions held, expired or not.
func (cs *consoleSessions) count() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.byID)
}
