package bus

import "strings"

// Owner is the identity that made a task, a session, a schedule or a
// memory: only it and the operators (admin, read-all) may see and touch
// what it made. The kernel sets it from who asked, never from a body a
// client wrote.
//
// The forms are "nats:<credential id>" for a NATS credential (the id of
// its user public key, kernel.CredentialID) and "token:<id>" for an HTTP
// token (the console's session maps to its token). The empty owner is the
// installation itself (the kernel, admins, tasks stored before owners
// were recorded): only operators see those.
type Owner string

// OwnerOfCredential is the owner of what a NATS credential makes; id is
// the credential's id (kernel.CredentialID of its user public key).
func OwnerOfCredential(id string) Owner { return Owner("nats:" + id) }

// OwnerOfToken is the owner of what an HTTP token makes.
func OwnerOfToken(id string) Owner { return Owner("token:" + id) }

// Valid reports whether o has one of the owner forms (the empty owner
// included) and fits in one subject token after its prefix.
func (o Owner) Valid() bool {
	if o == "" {
		return true
	}
	kind, id, ok := strings.Cut(string(o), ":")
	return ok && (kind == "nats" || kind == "token") && ValidToken(id)
}

// Access is who asks, and how far beyond their own work they may see and
// act. The kernel reads it from the subject a request came on (which
// nats-server lets only that credential, or a bridge, publish on), the
// bridge from the token.
type Access struct {
	// Owner is whose work a submission makes and whose work it may see.
	Owner Owner
	// SeeAll is the read-all right (operators' dashboards): every owner's
	// tasks and schedules are visible, none may be changed.
	SeeAll bool
	// ActAll is the admin right: every owner's work may be seen, cancelled,
	// continued, paused or deleted.
	ActAll bool
}

// Admin is the installation's own access: the kernel, admins.
var Admin = Access{SeeAll: true, ActAll: true}

// MaySee reports whether a may see what o made. A miss must answer as a
// miss does ("not found"), never as a refusal, so nobody learns that
// another owner's task exists.
func (a Access) MaySee(o Owner) bool { return a.SeeAll || a.ActAll || o == a.Owner }

// MayTouch reports whether a may cancel, continue or change what o made.
func (a Access) MayTouch(o Owner) bool { return a.ActAll || o == a.Owner }

// Credential is the credential id of an owner made by a NATS credential
// (the inverse of OwnerOfCredential); ok is false for any other owner.
func (o Owner) Credential() (id string, ok bool) {
	return strings.CutPrefix(string(o), "nats:")
}

// Token is the token id of an owner made by an HTTP token (the inverse of
// OwnerOfToken); ok is false for any other owner.
func (o Owner) Token() (id string, ok bool) {
	return strings.CutPrefix(string(o), "token:")
}
