package kernel

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ConnsPerCredential bounds the connections one client credential holds
// on one server of the kernel at once. nats-server bounds the
// subscriptions of each connection (ClientSubsLimit) but not how many
// connections a credential opens, so without this a client credential
// could still hold any number of subscriptions, the server's memory,
// over many connections. A client needs one per process that uses it;
// workers, bridges and operators, whose processes the installation
// runs, are not bounded.
const ConnsPerCredential = 128

// capConnections follows the account's connect and disconnect events,
// through a system-account connection of the kernel's own, and closes a
// client credential's connection past ConnsPerCredential on this
// server: nats-server closes it (DisconnectClientByID), the client is
// told so. Each kernel of a cluster bounds its own server's.
func (s *Server) capConnections() (stop func(), err error) {
	if s.auth == nil {
		return func() {}, nil // an open kernel: no credentials
	}
	creds, _, err := s.auth.issueSystem()
	if err != nil {
		return nil, err
	}
	jwtText, err := jwt.ParseDecoratedJWT(creds)
	if err != nil {
		return nil, err
	}
	seed, err := jwt.ParseDecoratedNKey(creds)
	if err != nil {
		return nil, err
	}
	seedText, _ := seed.Seed()
	nc, err := nats.Connect("", nats.InProcessServer(s.ns), nats.Name("amf-kernel-conns"), nats.UserJWTAndSeed(jwtText, string(seedText)))
	if err != nil {
		return nil, fmt.Errorf("connection bound: %w", err)
	}
	c := &connCap{ns: s.ns, id: s.ns.ID(), held: map[string]map[uint64]bool{}, log: s.logger().With("part", "kernel")}
	acc := s.auth.AccountKey()
	for subj, fn := range map[string]func(server.ClientInfo, server.ServerInfo){
		fmt.Sprintf("$SYS.ACCOUNT.%s.CONNECT", acc):    c.connected,
		fmt.Sprintf("$SYS.ACCOUNT.%s.DISCONNECT", acc): c.disconnected,
	} {
		if _, err := nc.Subscribe(subj, func(m *nats.Msg) {
			var ev struct {
				Server server.ServerInfo `json:"server"`
				Client server.ClientInfo `json:"client"`
			}
			if json.Unmarshal(m.Data, &ev) == nil {
				fn(ev.Client, ev.Server)
			}
		}); err != nil {
			nc.Close()
			return nil, fmt.Errorf("connection bound: %w", err)
		}
	}
	if err := nc.Flush(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connection bound: %w", err)
	}
	// The connections made before the events were followed (the server
	// took clients from its start) are counted from the server's list.
	if cz, err := s.ns.Connz(&server.ConnzOptions{Username: true, Account: acc, Limit: 1 << 20}); err == nil {
		for _, ci := range cz.Conns {
			c.connected(server.ClientInfo{ID: ci.Cid, User: ci.AuthorizedUser, Tags: ci.Tags, Name: ci.Name}, server.ServerInfo{ID: c.id})
		}
	}
	return nc.Close, nil
}

// connCap counts each client credential's connections on one server.
type connCap struct {
	ns  *server.Server
	id  string
	log *slog.Logger

	mu   sync.Mutex
	held map[string]map[uint64]bool // user key → connection ids
}

func (c *connCap) connected(ci server.ClientInfo, si server.ServerInfo) {
	if si.ID != c.id || ci.User == "" || !ci.Tags.Contains("role:"+string(RoleClient)) {
		return
	}
	c.mu.Lock()
	conns := c.held[ci.User]
	if conns == nil {
		conns = map[uint64]bool{}
		c.held[ci.User] = conns
	}
	conns[ci.ID] = true
	over := len(conns) > ConnsPerCredential
	if over {
		delete(conns, ci.ID)
	}
	c.mu.Unlock()
	if over {
		c.log.Warn("closed a connection past the credential's bound", "user", ci.User, "name", ci.Name, "bound", ConnsPerCredential)
		_ = c.ns.DisconnectClientByID(ci.ID)
	}
}

func (c *connCap) disconnected(ci server.ClientInfo, si server.ServerInfo) {
	if si.ID != c.id {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if conns := c.held[ci.User]; conns != nil {
		delete(conns, ci.ID)
		if len(conns) == 0 {
			delete(c.held, ci.User)
		}
	}
}
