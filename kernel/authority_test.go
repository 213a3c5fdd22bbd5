package kernel_test

import (
	"sync"
	"testing"

	"github.com/amf-os/amf/kernel"
)

// Several processes opening a new directory at once agree on one set of
// keys: whatever one of them issued, the others' kernel accepts.
func TestAuthorityCreatedOnceUnderRace(t *testing.T) {
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
