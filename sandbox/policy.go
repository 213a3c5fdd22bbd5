package sandbox

import "github.com/amf-os/amf/sandbox/policy"

// The checker lives in sandbox/policy; these names keep the runners and
// their callers reading it as before.
type (
	Policy        = policy.Policy
	Profile       = policy.Profile
	Refusal       = policy.Refusal
	WorkDirBudget = policy.WorkDirBudget
	View          = policy.View
	Workspace     = policy.Workspace
	WorkspaceSet  = policy.WorkspaceSet
	Scope         = policy.Scope
)

// View values and the workspace rule (see policy).
const (
	ViewMinimal   = policy.ViewMinimal
	ViewHost      = policy.ViewHost
	PidsOwn       = policy.PidsOwn
	PidsHost      = policy.PidsHost
	RuleWorkspace = policy.RuleWorkspace
	WorkspaceRO   = policy.WorkspaceRO
	WorkspaceRW   = policy.WorkspaceRW
)

// Rule names (see policy).
const (
	RuleSyntax       = policy.RuleSyntax
	RuleUnicode      = policy.RuleUnicode
	RuleDynamic      = policy.RuleDynamic
	RuleRoot         = policy.RuleRoot
	RuleLocalFile    = policy.RuleLocalFile
	RuleFetchRun     = policy.RuleFetchRun
	RuleDestruction  = policy.RuleDestruction
	RuleNetwork      = policy.RuleNetwork
	RuleDenyList     = policy.RuleDenyList
	RuleAllowList    = policy.RuleAllowList
	RuleProfile      = policy.RuleProfile
	RuleEmptyCommand = policy.RuleEmptyCommand
)

// Checker entry points (see policy).
var (
	Validate        = policy.Validate
	DefaultPolicy   = policy.DefaultPolicy
	LoadPolicy      = policy.LoadPolicy
	ParsePolicy     = policy.ParsePolicy
	Programs        = policy.Programs
	ParseWorkspace  = policy.ParseWorkspace
	ParseWorkspaces = policy.ParseWorkspaces
	ExpandMasks     = policy.ExpandMasks
	EscapeGlob      = policy.EscapeGlob
	Masked          = policy.Masked
	DefaultMasks    = policy.DefaultMasks
)

// maxCommandBytes bounds the task a runner hands its init.
const maxCommandBytes = policy.MaxCommandBytes
