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
