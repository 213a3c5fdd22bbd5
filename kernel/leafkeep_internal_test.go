package kernel

import (
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// An account JWT re-signed within the second it was issued (a credential
// revoked right after a kernel started) ties on issue time with the one
// it replaces: the leaf keeps the one that holds every revocation, so a
// late answer with the older JWT never undoes a revocation.
func TestSupersedesNeverDropsARevocation(t *testing.T) {
	op, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := nkeys.CreateAccount()
	accPub, _ := acc.PublicKey()
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	other, _ := nkeys.CreateUser()
	otherPub, _ := other.PublicKey()
	at := time.Now().Unix()
	claims := func(revoke ...string) *jwt.AccountClaims {
		ac := jwt.NewAccountClaims(accPub)
		for _, k := range revoke {
			ac.RevokeAt(k, time.Unix(at, 0))
		}
		return ac
	}
	encode := func(ac *jwt.AccountClaims) string {
		s, err := ac.Encode(op)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	decode := func(s string) *jwt.AccountClaims {
		d, err := jwt.DecodeAccountClaims(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// Encode stamps the issue time in seconds: three made together tie,
	// unless a second turned between them; then they are made again.
	var plainJWT, revokedJWT, bothJWT string
	var plain, revoked, both *jwt.AccountClaims
	for {
		plainJWT, revokedJWT, bothJWT = encode(claims()), encode(claims(userPub)), encode(claims(userPub, otherPub))
		plain, revoked, both = decode(plainJWT), decode(revokedJWT), decode(bothJWT)
		if plain.IssuedAt == revoked.IssuedAt && revoked.IssuedAt == both.IssuedAt {
			break
		}
	}
	if supersedes(plain, revokedJWT) {
		t.Error("the older JWT, issued in the same second, replaced one that revokes a credential")
	}
	if !supersedes(revoked, plainJWT) {
		t.Error("a revocation issued in the same second was not kept")
	}
	if !supersedes(both, revokedJWT) || supersedes(revoked, bothJWT) {
		t.Error("of two tied JWTs, the one holding more revocations must win, and only it")
	}
	later := claims()
	later.IssuedAt = revoked.IssuedAt + 1
	if !supersedes(later, revokedJWT) {
		t.Error("a JWT issued later did not win")
	}
	earlier := claims(userPub, otherPub)
	earlier.IssuedAt = revoked.IssuedAt - 1
	if supersedes(earlier, revokedJWT) {
		t.Error("a JWT issued earlier won")
	}
}
