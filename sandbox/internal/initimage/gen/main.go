// Command gen builds the sandbox's program (../../initprog) for each
// architecture the sandbox embeds it for, and writes each compressed
// beside package initimage; with -check it writes nothing and fails when
// an embedded image is not what this source builds.
//
//	go generate ./sandbox/internal/initimage     # rebuild the images
//	go run ./sandbox/internal/initimage/gen -check
//
// Every input of the build is fixed here (no cgo, trimmed paths, no
// build id or VCS stamp, the architectures' base levels, the user's
// GOFLAGS ignored), so the same source and toolchain build the same
// bytes on any machine.
package main

import (
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

const prog = "github.com/amf-os/amf/sandbox/internal/initprog"

var arches = []string{"amd64", "arm64"}

func main() {
	check := flag.Bool("check", false, "compare the embedded images with a fresh build; write nothing")
	dir := flag.String("dir", ".", "the directory of package initimage")
	flag.Parse()
	stale := false
	for _, arch := range arches {
		built, err := build(arch)
		if err != nil {
			fail(err)
		}
		file := filepath.Join(*dir, "linux_"+arch+".gz")
		if !*check {
			if err := write(file, built); err != nil {
				fail(err)
			}
			continue
		}
		embedded, err := read(file)
		if err != nil {
			fail(err)
		}
		if !bytes.Equal(embedded, built) {
			stale = true
			fmt.Fprintf(os.Stderr, "%s (built by %s) is not what this source builds with %s: run `go generate ./sandbox/internal/initimage` and commit it\n",
				file, toolchain(embedded), runtime.Version())
		}
	}
	if stale {
		os.Exit(1)
	}
}

// build builds the program for linux/arch and returns its bytes.
func build(arch string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "initimage")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "init")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", out, prog)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch,
		"GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=", "GOEXPERIMENT=", "GOTOOLCHAIN=local")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build for %s: %w", arch, err)
	}
	return os.ReadFile(out)
}

// write stores b compressed; the gzip header has no name or time, so
// the file depends on b alone.
func write(file string, b []byte) error {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}

// read returns the program stored in file.
func read(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return io.ReadAll(zr)
}

// toolchain names the Go release that built the program b.
func toolchain(b []byte) string {
	info, err := buildinfo.Read(bytes.NewReader(b))
	if err != nil {
		return "an unknown toolchain"
	}
	return info.GoVersion
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
