package bridge_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/amf-os/amf/bridge/tokens"
)

// TestWorkspaceGrantOverHTTP: a token names only the workspaces it is
// granted, as it asks only for the profiles it is granted; a strict
// token names none.
func TestWorkspaceGrantOverHTTP(t *testing.T) {
	f := newAuthFixture(t, nil)
	holders := map[string]string{
		"strict":            f.token(t, "submit", ""),
		"workspace profile": f.token(t, "submit", "workspace"),
		"workspace:proj":    f.token(t, "submit", "workspace,workspace:proj"),
		"workspace:*":       f.token(t, "submit", "workspace,workspace:*"),
		"admin":             f.token(t, "admin", ""),
	}
	allowed := map[string][]string{
		"workspace:proj": {"proj"},
		"workspace:*":    {"proj", "docs"},
		"admin":          {"proj", "docs"},
	}
	for who, tok := range holders {
		for _, ws := range []string{"proj", "docs"} {
			t.Run(who+" names "+ws, func(t *testing.T) {
				policy := "workspace"
				if who == "strict" {
					policy = "strict"
				}
				a := f.do(t, nil, "POST", "/v1/tasks", tok, `{"command":"ls","policy":"`+policy+`","workspace":"`+ws+`"}`, nil)
				want := false
				for _, ok := range allowed[who] {
					want = want || ok == ws
				}
				if want && a.status != http.StatusAccepted {
					t.Fatalf("got %d %s, want 202", a.status, a.msg)
				}
				if !want && (a.status != 403 || a.code != "workspace_not_granted" || !strings.Contains(a.msg, `"workspace:`+ws+`" grant`)) {
					t.Fatalf("got %d %q %q, want 403 workspace_not_granted naming the grant", a.status, a.code, a.msg)
				}
			})
		}
	}
	if _, err := tokens.ParseGrants("workspace:../x"); err == nil {
		t.Errorf("a path as workspace grant was accepted")
	}
}
