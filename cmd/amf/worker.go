package main

import "context"

func init() {
	register(command{name: "worker", summary: "run a worker that takes tasks of its pool from the kernel", run: runWorker})
}

func runWorker(ctx context.Context, args []string) error {
	var c common
	var w workerFlags
	var cf cacheFlags
	f := newFlags("worker", "worker [flags]")
	cf.bind(f)
	c.bindState(f)
	c.bindNATS(f)
	c.bindLog(f)
	w.bind(f)
	if err := f.parse(args); err != nil {
		return err
	}
	c.logger()
	nc, cache, err := c.dial(ctx, "amf-worker", &cf)
	if err != nil {
		return err
	}
	defer drain(nc)
	ctx, stop := whileConnected(ctx, nc)
	defer stop()
	wk, release, err := w.worker(ctx, nc, &c, cache)
	if err != nil {
		return err
	}
	defer release()
	// Connected, sandbox and memory open: what remains is pulling tasks.
	notifyReady()
	if err := wk.Run(ctx); err != nil {
		return err
	}
	return connectionLost(ctx)
}
