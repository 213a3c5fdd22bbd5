package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// Every endpoint that makes, reads or changes an owner's work is served
// twice: on amf.api.<op>, which only admins, the bridge and (for reads)
// read-all credentials may publish on, acting for the installation; and
// on amf.api.as.<owner>.<op>, which nats-server lets a client credential
// publish on only under its own owner token, so the kernel knows who asks
// without trusting a body. The bridge, which checks HTTP tokens itself,
// asks under the token's owner.

type endpoint struct {
	name, subject string
	h             micro.HandlerFunc
}

// addOwned adds each endpoint on its unowned subject and per owner.
func addOwned(g micro.Group, eps []endpoint) error {
	for _, ep := range eps {
		if err := g.AddEndpoint(ep.name, ep.h, micro.WithEndpointSubject(ep.subject)); err != nil {
			return fmt.Errorf("add endpoint %s: %w", ep.name, err)
		}
		if err := g.AddEndpoint("as-"+ep.name, ep.h, micro.WithEndpointSubject("as.*."+ep.subject)); err != nil {
			return fmt.Errorf("add endpoint as-%s: %w", ep.name, err)
		}
	}
	return nil
}

// asked reads who a request's subject says asks, and the operation after
// the owner (or after amf.api. for an unowned subject).
func (s *Service) asked(subject string) (bus.Access, string) {
	names := s.Client.Names
	if o, op, ok := names.OwnerOfSubject(subject); ok {
		return bus.Access{Owner: o}, op
	}
	return bus.Admin, strings.TrimPrefix(subject, names.API()+".")
}

// list answers amf.api.list (every owner's tasks) and
// amf.api.as.<owner>.list (that owner's), newest first.
func (s *Service) list(ctx context.Context) micro.HandlerFunc {
	return func(r micro.Request) {
		if s.Recent == nil {
			_ = r.Error("501", "listing tasks needs the kernel's hot cache", nil)
			return
		}
		q := client.ListRequest{Limit: client.DefaultListLimit}
		if len(strings.TrimSpace(string(r.Data()))) > 0 {
			if err := json.Unmarshal(r.Data(), &q); err != nil {
				_ = r.Error("400", `send {"limit":N} (1–1000), or nothing`, nil)
				return
			}
			if q.Limit == 0 {
				q.Limit = client.DefaultListLimit
			}
		}
		a, _ := s.asked(r.Subject())
		list, err := s.Client.List(client.WithAccess(ctx, a), s.Recent, q.Limit)
		if err != nil {
			code := "503"
			if q.Limit < 1 || q.Limit > client.MaxListLimit {
				code = "400"
			}
			_ = r.Error(code, err.Error(), nil)
			return
		}
		_ = r.RespondJSON(client.TaskList{Tasks: list})
	}
}
