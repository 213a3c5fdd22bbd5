package kernel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// accountKeeper writes each account update a leaf receives to its
// AccountJWT file. nats-server applies an update in memory only; kept on
// disk, a restarted leaf starts from the newest revocations instead of
// the copy made at setup, even before its link to the kernels is back.
type accountKeeper struct {
	path, account, operator string

	mu     sync.Mutex
	issued int64 // the newest kept update's issue time
	nc     *nats.Conn
}

// keepAccount subscribes, in the leaf's system account and with the
// leaf's updates credential, to the updates the kernels send it.
func (l *Leaf) keepAccount(ns *server.Server, current *jwt.AccountClaims) error {
	k := &accountKeeper{path: l.AccountJWT, account: current.Subject, operator: current.Issuer, issued: current.IssuedAt}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.UserCredentials(l.Updates), nats.Name("amf-leaf-account-keeper"))
	if err != nil {
		return fmt.Errorf("start leaf: follow account updates: %w", err)
	}
	for _, subj := range []string{"$SYS.REQ.ACCOUNT." + k.account + ".CLAIMS.UPDATE", "$SYS.ACCOUNT." + k.account + ".CLAIMS.UPDATE"} {
		if _, err := nc.Subscribe(subj, func(m *nats.Msg) {
			if err := k.save(m.Data); err != nil {
				l.logger().Warn("leaf: an account update is applied but not kept: a restart would start from the older account JWT", "file", k.path, "err", err)
			}
		}); err != nil {
			nc.Close()
			return fmt.Errorf("start leaf: follow account updates: %w", err)
		}
	}
	if err := nc.Flush(); err != nil {
		nc.Close()
		return fmt.Errorf("start leaf: follow account updates: %w", err)
	}
	k.nc = nc
	l.keeper = k
	return nil
}

// save writes an update signed by the installation's operator for its
// account, if it is newer than the one kept; nats-server has already
// checked it the same way before applying it.
func (k *accountKeeper) save(raw []byte) error {
	s := strings.TrimSpace(string(raw))
	ac, err := jwt.DecodeAccountClaims(s)
	if err != nil {
		return err
	}
	if ac.Subject != k.account || ac.Issuer != k.operator {
		return fmt.Errorf("update for account %s by %s is not this installation's", ac.Subject, ac.Issuer)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if ac.IssuedAt < k.issued {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(k.path), ".account-*.jwt")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err == nil {
		_, err = tmp.WriteString(s + "\n")
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), k.path)
	}
	if err != nil {
		return err
	}
	k.issued = ac.IssuedAt
	return nil
}

func (k *accountKeeper) close() {
	if k != nil && k.nc != nil {
		k.nc.Close()
	}
}
