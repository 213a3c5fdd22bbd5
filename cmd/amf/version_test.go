package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/buildinfo"
)

// TestVersionNamesTheBuild runs `amf version` as a user does: the text
// form and the JSON form name the embedded nats-server and the Go that
// built the binary; an unknown format is refused.
func TestVersionNamesTheBuild(t *testing.T) {
	p := startAmf(t, nil, "version", "-o", "json")
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("amf version -o json: exit %d\n%s", code, p.Output())
	}
	var i buildinfo.Info
	if err := json.Unmarshal([]byte(p.Output()), &i); err != nil {
		t.Fatalf("amf version -o json: %v\n%s", err, p.Output())
	}
	if !strings.HasPrefix(i.NATSServer, "v2.") || !strings.HasPrefix(i.Go, "go1.") || i.Version == "" || i.Commit == "" {
		t.Fatalf("amf version -o json = %+v", i)
	}
	p = startAmf(t, nil, "version")
	if code := p.wait(30 * time.Second); code != 0 || !strings.Contains(p.Output(), "nats-server: "+i.NATSServer) {
		t.Fatalf("amf version: exit %d\n%s", code, p.Output())
	}
	p = startAmf(t, nil, "version", "-o", "yaml")
	if code := p.wait(30 * time.Second); code == 0 || !strings.Contains(p.Output(), "text or json") {
		t.Fatalf("amf version -o yaml: exit %d\n%s", code, p.Output())
	}
}
