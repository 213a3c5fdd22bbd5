package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/amf-os/amf/kernel/bus"
	"github.com/amf-os/amf/kernel/client"
)

func init() {
	register(command{name: "workers", summary: "the live workers: pool, capacity, load, model, workspaces", run: runWorkers})
	register(command{name: "pools", summary: "each pool's queue: waiting, running, redelivered, failed", run: runPools})
}

// listCall is what amf workers and amf pools share: their flags (the
// connection's and -o json|wide), then one request to the task API's
// endpoint of the same name. It returns the answer, the API's subject
// prefix and the output format.
func listCall(ctx context.Context, args []string, name string) (body []byte, api, output string, err error) {
	var c common
	f := newFlags(name, name+" [-o json|wide]")
	clientFlags(f, &c)
	outputFlag(f, &output, "json", "wide")
	if err := f.parse(args); err != nil {
		return nil, "", "", err
	}
	if err := noArgs(f, output, "json", "wide"); err != nil {
		return nil, "", "", err
	}
	cl, done, err := taskClient(&c, "amf-"+name)
	if err != nil {
		return nil, "", "", err
	}
	defer done()
	api = cl.Names.API()
	body, err = apiCall(ctx, cl.NC, api+"."+name, nil)
	return body, api, output, err
}

func runWorkers(ctx context.Context, args []string) error {
	body, api, output, err := listCall(ctx, args, "workers")
	if err != nil {
		return err
	}
	var ws []bus.WorkerInfo
	if err := json.Unmarshal(body, &ws); err != nil {
		return fmt.Errorf("%s.workers answered %q: %w", api, clip(string(body), 80), err)
	}
	slices.SortFunc(ws, func(a, b bus.WorkerInfo) int { return strings.Compare(a.Pool+"\x00"+a.ID, b.Pool+"\x00"+b.ID) })
	if output == "json" {
		return writeJSON(os.Stdout, map[string]any{"workers": ws})
	}
	if len(ws) == 0 {
		fmt.Fprintln(os.Stderr, "no live workers: start one with amf worker (or amf up)")
	}
	header := []string{"ID", "HOST", "POOL", "IN-FLIGHT", "LOAD", "MODEL", "LAST-SEEN"}
	if output == "wide" {
		header = append(header, "SANDBOX", "VERSION", "WORKSPACES", "LABELS", "STARTED")
	}
	now := time.Now()
	rows := make([][]string, 0, len(ws))
	for _, w := range ws {
		model := "-"
		if w.Model != nil {
			model = w.Model.Name + " " + w.Model.Status
		}
		r := []string{w.ID, w.Host, w.Pool, fmt.Sprintf("%d/%d", w.InFlight, w.Capacity), strconv.FormatFloat(w.Load, 'f', 2, 64), model, age(now, w.LastSeen)}
		if output == "wide" {
			var spaces []string
			if w.Offer != nil {
				spaces = w.Offer.Workspaces
			}
			labels := make([]string, 0, len(w.Labels))
			for k, v := range w.Labels {
				labels = append(labels, k+"="+v)
			}
			slices.Sort(labels)
			r = append(r, orDash(w.Sandbox), orDash(w.Version), orDash(strings.Join(spaces, ",")), orDash(strings.Join(labels, ",")), orDash(timeOrEmpty(w.Started)))
		}
		rows = append(rows, r)
	}
	return table(os.Stdout, header, rows)
}

func runPools(ctx context.Context, args []string) error {
	body, api, output, err := listCall(ctx, args, "pools")
	if err != nil {
		return err
	}
	ps, err := decodePools(body)
	if err != nil {
		return fmt.Errorf("%s.pools answered %q: %w", api, clip(string(body), 80), err)
	}
	if output == "json" {
		return writeJSON(os.Stdout, map[string]any{"pools": ps})
	}
	header := []string{"POOL", "WAITING", "RUNNING", "REDELIVERED", "IDLE", "FAILED", "NOTE"}
	if output == "wide" {
		header = append(header, "STORED", "MAX-DELIVER")
	}
	rows := make([][]string, 0, len(ps))
	for _, p := range ps {
		note := "-"
		switch {
		case p.NoWorkers:
			note = "no worker serves it"
		case p.Waiting > 0 && p.IdleRequests == 0:
			note = "saturated"
		}
		r := []string{p.Name, itoa(p.Waiting), strconv.Itoa(p.Running), strconv.Itoa(p.Redelivered), strconv.Itoa(p.IdleRequests), itoa(p.MaxDeliveryFailures), note}
		if output == "wide" {
			r = append(r, itoa(p.Stored), strconv.Itoa(p.MaxDeliver))
		}
		rows = append(rows, r)
	}
	return table(os.Stdout, header, rows)
}

// decodePools reads the kernel's answer: a bare array, or the HTTP API's
// {"pools": […]}.
func decodePools(body []byte) ([]client.Pool, error) {
	var ps []client.Pool
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '{' {
		var wrapped struct {
			Pools []client.Pool `json:"pools"`
		}
		err := json.Unmarshal(b, &wrapped)
		return wrapped.Pools, err
	}
	err := json.Unmarshal(body, &ps)
	return ps, err
}

// noArgs refuses positional words on a command that takes none, and an
// output format it does not print.
func noArgs(f flags, output string, formats ...string) error {
	if f.NArg() != 0 {
		return fmt.Errorf("takes no arguments (got %q): %w", f.Args(), errUsage)
	}
	return checkOutput(output, formats...)
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
