package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/amf-os/amf/internal/buildinfo"
)

func init() {
	register(command{name: "version", summary: "print the build: version, commit, Go and nats-server", run: runVersion})
}

func runVersion(_ context.Context, args []string) error {
	var output string
	f := newFlags("version", "version [-o text|json]")
	f.StringVar(&output, "o", "text", "output format: text or json")
	f.meta("o", "text|json")
	if err := f.parse(args); err != nil {
		return err
	}
	i := buildinfo.Get()
	switch output {
	case "json":
		return json.NewEncoder(os.Stdout).Encode(i)
	case "text":
		fmt.Printf("amf %s\ncommit:      %s\ngo:          %s\nnats-server: %s\n", i.Version, i.Commit, i.Go, i.NATSServer)
		return nil
	}
	return fmt.Errorf("-o %q: say text or json", output)
}
