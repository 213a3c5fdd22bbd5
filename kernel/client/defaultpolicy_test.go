package client_test

import (
	"context"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

// roster is a fixed list of live workers, as the hot cache would answer.
type roster []bus.WorkerInfo

func (r roster) Workers(context.Context) ([]bus.WorkerInfo, error) { return r, nil }

// A task naming no policy is judged, and travels, as the profile its
// pool's workers give it, so a grant check cannot be passed by naming
// nothing.
func TestResolvePolicyNamesThePoolDefault(t *testing.T) {
	observe := &bus.Offer{Default: "observe"}
	for _, tc := range []struct {
		name    string
		workers roster
		task    bus.Task
		want    string
	}{
		{"pool default", roster{{Pool: "default", Offer: observe}}, bus.Task{Pool: "default"}, "observe"},
		{"no pool means default", roster{{Pool: "default", Offer: observe}}, bus.Task{}, "observe"},
		{"named policy kept", roster{{Pool: "default", Offer: observe}}, bus.Task{Policy: "strict"}, "strict"},
		{"other pool's default ignored", roster{{Pool: "gpu", Offer: observe}}, bus.Task{Pool: "default"}, ""},
		{"workers disagree", roster{{Pool: "default", Offer: observe}, {Pool: "default", Offer: &bus.Offer{Default: "network"}}}, bus.Task{}, ""},
		{"base default stays unnamed", roster{{Pool: "default", Offer: &bus.Offer{Default: bus.BasePolicy}}}, bus.Task{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &client.Client{Offers: tc.workers}
			task := tc.task
			c.ResolvePolicy(context.Background(), &task)
			if got := task.Policy; got != tc.want {
				t.Errorf("policy = %q, want %q", got, tc.want)
			}
		})
	}
}
