// Package tokens owns the bearer tokens of the HTTP API: their format,
// scopes and grants, and the JetStream KV bucket that stores their
// hashes. Every bridge watches the bucket, so a token created or revoked
// anywhere takes effect on every bridge at once; the secret itself is
// shown once, at creation, and never stored.
package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/amf-os/amf/sandbox/policy"
)

// Scope is what a token may do over HTTP.
type Scope string

// The scopes. Admin implies every other scope and every grant.
const (
	ScopeSubmit Scope = "submit" // POST /v1/tasks
	ScopeRead   Scope = "read"   // task status, events, lists, workers
	ScopeCancel Scope = "cancel" // DELETE /v1/tasks/{id}
	ScopeAdmin  Scope = "admin"  // everything
	// ScopeReadAll reads every owner's tasks and schedules, not only the
	// token's own (operators' dashboards); it implies read, and changes
	// nothing of anyone else's.
	ScopeReadAll Scope = "read-all"
)

// Scopes lists every scope in the order they are documented.
var Scopes = []Scope{ScopeSubmit, ScopeRead, ScopeCancel, ScopeReadAll, ScopeAdmin}

// DefaultScopes are a new token's scopes when none are asked for.
var DefaultScopes = []Scope{ScopeSubmit, ScopeRead, ScopeCancel}

// StrictProfile is the policy profile every token may ask for; any other
// needs a grant naming it.
const StrictProfile = policy.ProfileStrict

// Sentinel errors.
var (
	// ErrInvalid means a token is malformed, unknown, revoked or wrong.
	ErrInvalid = errors.New("invalid token")
	// ErrBadSpec means a scope or grant list cannot be used.
	ErrBadSpec = errors.New("bad token spec")
	// ErrNotFound means no token has the id.
	ErrNotFound = errors.New("no such token")
)

// prefix starts every token, so a leaked one is recognisable to secret
// scanners and to a person.
const prefix = "amf_"

// Record is what the store keeps of a token: never the secret, only its
// SHA-256.
type Record struct {
	// ID is public: it names the token in lists and revocations and is
	// part of the token itself.
	ID string `json:"id"`
	// Hash is the hex SHA-256 of the whole token.
	Hash string `json:"hash"`
	// Scopes are what the token may do.
	Scopes []Scope `json:"scopes"`
	// Grants are the policy profiles beyond strict its tasks may ask for.
	Grants []string `json:"grants,omitempty"`
	// Name is a note for people ("ci", "alice's laptop").
	Name string `json:"name,omitempty"`
	// Created is when the token was issued.
	Created time.Time `json:"created"`
}

// Has reports whether the token carries scope s (admin carries all).
func (r Record) Has(s Scope) bool {
	return slices.Contains(r.Scopes, s) || slices.Contains(r.Scopes, ScopeAdmin) ||
		(s == ScopeRead && slices.Contains(r.Scopes, ScopeReadAll))
}

// MayUse reports whether a task of this token may ask for policy
// profile p: the worker's default ("") and strict always, others when
// granted or for an admin token.
func (r Record) MayUse(p string) bool {
	return p == "" || p == StrictProfile || slices.Contains(r.Grants, p) || slices.Contains(r.Scopes, ScopeAdmin)
}

// Generate makes a new token and its record. The token is
// amf_<id>_<secret>: 8 random bytes of id in hex and 32 random bytes
// (256 bits) of secret in base64url.
func Generate(scopes []Scope, grants []string, name string) (token string, r Record, err error) {
	if err := checkSpec(scopes, grants); err != nil {
		return "", Record{}, err
	}
	var id [8]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", Record{}, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Record{}, err
	}
	r = Record{
		ID:      hex.EncodeToString(id[:]),
		Scopes:  slices.Clone(scopes),
		Grants:  slices.Clone(grants),
		Name:    name,
		Created: time.Now().UTC().Truncate(time.Second),
	}
	token = prefix + r.ID + "_" + base64.RawURLEncoding.EncodeToString(secret[:])
	r.Hash = hashOf(token)
	return token, r, nil
}

func hashOf(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// IDOf returns the id part of a well-formed token.
func IDOf(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return "", false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 16 || len(secret) != 43 {
		return "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	return id, true
}

// Matches compares the token's hash with the record's in constant time.
func (r Record) Matches(token string) bool {
	return subtle.ConstantTimeCompare([]byte(hashOf(token)), []byte(r.Hash)) == 1
}

// ParseScopes turns "submit,read" into scopes, refusing unknown ones.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, f := range splitList(s) {
		if !slices.Contains(Scopes, Scope(f)) {
			return nil, fmt.Errorf("%w: unknown scope %q (scopes: submit, read, cancel, read-all, admin)", ErrBadSpec, f)
		}
		if !slices.Contains(out, Scope(f)) {
			out = append(out, Scope(f))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: a token needs at least one scope (submit, read, cancel, read-all, admin)", ErrBadSpec)
	}
	return out, nil
}

// ParseGrants turns "network,trusted,workspace:proj" into grants:
// profiles, and workspaces (see MayUseWorkspace).
func ParseGrants(s string) ([]string, error) {
	var out []string
	for _, f := range splitList(s) {
		if ws, ok := strings.CutPrefix(f, WorkspaceGrant); ok {
			if ws != "*" && !validWorkspace(ws) {
				return nil, fmt.Errorf("%w: grant %q: %q is not a workspace name (letters, digits, '.', '_', '-'), or * for all", ErrBadSpec, f, ws)
			}
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
			continue
		}
		if !validProfile(f) {
			return nil, fmt.Errorf("%w: grant %q is not a profile name (such as network or trusted)", ErrBadSpec, f)
		}
		if f != StrictProfile && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func validProfile(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func checkSpec(scopes []Scope, grants []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("%w: a token needs at least one scope", ErrBadSpec)
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return fmt.Errorf("%w: unknown scope %q", ErrBadSpec, s)
		}
	}
	for _, g := range grants {
		if ws, ok := strings.CutPrefix(g, WorkspaceGrant); ok && (ws == "*" || validWorkspace(ws)) {
			continue
		}
		if !validProfile(g) {
			return fmt.Errorf("%w: grant %q is not a profile name", ErrBadSpec, g)
		}
	}
	return nil
}
