package policy

import (
	"errors"
	"strings"
	"testing"
)

// hostScope is a host view with a rw workspace and the usual masks.
var hostScope = Scope{
	HostView: true,
	WorkDir:  "/srv/proj",
	Writable: []string{"/tmp", "/srv/shared"},
	Masked:   []string{"/home/ann/.ssh", "/var/lib/amf", "/etc/app/secret.key"},
}

func TestScopeJudgesPathsWhereTheCommandRuns(t *testing.T) {
	pol := DefaultPolicy()
	for _, tc := range []struct {
		name    string
		scope   Scope
		cmd     string
		refused string // rule, or "" for accepted
		reason  string // text the reason must hold
	}{
		{"host log readable", hostScope, "tail -n 20 /var/log/syslog", "", ""},
		{"host passwd readable", hostScope, "cat /etc/passwd", "", ""},
		{"climb out readable", hostScope, "cat ../../etc/hostname", "", ""},
		{"climb out minimal", Scope{}, "cat ../../etc/hostname", RuleLocalFile, "climbs out"},
		{"sys readable", hostScope, "cat /sys/class/net/lo/mtu", "", ""},
		{"sys hidden minimal", Scope{}, "cat /sys/class/net/lo/mtu", RuleLocalFile, "system state"},
		{"masked file", hostScope, "cat /home/ann/.ssh/id_ed25519", RuleLocalFile, "masked"},
		{"masked dir itself", hostScope, "ls -a /var/lib/amf", RuleLocalFile, "/var/lib/amf"},
		{"masked by glob", hostScope, "cat /etc/app/*.key", RuleLocalFile, "masked"},
		{"masked after cd", hostScope, "cd /etc/app && cat secret.key", RuleLocalFile, "masked"},
		{"masked through climb", hostScope, "cat ../../etc/app/secret.key", RuleLocalFile, "masked"},
		{"masked in nested shell", hostScope, `sh -c "cat \"/etc/app/secret.key\""`, RuleLocalFile, "masked"},
		{"masked find start", hostScope, "find /var/lib/amf -name '*.db'", RuleLocalFile, "masked"},
		{"masked grep dir", hostScope, "grep -r token /home/ann/.ssh", RuleLocalFile, "masked"},
		{"masked archived", hostScope, "tar czf out.tgz /home/ann/.ssh", RuleLocalFile, "masked"},
		{"masked dotdot", hostScope, "cat /srv/proj/../../home/ann/.ssh/id_rsa", RuleLocalFile, "masked"},
		{"masked through xargs", hostScope, "echo /etc/app/secret.key | xargs cat", RuleLocalFile, "masked"},
		{"masked through find exec", hostScope, "find /etc/app -exec cat {} +", "", ""},
		{"masked copied", hostScope, "cp /etc/app/secret.key .", RuleLocalFile, "masked"},
		{"masked by a glob mask", Scope{HostView: true, Masked: ExpandMasks(DefaultMasks)}, "cat /home/bob/.ssh/id_rsa", RuleLocalFile, "masked"},
		{"masked history by a glob mask", Scope{HostView: true, Masked: ExpandMasks(DefaultMasks)}, "tail /home/bob/.bash_history", RuleLocalFile, "masked"},
		{"unmasked home file", Scope{HostView: true, Masked: ExpandMasks(DefaultMasks)}, "cat /home/bob/notes.txt", "", ""},
		{"secret without mask", hostScope, "cat /etc/shadow", RuleLocalFile, "secrets"},
		{"write workspace", hostScope, "echo hi > /srv/proj/note.txt", "", ""},
		{"write workspace relative", hostScope, "echo hi > note.txt", "", ""},
		{"write writable", hostScope, "cp note.txt /srv/shared/", "", ""},
		{"write outside", hostScope, "echo hi > /etc/motd", RuleLocalFile, "outside"},
		{"write old work dir", hostScope, "touch /work/x", RuleLocalFile, "outside"},
		{"write sys", hostScope, "echo 1 > /sys/kernel/x", RuleLocalFile, "system state"},
		{"write climb", hostScope, "echo x > ../other/f", RuleLocalFile, "outside"},
		{"write minimal work", Scope{}, "echo hi > /work/x", "", ""},
		{"write minimal tmp", Scope{}, "echo hi > /tmp/x", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pol.Check(tc.cmd, "strict", nil, tc.scope)
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("%q refused: %v", tc.cmd, err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) || r.Rule != tc.refused || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("%q: %v, want a refusal by %s saying %q", tc.cmd, err, tc.refused, tc.reason)
			}
		})
	}
}

// TestBuiltinViewProfilesCheckPaths: the built-in observe and workspace
// profiles judge paths in the host view as the runner builds it (the
// default masks): what the README's examples ask runs, secrets and
// writes outside the writable set are refused.
func TestBuiltinViewProfilesCheckPaths(t *testing.T) {
	pol := DefaultPolicy()
	masks := ExpandMasks(DefaultMasks, []string{"/var/lib/amf"})
	observe := Scope{HostView: true, WorkDir: InsideWorkDir, Writable: []string{InsideWorkDir, "/tmp", "/dev/shm"}, Masked: masks}
	rw := Scope{HostView: true, WorkDir: "/srv/proj", Writable: []string{InsideWorkDir, "/tmp", "/dev/shm", "/srv/proj"}, Masked: masks}
	for _, tc := range []struct {
		profile string
		scope   Scope
		cmd     string
		ok      bool
	}{
		{"observe", observe, "du -ah /var/log 2>/dev/null | sort -rh | head -n 5", true},
		{"observe", observe, "df -h /", true},
		{"observe", observe, "ps aux --sort=-%mem | head -n 2", true},
		{"observe", observe, "cat /etc/os-release; ls -l /home", true},
		{"observe", observe, "find /etc -name '*.conf' -newer /etc/hostname", true},
		{"observe", observe, "cat /etc/shadow", false},
		{"observe", observe, "ls -a /root", false},
		{"observe", observe, "cat /home/ann/.ssh/id_ed25519", false},
		{"observe", observe, "ls /var/lib/amf/auth", false},
		{"observe", observe, "echo x > /etc/motd", false},
		{"observe", observe, "cp /etc/hosts /srv/proj/", false},
		{"workspace", rw, "echo hi > note.txt && sort -o sorted.txt note.txt", true},
		{"workspace", rw, "cp /etc/hosts /srv/proj/hosts.copy", true},
		{"workspace", rw, "cp /etc/hosts /srv/other/", false},
		{"workspace", rw, "tar czf /srv/proj/home.tgz /home/ann/.gnupg", false},
	} {
		err := pol.Check(tc.cmd, tc.profile, nil, tc.scope)
		if tc.ok && err != nil {
			t.Errorf("%s: %q refused: %v", tc.profile, tc.cmd, err)
		}
		var r *Refusal
		if !tc.ok && (!errors.As(err, &r) || r.Rule != RuleLocalFile) {
			t.Errorf("%s: %q: %v, want a %s refusal", tc.profile, tc.cmd, err, RuleLocalFile)
		}
	}
}
