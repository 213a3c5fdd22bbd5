package tokens

import (
	"regexp"
	"slices"
)

// WorkspaceGrant prefixes a grant that lets a token's tasks name a
// workspace: "workspace:proj", or "workspace:*" for every one.
const WorkspaceGrant = "workspace:"

var workspaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func validWorkspace(s string) bool { return workspaceName.MatchString(s) }

// MayUseWorkspace says whether the token's tasks may name workspace ws:
// none needs no grant, admin tokens may name any, others only those
// granted. Workspaces are grants of their own, as profiles are: a token
// granted the workspace profile still names only its workspaces.
func (r Record) MayUseWorkspace(ws string) bool {
	return ws == "" || slices.Contains(r.Scopes, ScopeAdmin) ||
		slices.Contains(r.Grants, WorkspaceGrant+"*") || slices.Contains(r.Grants, WorkspaceGrant+ws)
}
