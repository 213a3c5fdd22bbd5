package seccompfilter

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite testdata/<arch>.bpf from Program")

// raw is the program as the kernel reads it.
func raw(f []unix.SockFilter) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*int(unsafe.Sizeof(f[0])))
}

// TestProgramIsTheFilterBefore holds the assembled program to the one the
// inits assembled themselves before the runner took the assembly over
// (testdata/amd64.bpf was written by that code): moving where the filter
// is built changed not one instruction. A deliberate change of the
// filter rewrites the file with -update.
func TestProgramIsTheFilterBefore(t *testing.T) {
	f, err := Program()
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", runtime.GOARCH+".bpf")
	if *update {
		if err := os.WriteFile(golden, raw(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("no recorded filter for %s: %v (go test -run ProgramIsTheFilterBefore -update ./sandbox/internal/seccompfilter records it)", runtime.GOARCH, err)
	}
	if got := raw(f); !bytes.Equal(got, want) {
		t.Fatalf("filter differs from %s: %d instructions, want %d", golden, len(got)/8, len(want)/8)
	}
}

// TestProgramIsStable: every assembly gives the same program, so the one
// assembled once is the one each init would have assembled.
func TestProgramIsStable(t *testing.T) {
	a, err := Program()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, err := Program()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw(a), raw(b)) {
			t.Fatal("two assemblies of the filter differ")
		}
	}
}
