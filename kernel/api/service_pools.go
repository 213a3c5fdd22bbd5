package api

import (
	"context"

	"github.com/nats-io/nats.go/micro"

	"github.com/amf-os/amf/kernel/client"
)

// pools answers <prefix>.api.pools with every pool's back-pressure, in
// the shape of HTTP's GET /v1/pools. It
// counts max-delivery failures from the moment the service starts.
func (s *Service) pools(ctx context.Context) micro.HandlerFunc {
	failures, err := s.Client.CountDeliveryFailures()
	if err == nil {
		context.AfterFunc(ctx, failures.Stop)
	}
	return func(r micro.Request) {
		ps, err := s.Client.Pools(ctx, failures)
		if err != nil {
			_ = r.Error("503", err.Error(), nil)
			return
		}
		_ = r.RespondJSON(client.PoolList{Pools: ps})
	}
}
