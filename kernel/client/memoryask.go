package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/bus"
)

// Asking the memory service (a worker's index, knowledge.Serve) for
// searches, listings and a memory about to be confirmed. It lives here,
// below the memory packages, because confirming (ConfirmMemory) needs it
// and the kernel never imports memory; package memory re-exports it.

// ErrBadMemoryRequest wraps the memory service's refusal of a request it
// cannot answer as sent (an empty or oversized query, a bad limit).
var ErrBadMemoryRequest = errors.New("bad memory request")

// ErrNoSearchService means no worker answers memory searches.
var ErrNoSearchService = errors.New("no worker serves memory search")

// SearchMemory asks the fleet's memory (a worker's index, see
// knowledge.Serve) over every owner's memories, on
// amf.api.memory.search (admins, the bridge and read-all credentials),
// and waits for its answer until ctx ends.
func SearchMemory(ctx context.Context, nc *nats.Conn, names bus.Names, req bus.SearchRequest) (bus.SearchReply, error) {
	return SearchMemoryOn(ctx, nc, names, names.MemorySearch(), req)
}

// SearchMemoryOn is SearchMemory asked on subject: names.MemorySearchAs(owner) sees
// that owner's memories and the shared ones (a client credential may ask
// only under its own owner, client.Client.MemorySearchSubject). Every
// match is checked against its id (bus.GenuineMatches): one that is not
// its id's is left out, and the reply's Mismatched says which answers
// held such matches.
func SearchMemoryOn(ctx context.Context, nc *nats.Conn, names bus.Names, subject string, req bus.SearchRequest) (bus.SearchReply, error) {
	everyOwner := subject == names.MemorySearch()
	rep, mismatched, err := ask(ctx, nc, names, subject, req, func(r *bus.SearchReply) (string, int) {
		var n int
		r.Matches, n = bus.GenuineMatches(r.Matches, everyOwner)
		return r.Worker, n
	})
	if err != nil {
		return bus.SearchReply{}, fmt.Errorf("search: %w", err)
	}
	rep.Mismatched = mismatched
	return rep, nil
}

// ListMemoryOn asks a worker's index for the newest limit memories (0: the
// default) that the asker sees: names.MemoryListAs(owner) that owner's
// and the shared ones, names.MemoryList() every owner's. Every memory is
// checked as SearchMemoryOn checks a match.
func ListMemoryOn(ctx context.Context, nc *nats.Conn, names bus.Names, subject string, limit int) (bus.MemoryListReply, error) {
	everyOwner := subject == names.MemoryList()
	rep, mismatched, err := ask(ctx, nc, names, subject, bus.MemoryListRequest{Limit: limit}, func(r *bus.MemoryListReply) (string, int) {
		var n int
		r.Memories, n = bus.GenuineMatches(r.Memories, everyOwner)
		r.Total = max(len(r.Memories), r.Total-n)
		return r.Worker, n
	})
	if err != nil {
		return bus.MemoryListReply{}, fmt.Errorf("list memories: %w", err)
	}
	rep.Mismatched = mismatched
	return rep, nil
}

// ErrMismatchedAnswer says every answer to a lookup (MemoryAsShown) showed
// another memory than the id asked for.
var ErrMismatchedAnswer = errors.New("no answer shows the memory its id names")

// MemoryAsShown asks a worker for memory id as it is about to be confirmed
// (amf.api.memory.confirm, admin and bridge credentials only). The answer
// taken is one whose content is the id's (bus.Match.Genuine), so what the
// asker shows is what a confirmation of id vouches for; when none is,
// the error wraps ErrMismatchedAnswer and names what the answers showed.
// An id no worker knows is bus.ErrUnknownMemory.
func MemoryAsShown(ctx context.Context, nc *nats.Conn, names bus.Names, id string) (bus.Match, []bus.MismatchedAnswer, error) {
	var shown []string
	m, mismatched, err := ask(ctx, nc, names, names.MemoryConfirm(), bus.ConfirmMemory{ID: id}, func(m *bus.Match) (string, int) {
		if m.ID == id && m.Genuine() {
			return "", 0
		}
		shown = append(shown, fmt.Sprintf("%q", m.Command))
		return "", 1
	})
	switch {
	case err != nil:
		return bus.Match{}, mismatched, err
	case len(mismatched) > 0 && (m.ID != id || !m.Genuine()):
		return bus.Match{}, mismatched, fmt.Errorf("%w: memory %s: every answer shows a command that is not that memory's (%s): a worker credential answered falsely",
			ErrMismatchedAnswer, id, strings.Join(shown, ", "))
	}
	return m, mismatched, nil
}

