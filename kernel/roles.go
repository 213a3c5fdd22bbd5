package kernel

import (
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/jwt/v2"

	"github.com/amf-os/amf/kernel/bus"
)

// Role is what a credential may do on the bus; nats-server enforces it
// through the subject permissions signed into the credential.
type Role string

// The roles of AMF-OS.
const (
	// RoleAdmin may do everything: operators, the kernel itself.
	RoleAdmin Role = "admin"
	// RoleWorker pulls its pools' tasks, publishes their events (on
	// its own subject, for its pools only), learned
	// memories (on its own subject only), failed reuses and heartbeats,
	// and receives cancellations. It may not confirm or forget memories.
	RoleWorker Role = "worker"
	// RoleBridge is the HTTP bridge: the client's rights, every profile
	// (it checks its own tokens' grants) and the hot cache's buckets.
	RoleBridge Role = "bridge"
	// RoleClient submits through the task API, reads events and cancels.
	RoleClient Role = "client"
)

// Roles lists the roles a credential can be issued for.
var Roles = []Role{RoleAdmin, RoleWorker, RoleBridge, RoleClient}

// UserSpec describes one credential to issue.
type UserSpec struct {
	Name string
	Role Role
	// Pools a worker takes tasks from (default: the default pool).
	Pools []string
	// Grants are the sandbox profiles beyond the base one a client may
	// ask for (the bridge and admin may ask for any).
	Grants []string
	// Names is the installation's subject prefix.
	Names bus.Names
	// TTL, when set, makes the credential expire.
	TTL time.Duration
	// ReadAll lets a client credential see every owner's tasks and
	// schedules (operators' dashboards); it still changes only its own.
	ReadAll bool

	ephemeral bool // the kernel's own connection: not recorded
}

func (s *UserSpec) validate() error {
	switch s.Role {
	case RoleAdmin, RoleWorker, RoleBridge, RoleClient:
	default:
		return fmt.Errorf("%w: role %q: want one of admin, worker, bridge, client", ErrAuth, s.Role)
	}
	if s.ReadAll && s.Role != RoleClient {
		return fmt.Errorf("%w: --read-all is a client credential's right (admin and bridge credentials see everything already)", ErrAuth)
	}
	if s.Role == RoleWorker && len(s.Pools) == 0 {
		s.Pools = []string{bus.DefaultPool}
	}
	for _, p := range s.Pools {
		if !bus.ValidToken(p) {
			return fmt.Errorf("%w: pool %q may hold only letters, digits, '-' and '_'", ErrAuth, p)
		}
	}
	for _, g := range s.Grants {
		if !bus.ValidToken(g) {
			return fmt.Errorf("%w: grant %q is not a profile name", ErrAuth, g)
		}
	}
	if s.Name == "" {
		s.Name = string(s.Role)
	}
	return nil
}

// Subscriptions one connection of a credential may hold. nats-server
// refuses the one past it ("maximum subscriptions exceeded") and keeps
// ~1.5 KB for each below it, so a credential that subscribed without
// bound took the kernel past 4 GB. A client needs its inbox, the
// heartbeats and a subscription per reader it reads (64 an owner, by
// default, --readers-per-owner) and holds at most ConnsPerCredential
// connections; workers and bridges hold one per task in flight or per
// open event stream, of which the events stream allows 4,096.
const (
	ClientSubsLimit = 1024
	PartSubsLimit   = 64 << 10
)

// subsLimit is the credential's bound on subscriptions per connection;
// operators' is none.
func (s UserSpec) subsLimit() int64 {
	switch s.Role {
	case RoleAdmin:
		return jwt.NoLimit
	case RoleClient:
		return ClientSubsLimit
	}
	return PartSubsLimit
}

