//go:build linux

package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amf-os/amf/internal/testenv"
	"github.com/amf-os/amf/sandbox/policy"
)

// Attacks from inside a sandbox with a writable workspace and the
// host's view: each tries to reach a masked secret, or to leave
// something on the host that would outlive the confinement.

// rwWorkspace declares a writable workspace owned by a non-root user
// and plants a secret under a default mask.
func rwWorkspace(t *testing.T) (r *NamespaceRunner, dir, secret string) {
	t.Helper()
	secret = "amf-attack-secret"
	plant(t, "/root/.ssh/id_amfattack", secret)
	dir = filepath.Join(t.TempDir(), "ws")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(dir, 4321, 4321)
	return newAttackRunner(t, Workspace{Name: "ws", Path: dir, Mode: WorkspaceRW}), dir, secret
}

// newAttackRunner adds to the built-in profiles "attacker": the host's
// view and processes, any workspace, and no rule but syntax, so what is
// tried reaches the confinement instead of being refused before it runs.
func newAttackRunner(t *testing.T, ws ...Workspace) *NamespaceRunner {
	t.Helper()
	testenv.NeedRoot(t)
	file := filepath.Join(t.TempDir(), "profiles.yaml")
	yaml := string(policy.BuiltinProfiles()) + `
  attacker:
    view: host
    pids: host
    workspaces: ["*"]
    rules: [syntax]
`
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{StateDir: t.TempDir(), Workspaces: ws, WarmInits: -1, ProfilesFile: file})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestAttackWorkspaceLinksToMasked(t *testing.T) {
	r, dir, secret := rwWorkspace(t)
	_, out := runIn(t, r, "attacker", "ws", `
ln -s /root/.ssh/id_amfattack s1; cat s1
ln -s ../../../../../../root/.ssh s2; cat s2/* 
ln /root/.ssh/id_amfattack h1 2>&1; cat h1
ln /etc/shadow h2 2>&1; cat h2
cat ../../../../../../../root/.ssh/id_amfattack
cd ..; cd ..; cat root/.ssh/id_amfattack 2>/dev/null; cat /proc/self/root/root/.ssh/id_amfattack
cat /proc/1/root/root/.ssh/id_amfattack
true`)
	if strings.Contains(out, secret) {
		t.Fatalf("a masked secret was read through the workspace:\n%s", out)
	}
	// What the links left on the host must not reach the secret either:
	// a host program following them reads what the host has, which is
	// the host's business, but no hard link to it may exist.
	for _, f := range []string{"h1", "h2"} {
		if fi, err := os.Lstat(filepath.Join(dir, f)); err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(filepath.Join(dir, f)); strings.Contains(string(b), secret) || strings.Contains(string(b), "root:") {
				t.Errorf("hard link %s to a masked file landed on the host", f)
			}
		}
	}
}

func TestAttackSetuidInWorkspace(t *testing.T) {
	r, dir, _ := rwWorkspace(t)
	_, out := runIn(t, r, "attacker", "ws", `
cp /bin/sh ./sh
chmod u+s ./sh 2>&1; chmod 4755 ./sh 2>&1; chmod g+s ./sh 2>&1
python3 -c 'import os; fd=os.open("py", os.O_CREAT|os.O_WRONLY, 0o4755); os.close(fd)' 2>&1
install -m 4755 /bin/sh ./inst 2>&1
ls -l
true`)
	for _, f := range []string{"sh", "py", "inst"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		if fi.Mode()&(os.ModeSetuid|os.ModeSetgid) != 0 {
			t.Errorf("%s is %v on the host: a set-id file left by a sandbox in a writable workspace\n%s", f, fi.Mode(), out)
		}
	}
	// And inside, the workspace is nosuid whatever a file's bits say.
	res, out := runIn(t, r, "attacker", "ws", "mount | grep -F ' "+dir+" ' || grep -F ' "+dir+" ' /proc/self/mountinfo")
	if res.ExitCode != 0 || !strings.Contains(out, "nosuid") || !strings.Contains(out, "nodev") {
		t.Errorf("the workspace mount is not nosuid,nodev:\n%s", out)
	}
}

func TestAttackWorkspaceEscapesByMount(t *testing.T) {
	r, _, secret := rwWorkspace(t)
	_, out := runIn(t, r, "attacker", "ws", `
umount /root 2>&1; umount -l /root 2>&1; cat /root/.ssh/id_amfattack
mount --bind / ./b 2>&1; cat ./b/root/.ssh/id_amfattack
true`)
	if strings.Contains(out, secret) {
		t.Fatalf("a mask was lifted from inside:\n%s", out)
	}
}