// moreAnswers is how long an asker waits, after an answer it cannot take
// whole (one holding a memory that is not its id's, or an error), for a
// better one. Workers answer the memory service as one queue group, so
// one worker's index answers each request; but any worker credential, of
// any pool, may subscribe to the subject and answer too, sooner. Taking
// the first answer would let such an answer hide the index's. An index
// waits at most 2 s for the stream before it answers
// (knowledge.searchSyncWait).
const moreAnswers = 3 * time.Second

// maxAnswers is how many answers to one request are read at most; past
// it nats.go drops them as a slow consumer's.
const maxAnswers = 64

// askTimeout bounds a request whose ctx sets no deadline (an HTTP
// request's), as the client's requests are bounded.
const askTimeout = 30 * time.Second

// ask sends req to the memory service on subject and returns the first
// answer that check finds whole: check leaves out of an answer what it
// may not show and says how many it left out, and under which worker name
// the answer came. An answer with some left out, or an error, does not
// end the wait: a better one may follow until moreAnswers after it (or
// ctx's end). Then the first answer with something left is returned, and
// with it every answer that held something check left out; failing that,
// the first error.
func ask[R any](ctx context.Context, nc *nats.Conn, names bus.Names, subject string, req any, check func(*R) (worker string, mismatched int)) (R, []bus.MismatchedAnswer, error) {
	var zero R
	data, err := json.Marshal(req)
	if err != nil {
		return zero, nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, askTimeout)
		defer cancel()
	}
	inbox := nc.NewRespInbox()
	answers := make(chan *nats.Msg, maxAnswers)
	sub, err := nc.ChanSubscribe(inbox, answers)
	if err != nil {
		return zero, nil, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subject, inbox, data); err != nil {
		return zero, nil, err
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return zero, nil, refused(nc, names, subject, err)
	}
	if err := refused(nc, names, subject, nil); err != nil {
		return zero, nil, err
	}
	var (
		partial    *R
		firstErr   error
		mismatched []bus.MismatchedAnswer
		grace      <-chan time.Time
	)
	result := func() (R, []bus.MismatchedAnswer, error) {
		switch {
		case partial != nil:
			return *partial, mismatched, nil
		case firstErr != nil:
			return zero, mismatched, firstErr
		}
		return zero, mismatched, nil
	}
	for {
		select {
		case msg := <-answers:
			if len(msg.Data) == 0 && msg.Header.Get("Status") == "503" {
				// nats-server's word that nobody subscribes: no other
				// answer comes.
				return zero, nil, fmt.Errorf("%w on %s (service %s): start one with amf up or amf worker",
					ErrNoSearchService, subject, names.MemoryServiceName())
			}
			rep, err := decode[R](msg)
			if err == nil {
				worker, n := check(&rep)
				if n == 0 {
					return rep, mismatched, nil
				}
				mismatched = append(mismatched, bus.MismatchedAnswer{Worker: worker, Memories: n})
				if partial == nil {
					partial = &rep
				}
			} else if firstErr == nil {
				firstErr = err
			}
			if grace == nil {
				grace = time.After(moreAnswers)
			}
		case <-grace:
			return result()
		case <-ctx.Done():
			if partial != nil || firstErr != nil {
				return result()
			}
			// nats-server answers a refused request with nothing: the
			// refusal is recorded on the connection.
			return zero, nil, refused(nc, names, subject, ctx.Err())
		}
	}
}

// decode reads one answer of the memory service: its error, or its body.
func decode[R any](msg *nats.Msg) (R, error) {
	var rep R
	switch code := msg.Header.Get(micro.ErrorCodeHeader); code {
	case "":
	case "400":
		return rep, fmt.Errorf("%w: %s", ErrBadMemoryRequest, msg.Header.Get(micro.ErrorHeader))
	case "404":
		return rep, fmt.Errorf("%w: %s", bus.ErrUnknownMemory, msg.Header.Get(micro.ErrorHeader))
	default:
		return rep, fmt.Errorf("%s (%s)", msg.Header.Get(micro.ErrorHeader), code)
	}
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return rep, fmt.Errorf("bad reply: %w", err)
	}
	return rep, nil
}

// refused is nats-server's refusal of this connection's publish on
// subject, if the connection recorded one, else err.
func refused(nc *nats.Conn, names bus.Names, subject string, err error) error {
	if last := nc.LastError(); errors.Is(last, nats.ErrPermissionViolation) && strings.Contains(last.Error(), `"`+subject+`"`) {
		return fmt.Errorf("this credential may not ask on %s (a client credential asks about its own memories, on %s): %w",
			subject, names.As("<its owner>", "memory.…"), last)
	}
	return err
}
