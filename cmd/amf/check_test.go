package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckOneCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"--", "ls -l | wc -l"}, "ok\n", 0},
		{[]string{"--", `sh -c "cat \"/etc/shadow\""`}, "refused local-file-inclusion: ", 126},
		{[]string{"--profile", "trusted", "--", "curl -s https://example.com"}, "ok\n", 0},
		{[]string{"--", "curl -s https://example.com"}, "refused network: ", 126},
		{[]string{"--profile", "nope", "--", "ls"}, "refused profile: unknown profile \"nope\"", 126},
		{[]string{"--host-view", "--mask", "/srv/keys", "--", "cat /srv/keys/a.pem"}, "refused local-file-inclusion: ", 126},
		{[]string{"--host-view", "--", "cat /var/log/syslog"}, "ok\n", 0},
	} {
		var out bytes.Buffer
		err := checkMain(tc.args, strings.NewReader(""), &out)
		code := 0
		var ee exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if code != tc.code || !strings.HasPrefix(out.String(), tc.out) {
			t.Errorf("%v: exit %d, output %q; want exit %d, output starting %q", tc.args, code, out.String(), tc.code, tc.out)
		}
	}
}

func TestCheckLinesOfStandardInput(t *testing.T) {
	runbook := "# rotate the logs\n\ngzip -k app.log\nsudo systemctl restart app\nfind . -name '*.gz' -mtime +7 -delete\n"
	var out bytes.Buffer
	err := checkMain([]string{"-o", "json"}, strings.NewReader(runbook), &out)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != exitRefused {
		t.Fatalf("err %v, want exit %d", err, exitRefused)
	}
	var got []checkResult
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r checkResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, r)
	}
	if len(got) != 3 {
		t.Fatalf("%d results, want 3 (comments and blank lines skipped): %s", len(got), out.String())
	}
	if !got[0].OK || got[0].Line != 3 || got[1].OK || got[1].Rule != "root-escalation" || got[1].Line != 4 || !got[2].OK {
		t.Fatalf("results %+v", got)
	}
}

func TestCheckAllPass(t *testing.T) {
	var out bytes.Buffer
	if err := checkMain(nil, strings.NewReader("ls\ndf -h\n"), &out); err != nil {
		t.Fatalf("check: %v", err)
	}
	if out.String() != "ok\nok\n" {
		t.Fatalf("output %q", out.String())
	}
}
