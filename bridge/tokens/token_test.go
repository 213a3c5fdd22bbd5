package tokens_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/amf-os/amf/bridge/tokens"
	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/kerneltest"
)

func TestTokenFormatAndHash(t *testing.T) {
	tok, r, err := tokens.Generate([]tokens.Scope{tokens.ScopeRead}, nil, "n")
	if err != nil {
		t.Fatal(err)
	}
	id, ok := tokens.IDOf(tok)
	if !ok || id != r.ID || !strings.HasPrefix(tok, "amf_"+id+"_") {
		t.Fatalf("token %q does not carry its id %q", tok, r.ID)
	}
	if strings.Contains(r.Hash, tok) || len(r.Hash) != 64 {
		t.Fatalf("record keeps %q, want a hex SHA-256 only", r.Hash)
	}
	if !r.Matches(tok) || r.Matches(tok[:len(tok)-1]+"x") {
		t.Fatal("hash comparison is wrong")
	}
	for _, bad := range []string{"", "amf_", "amf_xyz_abc", "amf_" + id, "Bearer " + tok, tok + "x"} {
		if _, ok := tokens.IDOf(bad); ok {
			t.Errorf("IDOf accepted %q", bad)
		}
	}
}

func TestParseSpecs(t *testing.T) {
	if _, err := tokens.ParseScopes("read,write"); !errors.Is(err, tokens.ErrBadSpec) || !strings.Contains(err.Error(), `"write"`) {
		t.Fatalf("unknown scope: %v", err)
	}
	if _, err := tokens.ParseScopes(" , "); !errors.Is(err, tokens.ErrBadSpec) {
		t.Fatalf("no scope: %v", err)
	}
	s, err := tokens.ParseScopes("read, submit,read")
	if err != nil || len(s) != 2 {
		t.Fatalf("scopes %v %v", s, err)
	}
	if _, err := tokens.ParseGrants("network,bad grant"); !errors.Is(err, tokens.ErrBadSpec) {
		t.Fatalf("bad grant: %v", err)
	}
	g, err := tokens.ParseGrants("strict,network")
	if err != nil || len(g) != 1 || g[0] != "network" {
		t.Fatalf("grants %v %v", g, err)
	}
}

func TestStoreCreateListRevoke(t *testing.T) {
	k := kerneltest.Start(t)
	ctx := context.Background()
	if _, err := tokens.Open(ctx, k.JS, bus.Names{}, false); err != nil {
		t.Fatalf("a kernel provisions the bucket: %v", err)
	}
	if err := k.JS.DeleteKeyValue(ctx, bus.Names{}.TokensBucket()); err != nil {
		t.Fatal(err)
	}
	if _, err := tokens.Open(ctx, k.JS, bus.Names{}, false); err == nil {
		t.Fatal("opening a missing bucket without create should fail")
	}
	st, err := tokens.Open(ctx, k.JS, bus.Names{}, true)
	if err != nil {
		t.Fatal(err)
	}
	a, ra, err := st.Create(ctx, []tokens.Scope{tokens.ScopeAdmin}, nil, "a")
	if err != nil {
		t.Fatal(err)
	}
	_, rb, err := st.Create(ctx, []tokens.Scope{tokens.ScopeRead}, []string{"network"}, "b")
	if err != nil {
		t.Fatal(err)
	}
	list, err := st.List(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %v %v", list, err)
	}
	if r, err := st.Verify(ctx, a); err != nil || r.ID != ra.ID {
		t.Fatalf("verify: %v", err)
	}
	if err := st.Revoke(ctx, rb.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.Revoke(ctx, rb.ID); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("second revoke: %v", err)
	}
	if list, _ = st.List(ctx); len(list) != 1 || list[0].ID != ra.ID {
		t.Fatalf("after revoke: %v", list)
	}
	// The bucket holds no secret: no value contains the token.
	kv, _ := k.JS.KeyValue(ctx, bus.Names{}.TokensBucket())
	e, _ := kv.Get(ctx, ra.ID)
	if strings.Contains(string(e.Value()), a[len(a)-43:]) {
		t.Fatal("the bucket stores the secret")
	}
}

// BenchmarkVerify is the cost of checking one request's token against
// the watched bucket.
func BenchmarkVerify(b *testing.B) {
	k := kerneltest.Start(b)
	ctx := context.Background()
	st, err := tokens.Open(ctx, k.JS, bus.Names{}, true)
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := st.Create(ctx, []tokens.Scope{tokens.ScopeRead}, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	v, err := st.Watch(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Stop()
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	tok, _, _ := tokens.Generate([]tokens.Scope{tokens.ScopeRead}, nil, "")
	f.Add(tok, "submit,read", "network")
	f.Add("amf_0123456789abcdef_x", " admin ,", "strict,,trusted")
	f.Fuzz(func(t *testing.T, tok, scopes, grants string) {
		if id, ok := tokens.IDOf(tok); ok && (len(id) != 16 || !strings.HasPrefix(tok, "amf_"+id+"_")) {
			t.Fatalf("IDOf(%q) = %q", tok, id)
		}
		if sc, err := tokens.ParseScopes(scopes); err == nil {
			for _, s := range sc {
				if !strings.Contains(scopes, string(s)) {
					t.Fatalf("scope %q not in %q", s, scopes)
				}
			}
		}
		if gr, err := tokens.ParseGrants(grants); err == nil {
			for _, g := range gr {
				if g == "" || g == "strict" || strings.ContainsAny(g, ", ") {
					t.Fatalf("grant %q from %q", g, grants)
				}
			}
		}
	})
}
