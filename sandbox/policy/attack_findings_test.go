package policy

import (
	"errors"
	"testing"
)

// Commands the checker accepts though they read a masked path or write
// outside the writable set. The sandbox stops each of them (masks are
// mounts, the host root is read-only), except the rename of a masked
// path's parent, which unmasks it for the next command in a writable
// workspace (see sandbox.TestAttackMaskDodgedByRenamingParent).
func TestAttackCheckerMisses(t *testing.T) {
	pol := DefaultPolicy()
	masks := ExpandMasks(DefaultMasks)
	host := Scope{HostView: true, WorkDir: "/srv/proj", Writable: []string{"/srv/proj", "/tmp"}, Masked: masks}
	home := Scope{HostView: true, WorkDir: "/home/ann", Writable: []string{"/home/ann", "/tmp"}, Masked: masks}
	for _, tc := range []struct {
		scope Scope
		cmd   string
	}{
		// a masked path's parent renamed: the mask no longer matches
		{home, "mv .docker .d"},
		{home, "mv .config .c"},
		{home, "mv /home/ann/.local /home/ann/l"},
		// masked paths named relative to the work dir are not judged
		{home, "cat .ssh/id_rsa"},
		{home, "cat ./.docker/config.json"},
		{home, "cd .ssh; cat id_rsa"},
		{home, "mkdir -p .ssh && echo key > .ssh/authorized_keys"},
		{home, "echo machine x login y password z > .netrc"},
		// expansions the checker could resolve but does not
		{host, "x=/etc/shadowZ; cat ${x%Z}"},
		{host, "x=/ETC/SHADOW; cat ${x,,}"},
		{host, "a=(/etc/shadow); cat \"${a[0]}\""},
		{host, "y=x; x=/etc/shadow; cat ${!y}"},
		{host, "IFS=:; x=/etc:shadow; cat $x"},
		{host, "x=/etc/passwdZ; echo hi > ${x%Z}"},
		{host, "x=/usr/binZ; cp -t ${x%Z} f"},
		{host, "cat /proc/self/cwd/../etc/shadow"},
		// a symlink made, then written through
		{host, "ln -s /etc/passwd l; echo hi > l"},
		{host, "ln -sf /etc l; cp f l/"},
		// write operands the operand table does not know
		{host, "tar xf x.tar -C/etc"},
		{host, "tar --create --file /etc/x.tar f"},
		{host, "shuf -o /etc/passwd f"},
		{host, "sponge /etc/x < f"},
		{host, "diff -u a b --output=/etc/x"},
		{host, "gcc -o /etc/x f.c"},
		{host, "cc f.c -o/etc/x"},
		{host, "go build -o /etc/x ."},
		{host, "strip -o /etc/x f"},
		{host, "git clone d /etc/d"},
		{host, "git apply --directory=/etc p"},
		{host, "script /etc/x"},
		{host, "history -w /etc/x"},
		{host, "awk -v f=/etc/y 'BEGIN{print 1 > f}'"},
		{host, "sqlite3 db \".output /etc/x\" \"select 1\""},
		{host, "cmake -B /etc/b"},
		{host, "7z x x.7z -o/etc"},
	} {
		err := pol.Check(tc.cmd, "workspace", nil, tc.scope)
		var r *Refusal
		if !errors.As(err, &r) {
			t.Errorf("accepted: %q (%v)", tc.cmd, err)
		}
	}
}

// Credential files of common tools that DefaultMasks leaves in view: in
// a writable home workspace the command acts as the home's owner, so
// file permissions do not hide them either.
func TestAttackDefaultMasksMissCredentialFiles(t *testing.T) {
	masks := ExpandMasks(DefaultMasks)
	for _, p := range []string{
		"/home/ann/.config/gh/hosts.yml",
		"/home/ann/.vault-token",
		"/home/ann/.cargo/credentials.toml",
		"/home/ann/.terraform.d/credentials.tfrc.json",
		"/home/ann/.m2/settings.xml",
		"/home/ann/.s3cfg",
		"/home/ann/.boto",
		"/home/ann/.config/rclone/rclone.conf",
		"/home/ann/.gem/credentials",
		"/home/ann/.password-store",
		"/home/ann/.local/share/keyrings",
		"/home/ann/.config/op/config",
		"/var/lib/postgresql/.pgpass",
		"/srv/git/.ssh/id_ed25519",
	} {
		if !Masked(p, masks) {
			t.Errorf("%s is not masked", p)
		}
	}
}
