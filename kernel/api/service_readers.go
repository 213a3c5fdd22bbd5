package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nkeys"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// addReaderEndpoints serves <prefix>.api.readers.{open,close}: readers
// get their consumers on the events stream from the kernel, which checks
// whom they read for (bus/readers.go). The subject names the asker:
//
//   - readers.open: an operator (only admin credentials may publish
//     there), for any task, delivering anywhere;
//   - readers.open.<user key>: that credential (nats-server lets only it
//     publish there), for its own tasks, delivering into its own inbox;
//   - readers.open.token: an operator's connection, for the HTTP token
//     its request names (amf up's bridge shares the kernel's);
//   - readers.open.<user key>.token: the bridge (only its role may
//     publish there), for the HTTP token its request names;
//   - readers.open.<user key>.all: a read-all credential (only such a
//     credential may publish there), for any task, into its own inbox.
func (s *Service) addReaderEndpoints(ctx context.Context, g micro.Group) error {
	eps := []struct {
		name, subject string
		h             micro.HandlerFunc
	}{
		{"readers-open", "readers.open", s.openReader(ctx)},
		{"readers-open-own", "readers.open.*", s.openReader(ctx)},
		{"readers-open-token", "readers.open.*.token", s.openReader(ctx)},
		{"readers-open-all", "readers.open.*.all", s.openReader(ctx)},
		{"readers-close", "readers.close", s.closeReader(ctx)},
		{"readers-close-own", "readers.close.*", s.closeReader(ctx)},
		{"readers-close-token", "readers.close.*.token", s.closeReader(ctx)},
	}
	for _, ep := range eps {
		if err := g.AddEndpoint(ep.name, published(ep.h), micro.WithEndpointSubject(ep.subject)); err != nil {
			return fmt.Errorf("add endpoint %s: %w", ep.name, err)
		}
	}
	return nil
}

// asker is who sent a readers request, read from its subject.
type asker struct {
	key   string // user public key; "" for an operator
	token bool   // the bridge, for one of its tokens
	all   bool   // a read-all credential, for any task
}

func (s *Service) askerOf(subject, op string) (asker, error) {
	rest := strings.TrimPrefix(strings.TrimPrefix(subject, s.Client.Names.API()+".readers."+op), ".")
	switch rest {
	case "":
		return asker{}, nil
	case "token":
		// An operator's connection reading for a token it names.
		return asker{token: true}, nil
	}
	key, tail, _ := strings.Cut(rest, ".")
	if !nkeys.IsValidPublicUserKey(key) || (tail != "" && tail != "token" && tail != "all") {
		return asker{}, fmt.Errorf("%s is not a readers subject: ask on %s", subject, s.Client.Names.ReadersOpen("<your user key>"))
	}
	return asker{key: key, token: tail == "token", all: tail == "all"}, nil
}

// reader is whom the asker reads for: itself, or the token it names.
func (a asker) reader(owner bus.Owner, all, operator bool) (client.Reader, error) {
	switch {
	case a.key == "" && !a.token:
		return client.Reader{All: true}, nil
	case !a.token:
		return client.Reader{Owner: bus.OwnerOfCredential(bus.CredentialID(a.key)), All: a.all}, nil
	case !strings.HasPrefix(string(owner), "token:") || !owner.Valid():
		return client.Reader{}, fmt.Errorf("owner %q: the bridge reads for a token, \"token:<id>\"", owner)
	}
	return client.Reader{Owner: owner, All: all || operator, Operator: operator}, nil
}

func (s *Service) openReader(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		a, err := s.askerOf(r.Subject(), "open")
		if err != nil {
			_ = r.Error("400", err.Error(), nil)
			return
		}
		var req bus.ReaderRequest
		if err := decodeStrict(r.Data(), &req); err != nil {
			_ = r.Error("400", fmt.Sprintf("%v: send {\"task\":\"<id>\",\"deliver\":\"<your inbox>\",\"after\":<seq>}", err), nil)
			return
		}
		reader, err := a.reader(req.Owner, req.All, req.Operator)
		if err != nil {
			_ = r.Error("400", err.Error(), nil)
			return
		}
		// A credential's consumer delivers only into its own inbox, which
		// nobody else may subscribe to.
		if a.key != "" && !strings.HasPrefix(req.Deliver, bus.InboxPrefix(a.key)+".") {
			_ = r.Error("403", fmt.Sprintf("deliver subject %q is not under your inbox prefix %s", req.Deliver, bus.InboxPrefix(a.key)), nil)
			return
		}
		reply, err := s.Client.MakeReader(ctx, reader, req, s.readersLimit())
		if err != nil {
			fail(r, err)
			return
		}
		_ = r.RespondJSON(reply)
	}
}

// readersLimit is how many streams one owner may hold open (0: no cap).
func (s *Service) readersLimit() int {
	switch {
	case s.ReadersPerOwner == 0:
		return bus.DefaultReadersPerOwner
	case s.ReadersPerOwner < 0:
		return 0
	}
	return s.ReadersPerOwner
}

func (s *Service) closeReader(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		a, err := s.askerOf(r.Subject(), "close")
		if err != nil {
			_ = r.Error("400", err.Error(), nil)
			return
		}
		var req bus.ReaderClose
		if err := decodeStrict(r.Data(), &req); err != nil {
			_ = r.Error("400", fmt.Sprintf("%v: send {\"consumer\":\"<name>\"}", err), nil)
			return
		}
		// The bridge closes what it opened for any of its tokens.
		owns := func(o bus.Owner) bool {
			switch {
			case a.key == "":
				return true
			case a.token:
				return strings.HasPrefix(string(o), "token:")
			}
			return o == bus.OwnerOfCredential(bus.CredentialID(a.key))
		}
		if err := s.Client.CloseReader(ctx, owns, req.Consumer); err != nil {
			fail(r, err)
			return
		}
		_ = r.Respond(nil)
	}
}

// decodeStrict decodes one JSON object, refusing unknown fields.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", bus.ErrInvalidTask, err)
	}
	return nil
}
