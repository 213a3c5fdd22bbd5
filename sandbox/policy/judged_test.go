package policy

import (
	"errors"
	"strings"
	"testing"
)

// judged are commands the checker once misjudged, missed or refused
// for a reason that was not true, each with the verdict it must give
// under strict: accepted (rule ""), or refused by rule with a reason
// that says why.
var judged = []struct{ cmd, rule, reason string }{
	// operands that are not paths
	{"sed -i '/^#/d' notes.txt", "", ""},
	{"sed -i.bak -e 's/a/b/' notes.txt", "", ""},
	{"sh -c 'dd if=/dev/zero of=/tmp/f bs=1M count=10'", "", ""},
	{"find . ! -name '..' -print", "", ""},
	{"awk '{print}' RS=.. f", "", ""},
	{"find ~ -name '*.o' -delete", "", ""},
	{`source "$(dirname "$0")/lib.sh"`, "", ""},
	{"ls -l /proc/self/fd", RuleLocalFile, "/proc/self/fd"},
	{"php -l", "", ""},
	{"df | grep /dev/sda1", "", ""},
	{"sed 's/[/]x/e/' f", "", ""},
	{`tar cf x.tar "$PWD"`, "", ""},
	{"mount -v", "", ""},
	{"kill -0 1", "", ""},
	{"find sub -mindepth 1 -execdir mv {} .. \\;", "", ""},
	{`awk -F'[|"]' '{print $2}' f`, "", ""},
	{`alias x="vim -c \"normal '0\""`, "", ""},
	{"echo /dev/sda1 is full", "", ""},
	{"grep -r /etc/shadow notes/", "", ""},
	{"trap '' INT", "", ""},
	{"tar czf out.tgz *", RuleDynamic, "put -- before"},
	{"tar czf out.tgz -- *", "", ""},
	{"find . -name '*.txt' -exec sh -c 'wc -l \"$1\"' _ {} \\;", "", ""},
	{"find . -name '*.txt' -exec sh -c 'wc -l {}' \\;", RuleDynamic, `sh -c '… "$1" …' _ {}`},
	{"ls | xargs -I{} sh -c 'wc -l {}'", RuleDynamic, `sh -c '… "$1" …' _ {}`},
	{"ls | xargs -I{} sh -c 'wc -l \"$1\"' _ {}", "", ""},
	{"dig @127.0.0.1 example.com", "", ""},
	{"rsync -a --delete src/ /tmp/dst", "", ""},
	{"rsync -a --rsync-path='sudo rsync' src/ /tmp/dst", RuleRoot, "sudo"},
	{"rsync -a src/ host:dst", RuleNetwork, "rsync"},
	{"cp -t out a b", "", ""},
	{"sort -o sorted.txt f", "", ""},
	// writes and removals outside the work dir, however spelled
	{"mv a /", RuleLocalFile, "would write /"},
	{"find /etc -name '*.conf' -exec chmod 644 {} \\;", RuleLocalFile, "/etc"},
	{"find /usr -exec /bin/rm {} \\;", RuleLocalFile, "/usr"},
	{"find /var/log -execdir sed -i 's/a/b/' {} +", RuleLocalFile, "outside the work dir"},
	{"find / -delete", RuleDestruction, ""},
	{"find /etc -name '*.bak' | xargs rm", RuleLocalFile, "/etc"},
	{"find /etc -type f -print0 | xargs -0 chmod 600", RuleLocalFile, "/etc"},
	{"find . | cpio -p /usr/local", RuleLocalFile, "/usr/local"},
	{"find . | cpio -pdm /usr/local", RuleLocalFile, "/usr/local"},
	{"cp -t /usr/bin tool", RuleLocalFile, "/usr/bin"},
	{"cp --target-directory=/usr/bin tool", RuleLocalFile, "/usr/bin"},
	{"tar -C /usr -xf x.tar", RuleLocalFile, "/usr"},
	{"tar xf x.tar --directory=/etc", RuleLocalFile, "/etc"},
	{"tar czf /x.tar dir", RuleLocalFile, "/x.tar"},
	{"sort -o /etc/hosts f", RuleLocalFile, "/etc/hosts"},
	{"echo /usr/lib/x | xargs mkdir -p /usr/lib/y", RuleLocalFile, "/usr/lib/y"},
	{"split -l 10 f /etc/part", RuleLocalFile, "/etc/part"},
	{"unzip a.zip -d /opt", RuleLocalFile, "/opt"},
	{"curl -o /etc/x http://127.0.0.1/x", RuleLocalFile, "/etc/x"},
	{"rsync -a --delete src/ /", RuleDestruction, "/"},
	{"sort --out=/etc/hosts f", RuleLocalFile, "/etc/hosts"},
	{"sort --outp /etc/hosts f", RuleLocalFile, "/etc/hosts"},
	{"cp --target=/usr/bin tool", RuleLocalFile, "/usr/bin"},
	{"tar --direc=/etc -xf x.tar", RuleLocalFile, "/etc"},
	{"tar -x --dir /etc -f x.tar", RuleLocalFile, "/etc"},
	{"tar -czf out.tgz --direc=/etc hosts", "", ""},
	{"sed --in-pl 's/a/b/' /etc/hosts", RuleLocalFile, "/etc/hosts"},
	{"grep --reg=x /etc/shadow", RuleLocalFile, "/etc/shadow"},
	{"grep -e x /etc/shadow", RuleLocalFile, "/etc/shadow"},
	{"env -S", "", ""},
	{"env -S -S", "", ""},
	{"env -S '-S sudo id'", RuleRoot, "sudo"},
	{"initdb -D /usr/local/var/postgres", RuleLocalFile, "/usr/local/var/postgres"},
	{"initdb -D pgdata", "", ""},
	{"rustic init --repository /srv/rustic-repo", RuleLocalFile, "/srv/rustic-repo"},
	{"restic -r /srv/backup backup .", RuleLocalFile, "/srv/backup"},
	// network clients without a network
	{"echo hi | mail -s hi ann@example.com", RuleNetwork, "mail"},
	{"sendmail ann@example.com < msg", RuleNetwork, "sendmail"},
	{"dig -x 1.1.1.1", RuleNetwork, "dig"},
	{"host example.com", RuleNetwork, "host"},
	// read-only uses of privileged or destructive programs
	{"export -n VARIABLE", "", ""},
	{"echo 'ls -l' | bash", "", ""},
	{"echo 'sudo id' | bash", RuleRoot, "sudo"},
	{"echo 'cat /etc/shadow' | sh", RuleLocalFile, "shadow"},
	{"zpool status", "", ""},
	{"parted -h", "", ""},
	{"sudo --help", "", ""},
	{"sudo --help id", RuleRoot, "sudo"},
	{"zpool destroy tank", RuleDestruction, "zpool"},
	{"git pull path/to/file.bundle main", "", ""},
	{"git pull origin main", RuleNetwork, "git"},
	{"git fetch", RuleNetwork, "git"},
	{"cargo install --list", "", ""},
	{"mkfs.erofs image.erofs root/", "", ""},
	{"mkfs.ext4 disk.img", "", ""},
	{"mkfs.ext4 /dev/sda1", RuleDestruction, "mkfs"},
	{"mkfs.ext4 $DEV", RuleDestruction, "mkfs"},
	{"zpool create tank sda", RuleDestruction, "zpool"},
	{"zpool import", "", ""},
	{"apt-get install -y jq", RuleNetwork, "apt-get"},
	{"dnf clean metadata", RuleLocalFile, "installed software"},
	{"pkcon remove package", RuleLocalFile, "installed software"},
	{"pacman -Rs pkg", RuleLocalFile, "installed software"},
	{"paru -Sua", RuleLocalFile, "installed software"},
	{"pacman -Ss editor", "", ""},
	{"apt-cache show jq", "", ""},
	{"dpkg -l", "", ""},
	{"rpm -qa", "", ""},
	{"rpm -ivh x.rpm", RuleLocalFile, "installed software"},
	{"hostname", "", ""},
	{"hostname -f", "", ""},
	{"hostname web1", RuleRoot, "renames"},
	{"gksu -u root -k id", RuleRoot, "gksu"},
	// files named inside sed and awk programs
	{"sed 'r /etc/shadow' notes.txt", RuleLocalFile, "/etc/shadow"},
	{"sed -n '/x/w /etc/cron.d/x' notes.txt", RuleLocalFile, "/etc/cron.d/x"},
	{"sed 's/a/b/w /etc/x' notes.txt", RuleLocalFile, "/etc/x"},
	{"sed 's/a/b/w out.txt' notes.txt", "", ""},
	{`awk '{print > "/etc/passwd"}' f`, RuleLocalFile, "/etc/passwd"},
	{`awk 'BEGIN{while ((getline l < "/etc/shadow") > 0) print l}'`, RuleLocalFile, "/etc/shadow"},
	{`awk '{print > "out.txt"}' f`, "", ""},
	{`awk '$3 > 100' f`, "", ""},
	// escaped quotes in nested text
	{`sh -c "cat \"/etc/shadow\""`, RuleLocalFile, "/etc/shadow"},
	{`sh -c "rm -rf \"/\""`, RuleDestruction, ""},
	{`eval "cat \"/etc/shadow\""`, RuleLocalFile, "/etc/shadow"},
	{"find . -exec sh -c 'cat {}/../../etc/shadow' \\;", RuleLocalFile, "shadow"},
	{"find . -exec sh -c 'sudo {}' \\;", RuleRoot, "sudo"},
}

func TestJudged(t *testing.T) {
	for _, tc := range judged {
		err := Validate(tc.cmd, "strict")
		if tc.rule == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.cmd, err)
			}
			continue
		}
		var r *Refusal
		if !errors.As(err, &r) || r.Rule != tc.rule || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("%s: %v; want a refusal by %s saying %q", tc.cmd, err, tc.rule, tc.reason)
		}
		if r != nil && strings.ContainsRune(r.Reason, 0) {
			t.Errorf("%s: the reason holds a NUL byte: %q", tc.cmd, r.Reason)
		}
	}
}
