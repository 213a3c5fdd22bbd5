package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// etcListing prints what a command sees of /etc: every entry's mode,
// owner, size and link target, the files written for the sandbox, a
// checksum of every file, and whether it may write there. The address
// of a network sandbox's nameserver (its own /30, which varies from run
// to run) reads "GW", and the size of resolv.conf is left out.
const etcListing = `cd /etc && for f in $(ls -A | LC_ALL=C sort); do stat -c '%A %u %g %s %N' "$f"; done | sed "/ 'resolv.conf'$/s/ [0-9]* '/ '/"
cat passwd group hosts hostname; sed 's/^nameserver 10\.254\.[0-9.]*$/nameserver GW/' resolv.conf
find . -maxdepth 1 -type f ! -name resolv.conf | LC_ALL=C sort | xargs md5sum
touch /etc/probe 2>/dev/null && echo wrote /etc || echo /etc read-only`

// TestEtcTemplateIsTheEtcAnInitFills: a command's /etc bound from the
// runner's template is, entry for entry, the /etc an init fills itself,
// without network and with (where the sandbox's own nameserver replaces
// the host's).
func TestEtcTemplateIsTheEtcAnInitFills(t *testing.T) {
	r := netRunner(t, "")
	if r.etc == nil {
		t.Fatal("the runner made no /etc template")
	}
	see := func(profile string) string {
		var c collector
		res, err := r.Run(t.Context(), Spec{Command: etcListing, Profile: profile, Timeout: 20 * time.Second}, c.out)
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%s: exit %d, %v\n%s", profile, res.ExitCode, err, c.text())
		}
		return c.text()
	}
	// Warm inits were started with the template; fresh ones are not.
	drain := func() {
		for _, pool := range []chan *initProc{r.warm, r.warmNet} {
			for len(pool) > 0 {
				r.discard(<-pool)
			}
		}
	}
	withTemplate := map[string]string{"bare": see("bare"), "bare-net": see("bare-net")}
	r.cancel() // no more warm inits
	r.wg.Wait()
	drain()
	tmpl := r.etc
	r.etc = nil
	for profile, want := range withTemplate {
		if got := see(profile); got != want {
			t.Errorf("%s: /etc from the template:\n%s\nfilled by the init:\n%s", profile, want, got)
		}
	}
	r.etc = tmpl
	if !strings.Contains(withTemplate["bare-net"], "nameserver GW") {
		t.Errorf("bare-net: resolv.conf does not name the sandbox's nameserver:\n%s", withTemplate["bare-net"])
	}
	for profile, out := range withTemplate {
		if !strings.Contains(out, "/etc read-only") || !strings.Contains(out, "amf:x:1000:1000") {
			t.Errorf("%s: /etc is writable or lacks the sandbox's user:\n%s", profile, out)
		}
	}
}

// TestEtcTemplateReadsWithTheInitsRights: the runner, root on the host,
// copies into the template only what the init could read there itself
// (its host ids, no group, no capability), owns it to the ids that are
// root in the sandbox, and makes a new generation when the host's /etc
// changes, while a copy of the earlier one an init attached stays as it
// was.
func TestEtcTemplateReadsWithTheInitsRights(t *testing.T) {
	testenv.NeedRoot(t)
	src, err := os.MkdirTemp("", "etc-src-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(src) })
	if err := os.Chmod(src, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(src, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("services", "ssh 22/tcp\n", 0o644)
	write("gitconfig", "[credential]\n\thelper = secret\n", 0o600) // root's alone
	write("login.defs", "UMASK 022\n", 0o640)                      // root's group's
	if err := os.Mkdir(filepath.Join(src, "ssl"), 0o755); err != nil {
		t.Fatal(err)
	}
	const id = 1_900_000_000
	tm, err := newEtcTemplate(src, id, id)
	if err != nil {
		t.Fatal(err)
	}
	defer tm.close()
	gen0 := etcPath(tm.fd) + "/."
	if b, err := os.ReadFile(filepath.Join(gen0, "services")); err != nil || string(b) != "ssh 22/tcp\n" {
		t.Errorf("services = %q, %v; want the host's", b, err)
	}
	for _, secret := range []string{"gitconfig", "login.defs"} {
		if _, err := os.Lstat(filepath.Join(gen0, secret)); !os.IsNotExist(err) {
			t.Errorf("%s, unreadable to the init, is in the template (%v)", secret, err)
		}
	}
	if fi, err := os.Lstat(filepath.Join(gen0, "ssl")); err != nil || !fi.IsDir() {
		t.Errorf("ssl: %v; want an empty directory to bind the host's over", err)
	}
	for _, name := range []string{".", "passwd", "services", "ssl"} {
		fi, err := os.Lstat(etcPath(tm.fd) + "/" + name) // "/." is the directory, not the link
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != id || st.Gid != id {
			t.Errorf("%s is owned by %d:%d, want %d:%d (root in the sandbox)", name, st.Uid, st.Gid, id, id)
		}
	}

	attached, err := tm.mount() // as an init would get it
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(attached)
	services := func(fd int) string {
		b, _ := os.ReadFile(etcPath(fd) + "/services")
		return string(b)
	}
	write("services", "ssh 22/tcp\nhttp 80/tcp\n", 0o644)
	tm.checked = time.Time{} // as if etcRecheck had passed
	second, err := tm.mount()
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(second)
	if got := services(second); got != "ssh 22/tcp\nhttp 80/tcp\n" {
		t.Errorf("after the host's /etc changed, services = %q", got)
	}
	if got := services(attached); got != "ssh 22/tcp\n" {
		t.Errorf("the copy an init attached changed: services = %q", got)
	}
	fd := tm.fd
	tm.checked = time.Time{}
	tm.mu.Lock()
	tm.current()
	tm.mu.Unlock()
	if tm.fd != fd {
		t.Error("an unchanged /etc made a new generation")
	}
}

// TestEtcTemplateRecheckKeepsTheSpawner: reading the host's /etc with the
// init's ids borrows one of the runner's threads; it must come back with
// its ids and not end, since the spawner (started with Pdeathsig) dies
// with the thread that started it, and every command with the spawner.
func TestEtcTemplateRecheckKeepsTheSpawner(t *testing.T) {
	r := escapeRunner(t, Limits{})
	attempt(t, r, "a first command", "true")
	pid := r.spawner.pid
	for range 64 {
		r.etc.mu.Lock()
		r.etc.checked = time.Time{}
		_, err := r.etc.current()
		r.etc.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	res, out := attempt(t, r, "a command after the rechecks", "echo ok")
	if res.ExitCode != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("command after the rechecks: exit %d\n%s", res.ExitCode, out)
	}
	if r.spawner.pid != pid {
		t.Fatalf("the spawner was started again (%d, was %d): the first one died", r.spawner.pid, pid)
	}
	// Every thread can still read what only root can.
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(secret, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 64)
	for range 64 {
		go func() { _, err := os.ReadFile(secret); errs <- err }()
	}
	for range 64 {
		if err := <-errs; err != nil {
			t.Fatalf("a runner thread lost its rights: %v", err)
		}
	}
}
