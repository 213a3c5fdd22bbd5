package policy

import (
	"errors"
	"testing"
)

// Programs that run a command the checker did not see, and paths that
// name a secret through a link of the kernel or one the command made.
// Each ran su or unshare, or read /proc/self/environ or /etc/shadow, in
// bash while the checker accepted it.
func TestAttackToolsAndLinksTheCheckerMissed(t *testing.T) {
	for _, cmd := range []string{
		// wrappers and tools that run a command
		"setarch x86_64 su -c id",
		"linux64 su -c id",
		"logsave /dev/null su -c id",
		"start-stop-daemon --start --exec /usr/bin/su -- -c id",
		"script -q -c'su -c id' /dev/null",
		"script -q --command='su -c id' /dev/null",
		"split -n 1 --filter='su -c id' /etc/hostname",
		"make -f /dev/null --eval=$'all:\\n\\tsu -c id'",
		"sort --compress-program=/usr/bin/unshare -S 64K -T . bigfile",
		"sort --compress-p=/usr/bin/unshare f",
		`awk 'BEGIN{c="su -c id"; print "" | c}'`,
		`awk 'BEGIN{ system ("su -c id") }'`,
		// git: its own options before the subcommand, and subcommands
		// that run commands
		"git -C . -c alias.x='!su -c id' x",
		"git rebase --exec 'su -c id' HEAD~1",
		"git difftool -y --extcmd='su -c id; true' HEAD~1",
		"git grep -O'su -c id; true' b",
		"git submodule foreach 'su -c id'",
		"git bisect run su -c id",
		// links of the kernel, and links to what holds secrets
		"cat /proc/net/../environ",
		"cat /proc/thread-self/../../environ",
		"cd /proc/net && cat ../environ",
		"mkdir s; cd s && ln -s /proc d; cd /work; cat s/d/self/environ",
		"ln -s -t . /proc; cat proc/self/environ",
		"ln -s /proc \"$(echo d)\"; cat d/self/environ",
		"cp -rs /etc d; wc -c < d/shadow",
		// a descriptor opened on a directory, used as one
		"wc -l /dev/stdin/shadow < /etc",
		"wc -l /dev/fd/3/etc/shadow 3< /",
		"exec 3</etc; cd /dev/fd/3; wc -l shadow",
		"exec 3</etc; ln -s /dev/fd/3 r; wc -l r/shadow",
		"exec 3</etc; wc -l /dev/fd/3/shadow",
		// man's pager and browser
		"man -P 'su -c id' ls",
		"man --pager='su -c id' ls",
		"man -H'su -c id' ls",
	} {
		for _, profile := range []string{ProfileStrict, ProfileNetwork} {
			var r *Refusal
			if err := Validate(cmd, profile); !errors.As(err, &r) {
				t.Errorf("%s: %q accepted", profile, cmd)
			}
		}
	}
	// git's own options no longer hide a clone from the network rule.
	for _, cmd := range []string{
		"git -c http.sslVerify=true clone http://h/r.git r",
		"git -C . clone http://h/r.git r",
		"git -C r pull http://h/r",
	} {
		var r *Refusal
		if err := Validate(cmd, ProfileStrict); !errors.As(err, &r) || r.Rule != RuleNetwork {
			t.Errorf("strict: %q: %v, want a refusal by %s", cmd, err, RuleNetwork)
		}
	}
	if err := Validate("git -c http.sslVerify=true clone http://h/r.git r && bash r/install.sh", ProfileNetwork); err == nil {
		t.Errorf("network: a clone's script run after it was accepted")
	}
	// What these tools and paths do otherwise stays allowed.
	for _, cmd := range []string{
		"setarch x86_64 -R ls", "sort -n f", "split -l 100 f", "make -j4",
		"logsave log.txt make", `awk '/foo|bar/ {print $1}' f`,
		`awk '$1 ~ /a|b/ || $2 > 3' f`, `awk -F'|' '{print $2}' f`,
		"git log --oneline", "git -C repo status", "git -c color.ui=never log",
		"git rebase -i HEAD~3", "git grep -n foo", "cat /proc/net/dev",
		"cat /proc/meminfo", "ln -s /usr/share/doc docs", "ln -s /etc/hostname h",
		"ln -s /proc/meminfo m", "ln -s /tmp t", "cat /dev/stdin", "diff <(ls) /dev/fd/0",
		"man ls", "man -P cat ls",
	} {
		if err := Validate(cmd, ProfileStrict); err != nil {
			t.Errorf("%q refused: %v", cmd, err)
		}
	}
}
