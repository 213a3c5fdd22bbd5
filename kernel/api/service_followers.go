package api

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/micro"
	"github.com/nats-io/nkeys"

	"github.com/amf-os/amf/kernel/bus"
)

// addFollowerEndpoints serves <prefix>.api.followers.{open,close}:
// workers' knowledge bases get their consumers on the memory stream from
// the kernel (bus/followers.go). The subject names the asker:
//
//   - followers.open: an operator (only admin credentials may publish
//     there), not capped, delivering anywhere but a wildcard;
//   - followers.open.<user key>: that worker credential (nats-server lets
//     only it publish there), delivering into its own inbox, at most
//     FollowersPerCredential at once.
func (s *Service) addFollowerEndpoints(ctx context.Context, g micro.Group) error {
	eps := []struct {
		name, subject string
		h             micro.HandlerFunc
	}{
		{"followers-open", "followers.open", s.openFollower(ctx)},
		{"followers-open-own", "followers.open.*", s.openFollower(ctx)},
		{"followers-close", "followers.close", s.closeFollower(ctx)},
		{"followers-close-own", "followers.close.*", s.closeFollower(ctx)},
	}
	for _, ep := range eps {
		if err := g.AddEndpoint(ep.name, published(ep.h), micro.WithEndpointSubject(ep.subject)); err != nil {
			return fmt.Errorf("add endpoint %s: %w", ep.name, err)
		}
	}
	return nil
}

// followerOf is the user key a followers request names on its subject,
// "" for an operator's bare subject.
func (s *Service) followerOf(subject, op string) (string, error) {
	key := strings.TrimPrefix(strings.TrimPrefix(subject, s.Client.Names.API()+".followers."+op), ".")
	if key != "" && !nkeys.IsValidPublicUserKey(key) {
		return "", fmt.Errorf("%s is not a followers subject: ask on %s", subject, s.Client.Names.FollowersOpen("<your user key>"))
	}
	return key, nil
}

func (s *Service) openFollower(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		key, err := s.followerOf(r.Subject(), "open")
		if err != nil {
			_ = r.Error("400", err.Error(), nil)
			return
		}
		var req bus.FollowerRequest
		if err := decodeStrict(r.Data(), &req); err != nil {
			_ = r.Error("400", fmt.Sprintf("%v: send {\"after\":<last applied seq>,\"deliver\":\"<your inbox>\"}", err), nil)
			return
		}
		// A credential's consumer delivers only into its own inbox, which
		// nobody else may subscribe to: never onto a stream's subject.
		if key != "" && !strings.HasPrefix(req.Deliver, bus.InboxPrefix(key)+".") {
			_ = r.Error("403", fmt.Sprintf("deliver subject %q is not under your inbox prefix %s", req.Deliver, bus.InboxPrefix(key)), nil)
			return
		}
		limit := s.FollowersPerCredential
		switch {
		case limit == 0:
			limit = bus.DefaultFollowersPerCredential
		case limit < 0:
			limit = 0
		}
		reply, err := s.Client.MakeFollower(ctx, key, req, limit)
		if err != nil {
			fail(r, err)
			return
		}
		_ = r.RespondJSON(reply)
	}
}

func (s *Service) closeFollower(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		key, err := s.followerOf(r.Subject(), "close")
		if err != nil {
			_ = r.Error("400", err.Error(), nil)
			return
		}
		var req bus.FollowerClose
		if err := decodeStrict(r.Data(), &req); err != nil {
			_ = r.Error("400", fmt.Sprintf("%v: send {\"consumer\":\"<name>\"}", err), nil)
			return
		}
		if err := s.Client.CloseFollower(ctx, key, req.Consumer); err != nil {
			fail(r, err)
			return
		}
		_ = r.Respond(nil)
	}
}
