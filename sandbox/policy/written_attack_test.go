package policy

import (
	"errors"
	"testing"
)

// Files a command writes and then runs, or writes through, by means
// the checker did not record: each ran su or unshare, or wrote outside
// the work dir, in bash while the checker accepted it.
func TestAttackFilesWrittenThenRun(t *testing.T) {
	for _, cmd := range []string{
		// scripts written other than by echo, printf or a here-document
		"cat > s <<< 'su -c id'; bash s",
		"echo 'su -c id' > x; cp x y; bash y",
		"printf '\\163u -c id\\n' > s; bash s",
		"printf '#!/usr/bin/python3\\nsu -c id\\n' > s; bash s",
		"printf 'su -c id\\n)\\n' > s; bash s",
		"base64 -d <<< c3UgLWMgaWQK > s; bash s",
		// programs copied by means other than cp, or under a glob
		"cp /usr/bin/unshar[e] u; ./u -r id",
		"cat /usr/bin/unshare > u; chmod +x u; ./u -r id",
		"dd if=/usr/bin/unshare of=u; chmod +x u; ./u -r id",
		"mkdir b; cp /usr/bin/unshare b/ls; PATH=$PWD/b:$PATH ls -r id",
		"PATH=b:$PATH ls",
		// editors and archives writing anywhere
		"ed -s x <<< 'w /var/canary/ed'",
		"ex -s x <<< 'w! /var/canary/ex'",
		"ed -s f <<< '!su -c id'",
		"printf 'w /etc/x\\n' | ed f",
		"tar cf a.tar --transform='s,^,/var/canary/,' x; tar xPf a.tar",
		"tar --extract --absolute-names -f a.tar",
		// a written script changed in place by a program not modelled
		"echo ls > s; sed -i 's/ls/su -c id/' s; bash s",
		"printf '%s\\n' 'tu -c id' > s; sed -i s/t/s/ s; source s",
		"echo ls > s; sed -i 's/ls/su -c id/' s; chmod +x s; ./s",
		"echo ls > s; sed -i 's/ls/su -c id/' s; bash < s",
	} {
		for _, profile := range []string{ProfileStrict, ProfileNetwork} {
			var r *Refusal
			if err := Validate(cmd, profile); !errors.As(err, &r) {
				t.Errorf("%s: %q accepted", profile, cmd)
			}
		}
	}
	for _, cmd := range []string{
		"echo 'ls -la' > s.sh; bash s.sh",
		"cat > s.sh <<'EOF'\nls\nEOF\nbash s.sh",
		"echo 'echo a' > x; cp x y; bash y",
		"cp /bin/ls myls; ./myls -la",
		"go build -o app . && ./app",
		"export PATH=$PATH:path/to/append",
		"PATH=/usr/bin:/bin ls",
		"ed -s f <<'EOF'\n,s/a/b/g\nw\nq\nEOF",
		"ed f",
		"tar xf a.tar",
		"tar -xzf a.tgz -C out",
		"printf '#!/bin/sh\\necho ok\\n' > ok.sh; chmod +x ok.sh; ./ok.sh",
		"sed -i s/a/b/ f.txt",
	} {
		if err := Validate(cmd, ProfileStrict); err != nil {
			t.Errorf("%q refused: %v", cmd, err)
		}
	}
}