// permissions are the subjects the role may publish and subscribe to.
// Every JetStream API a part calls is a subject too, so "may not delete a
// stream" is simply "may not publish on $JS.API.STREAM.DELETE.…".
// userKey is the credential's public key: its replies arrive under
// InboxPrefix(userKey), the only inbox it may subscribe to.
func (s UserSpec) permissions(userKey string) jwt.Permissions {
	var p jwt.Permissions
	if s.Role == RoleAdmin {
		return p // no list: everything in the account
	}
	n := s.Names
	tasks, events, memory := n.TasksStream(), n.EventsStream(), n.MemoryStream()
	pub := func(subj ...string) { p.Pub.Allow.Add(subj...) }
	sub := func(subj ...string) { p.Sub.Allow.Add(subj...) }
	// Replies (requests, JetStream API answers, consumer deliveries)
	// come to the credential's own inboxes only: another credential's
	// replies are not its to read.
	sub(InboxPrefix(userKey) + ".>")
	// Following a stream with consumers of one's own: the hot cache's
	// buckets for the bridge's KV watches. Never the events or tasks streams (below).
	readStream := func(stream string) {
		pub("$JS.API.STREAM.INFO."+stream,
			"$JS.API.DIRECT.GET."+stream, "$JS.API.DIRECT.GET."+stream+".>",
			"$JS.API.STREAM.MSG.GET."+stream,
			"$JS.API.CONSUMER.CREATE."+stream, "$JS.API.CONSUMER.CREATE."+stream+".>",
			"$JS.API.CONSUMER.INFO."+stream+".>",
			// Readers delete the consumers they made when they are done.
			"$JS.API.CONSUMER.DELETE."+stream+".>",
			"$JS.API.CONSUMER.MSG.NEXT."+stream+".>")
	}
	// Reading by key or sequence only, which makes nothing on the server.
	readKeys := func(stream string) {
		pub("$JS.API.STREAM.INFO."+stream,
			"$JS.API.DIRECT.GET."+stream, "$JS.API.DIRECT.GET."+stream+".>",
			"$JS.API.STREAM.MSG.GET."+stream)
	}
	// Consumers on the events and tasks streams are the kernel's alone:
	// nats-server's permissions see a create's API subject, never the
	// name, filter or deliver subject in its body, so a credential that
	// may create one may rewrite any (the status projector's) or deliver
	// the stream onto any subject. Readers ask the kernel for theirs
	// (amf.api.readers.open.<user key>, bus/readers.go), workers for their
	// pools' (amf.api.pool.<pool>) and the memory stream's
	// (amf.api.followers.open.<user key>, bus/followers.go). The deny outranks any allow.
	noConsumers := func(streams ...string) {
		for _, stream := range streams {
			p.Pub.Deny.Add("$JS.API.CONSUMER.CREATE."+stream, "$JS.API.CONSUMER.CREATE."+stream+".>",
				"$JS.API.CONSUMER.DURABLE.CREATE."+stream+".>", "$JS.API.CONSUMER.DELETE."+stream+".>")
		}
	}
	noConsumers(events, tasks)
	switch s.Role {
	case RoleWorker:
		// Of the memory subjects, a worker publishes its successes on
		// its own subject only, so that two successes from one
		// credential count once towards blind reuse, and failures (they
		// only make reuse less likely). Confirming and forgetting are a
		// user's: amf.memory.confirmed and amf.memory.forgotten stay
		// closed to it.
		pub(n.LearnedBy(CredentialID(userKey)), n.MemoryFailed(), n.Workers())
		sub(n.Control("*"))
		for _, pool := range s.Pools {
			// A task's events on the worker's own subject, for its
			// pools only (bus/eventsubject.go): readers and the status
			// projector take a task's events only from the kernel and
			// the task's pool, its end only from the holder. (A leaf
			// carries them: kernel/leafinterest.go.)
			pub(n.EventBy("*", pool, CredentialID(userKey)))
			c := n.PoolConsumer(pool)
			pub("$JS.API.CONSUMER.INFO."+tasks+"."+c,
				"$JS.API.CONSUMER.MSG.NEXT."+tasks+"."+c,
				"$JS.ACK."+tasks+"."+c+".>",
				n.PoolSubject(pool))
		}
		// A task's events by direct get: the fence on each event it
		// stores, the delivery count it carries on.
		readKeys(events)
		// The memory stream by key, and followed through a consumer the
		// kernel makes into the worker's own inbox (bus/followers.go):
		// one it made itself could fill the stream's consumer cap for
		// every worker or deliver the stream onto any subject.
		readKeys(memory)
		noConsumers(memory)
		pub(n.FollowersOpen(userKey), n.FollowersClose(userKey))
		// The hot cache's buckets by key only: no consumers there, so a
		// worker credential has fewer streams to point a push
		// consumer's deliveries from.
		readKeys("KV_" + n.StatusBucket())
		// A worker's index answers the fleet's memory searches and
		// the existence checks before a confirmation (micro service
		// amf-memory): requests, discovery, and the replies.
		sub(n.MemorySearch(), n.MemorySearchAny(), n.MemoryList(), n.MemoryListAny(), n.MemoryConfirm(), "$SRV.>")
		p.Resp = &jwt.ResponsePermission{MaxMsgs: 1, Expires: time.Minute}
		// Presence and sessions in the JetStream hot cache.
		for _, b := range []string{n.WorkersBucket(), n.SessionsBucket()} {
			pub("$KV." + b + ".>")
			readKeys("KV_" + b)
		}
	case RoleBridge, RoleClient:
		// Service discovery (`nats micro ls`, info), not the services'
		// stats: one endpoint serves every owner, and its last error
		// would tell another owner's task ids.
		// No $SRV.*: the services' own discovery answers into any reply
		// subject (bus.InboxReply); operators discover them.
		pub(n.API()+".workers", n.API()+".pools")
		sub(n.Workers())
		s.ownedAPI(&p, userKey)
		// A task's events come only through a consumer the kernel makes
		// for the reader, after checking it may read the task.
		pub(n.ReadersOpen(userKey), n.ReadersClose(userKey))
		noConsumers(memory)
		// No JetStream API for a client: JetStream answers into whatever
		// reply subject a request names, a stream's or a bucket's too
		// (bus.InboxReply), and a subjects filter on the events stream's
		// info would list every owner's task ids. Counts come through
		// the task API (amf.api.pools). The bridge, a service of the
		// installation, reads the streams' info (health) and the pool
		// consumers' state (GET /v1/pools, its metrics).
		if s.Role == RoleBridge {
			pub("$JS.API.STREAM.INFO."+tasks, "$JS.API.STREAM.INFO."+memory, "$JS.API.STREAM.INFO."+events,
				"$JS.API.CONSUMER.LIST."+tasks)
		}
		if s.Role == RoleBridge {
			// Confirming a memory lets every worker replay its command
			// without the model: the bridge (for tokens with the admin
			// scope) and admins may ask a worker whether it exists and
			// publish the confirmation; a client credential may not.
			pub(n.MemoryConfirm(), n.MemoryConfirmed())
			// Reading for its HTTP tokens, which it authenticates itself.
			pub(n.ReadersOpenForToken(userKey), n.ReadersCloseForToken(userKey))
			// The hot cache, and the HTTP tokens it checks requests
			// against (hashes only; written by admins).
			for _, b := range []string{n.StatusBucket(), n.WorkersBucket(), n.SessionsBucket(), n.TokensBucket()} {
				readStream("KV_" + b)
			}
			// Counting tasks that ran out of deliveries, for /v1/pools.
			sub("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + tasks + ".>")
			// The kernels' store reports, for /healthz.
			sub(n.KernelStore())
		}
	}
	withDomainAliases(&p)
	return p
}

// ownedAPI lets a client or bridge credential reach the task API. Tasks
// and schedules are made, read and changed only through it, never by
// publishing on amf.tasks.<pool> (a body there could name any owner):
// a client credential on its own owner's subjects
// (amf.api.as.nats:<credential id>.…, bus.Names.As), which is how the
// kernel knows who asks; the bridge under any owner, as it acts for the
// HTTP token it checked, and on the unowned subjects for admin tokens.
// A profile beyond the base one needs its grant in the subject.
func (s UserSpec) ownedAPI(p *jwt.Permissions, userKey string) {
	n := s.Names
	pub := func(subj ...string) { p.Pub.Allow.Add(subj...) }
	owner := string(bus.OwnerOfCredential(CredentialID(userKey)))
	grants := s.Grants
	if s.Role == RoleBridge {
		owner, grants = "*", []string{"*"}
	}
	as := n.API() + ".as." + owner + "."
	for _, op := range []string{"submit", "status", "cancel", "list",
		"schedules.create", "schedules.list", "schedules.get", "schedules.pause", "schedules.resume", "schedules.delete"} {
		pub(as + op)
	}
	// Memory searches and listings the same way (a worker's index
	// answers them): an owner sees its own memories and the shared ones,
	// never another's.
	pub(n.MemorySearchAs(bus.Owner(owner)), n.MemoryListAs(bus.Owner(owner)))
	// A client's own schedules may also be made under its user key, the
	// maker whose schedules are capped and paused on revocation.
	pub(n.ScheduleCreate(userKey, ""))
	for _, g := range grants {
		pub(as+"submit."+g, as+"schedules.create."+g, as+"schedules.resume."+g, n.ScheduleCreate(userKey, g))
	}
	if s.Role == RoleBridge || s.ReadAll {
		// Every owner's tasks and schedules, read only.
		pub(n.API()+".status", n.ListTasks(), n.ScheduleAPI("list"), n.ScheduleAPI("get"), n.MemorySearch(), n.MemoryList())
	}
	if s.ReadAll {
		// Every owner's events, into its own inbox.
		pub(n.ReadersOpenAll(userKey))
	}
	if s.Role == RoleBridge {
		// For admin tokens: every owner's work, changed.
		pub(n.API()+".cancel", n.ScheduleAPI("pause"), n.ScheduleAPI("delete"), n.ScheduleAPI("resume"), n.ScheduleResume("*"))
	}
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if strings.EqualFold(s, string(r)) {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: role %q: want one of admin, worker, bridge, client", ErrAuth, s)
}
