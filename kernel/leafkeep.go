package kernel

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/internal/atomicfile"
)

// accountKeeper writes each account update a leaf receives to its
// AccountJWT file. nats-server applies an update in memory only; kept on
// disk, a restarted leaf starts from the newest revocations instead of
// the copy made at setup, even before its link to the kernels is back.
// An update is pushed once, so the keeper also asks the kernels for the
// account's JWT whenever the leaf's links come up (catchUp).
type accountKeeper struct {
	path, account, operator string
	ns                      *server.Server
	log                     *slog.Logger

	mu   sync.Mutex
	kept string // the newest account JWT kept
	nc   *nats.Conn
	stop chan struct{}
	done chan struct{}
}

// keepAccount subscribes, in the leaf's system account and with the
// leaf's updates credential, to the updates the kernels send it.
func (l *Leaf) keepAccount(ns *server.Server, current *jwt.AccountClaims) error {
	k := &accountKeeper{path: l.AccountJWT, account: current.Subject, operator: current.Issuer, kept: l.claimsJWT,
		ns: ns, log: l.logger(), stop: make(chan struct{}), done: make(chan struct{})}
	prefix, err := CredsInboxPrefix(l.Updates)
	if err != nil {
		return fmt.Errorf("start leaf: %w", err)
	}
	nc, err := nats.Connect("", nats.InProcessServer(ns), nats.UserCredentials(l.Updates), nats.CustomInboxPrefix(prefix), nats.Name("amf-leaf-account-keeper"))
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
	go k.catchUpOnLink()
	return nil
}

// catchUpOnLink asks the kernels for the account each time the leaf's
// links come up, until one answers.
func (k *accountKeeper) catchUpOnLink() {
	defer close(k.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	caught := false
	for {
		if k.ns.NumLeafNodes() < 2 {
			caught = false
		} else if !caught {
			if caught = k.catchUp(); caught {
				k.log.Info("leaf linked: revocations reach it from now on")
			}
		}
		select {
		case <-k.stop:
			return
		case <-tick.C:
		}
	}
}

// catchUp applies the newest account JWT the kernels answer with, if it
// is newer than the leaf's; it reports whether a kernel answered (the
// leaf's own server answers too, and is not counted).
func (k *accountKeeper) catchUp() bool {
	inbox := k.nc.NewInbox()
	sub, err := k.nc.SubscribeSync(inbox)
	if err != nil {
		return false
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := k.nc.PublishRequest(leafAccountInfo(k.account), inbox, nil); err != nil {
		return false
	}
	answered := false
	var newest *jwt.AccountClaims
	var newestJWT string
	for {
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			break
		}
		var res struct {
			Server struct {
				ID string `json:"id"`
			} `json:"server"`
			Data struct {
				JWT string `json:"jwt"`
			} `json:"data"`
		}
		if json.Unmarshal(m.Data, &res) != nil || res.Server.ID == k.ns.ID() || res.Data.JWT == "" {
			continue
		}
		answered = true
		ac, err := jwt.DecodeAccountClaims(res.Data.JWT)
		if err != nil || ac.Subject != k.account || ac.Issuer != k.operator {
			continue
		}
		if newest == nil || ac.IssuedAt > newest.IssuedAt {
			newest, newestJWT = ac, res.Data.JWT
		}
	}
	k.mu.Lock()
	stale := newest != nil && newestJWT != k.kept && supersedes(newest, k.kept)
	k.mu.Unlock()
	if !stale {
		return answered
	}
	acc, err := k.ns.LookupAccount(k.account)
	if err != nil {
		k.log.Warn("leaf: cannot apply the kernels' newer account JWT", "err", err)
		return answered
	}
	// The operator's signature was checked by DecodeAccountClaims against
	// the issuer, which is the operator the leaf trusts.
	k.ns.UpdateAccountClaims(acc, newest)
	k.log.Info("leaf: applied the account JWT the kernels hold (updates were missed while the link was down)")
	if err := k.save([]byte(newestJWT)); err != nil {
		k.log.Warn("leaf: an account update is applied but not kept: a restart would start from the older account JWT", "file", k.path, "err", err)
	}
	return answered
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
	if s == k.kept || !supersedes(ac, k.kept) {
		return nil
	}
	if err := atomicfile.WriteFile(k.path, []byte(s+"\n"), 0o644); err != nil {
		return fmt.Errorf("keep account JWT: %w", err)
	}
	k.kept = s
	return nil
}

// supersedes reports whether update may replace the kept account JWT.
// A later issue time wins. Issue times count in seconds, so an account
// re-signed within the second it was issued (a revocation made right
// after a kernel started) ties with the JWT it replaces: then the one
// that keeps every revocation of the other, and adds one, wins, so a
// late answer holding the older JWT never undoes a revocation.
func supersedes(update *jwt.AccountClaims, kept string) bool {
	old, err := jwt.DecodeAccountClaims(kept)
	if err != nil {
		return true
	}
	switch {
	case update.IssuedAt > old.IssuedAt:
		return true
	case update.IssuedAt < old.IssuedAt:
		return false
	}
	for key, at := range old.Revocations {
		if update.Revocations[key] < at {
			return false
		}
	}
	return len(update.Revocations) > len(old.Revocations)
}

func (k *accountKeeper) close() {
	if k == nil {
		return
	}
	close(k.stop)
	<-k.done
	k.nc.Close()
}
