package main

import (
	"strings"
	"testing"
)

// amf up gives tasks that name no profile observe only where its worker
// can run it: a namespace runner without root refuses pids: host, and
// every such task would fail.
func TestUpDefaultsToObserveOnlyWhereItRuns(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	for _, c := range []struct {
		backend, profile, profiles string
		euid                       int
		want                       string
		warned                     bool
	}{
		{backend: "namespace", euid: 0, want: upProfile},
		{backend: "namespace", euid: 1000, want: "", warned: true},
		{backend: "host", euid: 1000, want: upProfile},
		{backend: "namespace", euid: 1000, profile: "network", want: "network"},
		{backend: "namespace", euid: 0, profiles: "/etc/amf/profiles.yaml", want: ""},
	} {
		geteuid = func() int { return c.euid }
		s := sandboxFlags{backend: c.backend, profile: c.profile, profiles: c.profiles}
		why := s.upDefaults()
		if s.profile != c.want || (why != "") != c.warned {
			t.Errorf("%+v: profile %q, warning %q", c, s.profile, why)
		}
		if c.warned && !strings.Contains(why, "root") {
			t.Errorf("%+v: the warning does not say why: %q", c, why)
		}
	}
}
