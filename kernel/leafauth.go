package kernel

import (
	"fmt"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// leafUpdatesName names the system-account user a site's leaf follows
// account updates with.
const leafUpdatesName = "amf-leaf-updates"

// LeafUpdates is what a site's amf leaf needs to follow the account's
// updates (revocations) as the kernels do: a credential of the system
// account that may only receive the updates of this account, followed by
// the system account's JWT (the leaf needs the account its link is bound
// to). It grants nothing secret: the account JWT it receives is public,
// and it may publish nothing.
func (a *Authority) LeafUpdates() ([]byte, error) {
	ukp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	key, _ := ukp.PublicKey()
	uc := jwt.NewUserClaims(key)
	uc.Name = leafUpdatesName
	acc := a.AccountKey()
	// It receives this account's updates, and asks the kernels for the
	// account's current JWT (a leaf whose link was down missed updates;
	// nats-server answers $SYS.REQ.ACCOUNT.<key>.INFO with it), the
	// answers coming to its own inbox only.
	uc.Permissions.Sub.Allow.Add("$SYS.REQ.ACCOUNT."+acc+".CLAIMS.UPDATE", "$SYS.ACCOUNT."+acc+".CLAIMS.UPDATE", InboxPrefix(key)+".>")
	uc.Permissions.Pub.Allow.Add(leafAccountInfo(acc))
	token, err := uc.Encode(a.system)
	if err != nil {
		return nil, fmt.Errorf("%w: sign leaf updates user: %v", ErrAuth, err)
	}
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAuth, err)
	}
	sysJWT, err := a.systemAccountJWT()
	if err != nil {
		return nil, err
	}
	return append(creds, []byte("-----BEGIN NATS SYSTEM ACCOUNT JWT-----\n"+sysJWT+"\n------END NATS SYSTEM ACCOUNT JWT------\n")...), nil
}

// parseLeafUpdates reads a file written from LeafUpdates: the user's
// JWT, its seed and the system account's JWT, in that order.
func parseLeafUpdates(raw []byte) (user *jwt.UserClaims, system string, err error) {
	var blocks []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "---") && !strings.HasPrefix(line, "*") && !strings.Contains(line, " ") {
			blocks = append(blocks, line)
		}
	}
	if len(blocks) != 3 {
		return nil, "", fmt.Errorf("want a user JWT, its seed and the system account's JWT, found %d block(s)", len(blocks))
	}
	if user, err = jwt.DecodeUserClaims(blocks[0]); err != nil {
		return nil, "", fmt.Errorf("user JWT: %v", err)
	}
	return user, blocks[2], nil
}

// leafAccountInfo is the subject nats-server answers with an account's
// information, its JWT included.
func leafAccountInfo(account string) string { return "$SYS.REQ.ACCOUNT." + account + ".INFO" }
