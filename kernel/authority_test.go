package kernel_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/amf-os/amf/kernel"
)

// Several processes opening a new directory at once agree on one set of
// keys: whatever one of them issued, the others' kernel accepts.
func TestAuthorityCreatedOnceUnderRace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const n = 8
	keys := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := kernel.OpenAuthority(dir)
			if err == nil {
				keys[i] = a.AccountKey()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		if keys[i] != keys[0] {
			t.Fatalf("account keys differ: %s vs %s", keys[i], keys[0])
		}
	}
}

// A read-only copy of complete keys (a mounted Secret) opens.
func TestAuthorityReadOnlyCopy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, err := kernel.OpenAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, ".lock")); err != nil {
		t.Fatal(err)
	}
	ro := dir
	if os.Geteuid() == 0 {
		// Root writes through file modes: a read-only bind mount is what
		// a mounted Secret is.
		ro = t.TempDir()
		if err := unix.Mount(dir, ro, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Unmount(ro, unix.MNT_DETACH) })
		if err := unix.Mount("", ro, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o600); err == nil {
		t.Fatal("the copy is writable")
	}
	b, err := kernel.OpenAuthority(ro)
	if err != nil {
		t.Fatal(err)
	}
	if b.AccountKey() != a.AccountKey() {
		t.Fatal("another account")
	}
}
