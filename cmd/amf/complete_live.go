package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/amf-os/amf/kernel/bus"
)

func init() {
	register(command{name: "complete", hidden: true, summary: "print the kernel's live pool or workspace names, one a line, for shell completion", run: runComplete})
}

// liveValues are the flags whose values the kernel knows: completion
// asks `amf complete WHAT` for them as the user types.
var liveValues = map[string]string{"pool": "pools", "workspace": "workspaces"}

// runComplete prints names from the running kernel; with none reachable
// it prints nothing, quickly, so completion never hangs.
func runComplete(ctx context.Context, args []string) error {
	var c common
	f := newFlags("complete", "complete pools|workspaces")
	clientFlags(f, &c)
	if err := f.parse(args); err != nil {
		return err
	}
	what, err := oneArg(f, "pools or workspaces")
	if err != nil {
		return err
	}
	if what != "pools" && what != "workspaces" {
		return fmt.Errorf("%q: say pools or workspaces: %w", what, errUsage)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cl, done, err := taskClient(&c, "amf-complete")
	if err != nil {
		return nil
	}
	defer done()
	var names []string
	body, err := apiCall(ctx, cl.NC, cl.Names.API()+".workers", nil)
	var ws []bus.WorkerInfo
	if err == nil && json.Unmarshal(body, &ws) == nil {
		for _, w := range ws {
			switch {
			case what == "pools":
				names = append(names, w.Pool)
			case w.Offer != nil:
				names = append(names, w.Offer.Workspaces...)
			}
		}
	}
	if what == "pools" {
		if body, err := apiCall(ctx, cl.NC, cl.Names.API()+".pools", nil); err == nil {
			if ps, err := decodePools(body); err == nil {
				for _, p := range ps {
					names = append(names, p.Name)
				}
			}
		}
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		fmt.Println(n)
	}
	return nil
}
