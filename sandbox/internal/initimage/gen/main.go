// Command gen builds the sandbox's program (../../initprog) for each
// architecture the sandbox embeds it for, and writes each compressed
// into package initimage, beside a digest of what it was built from;
// with -check it writes nothing and fails when the images are not what
// this source builds.
//
//	go generate ./sandbox/internal/initimage     # rebuild the images
//	go run ./sandbox/internal/initimage/gen -check
//
// Every input of the build is fixed here (no cgo, trimmed paths, no
// build id or VCS stamp, the architectures' base levels, no go.work, and
// neither the environment's nor `go env -w`'s GOFLAGS, GOEXPERIMENT or
// GOFIPS140), so the same source and toolchain build the same bytes on
// any machine. What is left is the toolchain: -check compares the bytes
// when this toolchain is the images', and otherwise the digest of their
// inputs (the program's sources, go.mod's go, toolchain and godebug
// lines, the golang.org/x/sys it uses), so a change to the source is
// caught under any toolchain.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

const (
	module = "github.com/amf-os/amf"
	prog   = module + "/sandbox/internal/initprog"
)

var arches = []string{"amd64", "arm64"}

// buildArgs and buildEnv are the fixed inputs; both are in the digest.
var (
	buildArgs = []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}
	buildEnv  = []string{"CGO_ENABLED=0", "GOOS=linux", "GOAMD64=v1", "GOARM64=v8.0",
		"GOENV=off", "GOWORK=off", "GOFLAGS=-mod=readonly", "GOEXPERIMENT=", "GOFIPS140=off", "GOTOOLCHAIN=local"}
)

func main() {
	check := flag.Bool("check", false, "compare the embedded images with this source; write nothing")
	flag.Parse()
	root, err := goOut("env", "GOMOD")
	if err != nil || root == "" || root == os.DevNull {
		fail(fmt.Errorf("not in module %s: %v", module, err))
	}
	root = filepath.Dir(root)
	dir := filepath.Join(root, "sandbox", "internal", "initimage")
	sum, err := inputs(root)
	if err != nil {
		fail(err)
	}
	version, err := goOut("env", "GOVERSION")
	if err != nil {
		fail(err)
	}
	sumFile := filepath.Join(dir, "linux.inputs")
	if !*check {
		for _, arch := range arches {
			built, err := build(arch)
			if err != nil {
				fail(err)
			}
			if err := write(filepath.Join(dir, "linux_"+arch+".gz"), built); err != nil {
				fail(err)
			}
		}
		if err := os.WriteFile(sumFile, []byte(sum+"\n"), 0o644); err != nil {
			fail(err)
		}
		return
	}
	regen := "run `go generate ./sandbox/internal/initimage` and commit what it writes"
	stored, err := os.ReadFile(sumFile)
	if err != nil || strings.TrimSpace(string(stored)) != sum {
		fail(fmt.Errorf("the sandbox program's sources (or go.mod's go, toolchain and godebug lines, or its golang.org/x/sys) changed since its images were built: %s", regen))
	}
	stale := false
	for _, arch := range arches {
		file := filepath.Join(dir, "linux_"+arch+".gz")
		embedded, err := read(file)
		if err != nil {
			fail(err)
		}
		if was := toolchain(embedded); was != version {
			fmt.Fprintf(os.Stderr, "%s was built by %s, this toolchain is %s: its inputs match this source; its bytes are compared only under %s\n", file, was, version, was)
			continue
		}
		built, err := build(arch)
		if err != nil {
			fail(err)
		}
		if !bytes.Equal(embedded, built) {
			stale = true
			fmt.Fprintf(os.Stderr, "%s is not what this source builds with %s: %s\n", file, version, regen)
		}
	}
	if stale {
		os.Exit(1)
	}
}

// inputs is a digest of what the images are built from, beyond the
// toolchain: the fixed arguments and environment, every Go file of the
// program's two packages (whatever their build tags), and the lines of
// go.mod and go.sum that choose the language version, the default
// GODEBUG and golang.org/x/sys (the program's one module outside the
// standard library).
func inputs(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "args %q\nenv %q\n", buildArgs, buildEnv)
	for _, pkg := range []string{"child", "initprog"} {
		dir := filepath.Join(root, "sandbox", "internal", pkg)
		names, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return "", err
		}
		sort.Strings(names)
		for _, name := range names {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "file %s %d\n", pkg+"/"+filepath.Base(name), len(b))
			h.Write(b)
		}
	}
	for _, f := range []struct {
		name string
		keep func(string) bool
	}{
		{"go.mod", func(l string) bool {
			for _, p := range []string{"go ", "toolchain ", "godebug", "golang.org/x/sys "} {
				if strings.HasPrefix(strings.TrimSpace(l), p) {
					return true
				}
			}
			return false
		}},
		{"go.sum", func(l string) bool { return strings.HasPrefix(l, "golang.org/x/sys ") }},
	} {
		file, err := os.Open(filepath.Join(root, f.name))
		if err != nil {
			return "", err
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			if f.keep(sc.Text()) {
				fmt.Fprintf(h, "%s %s\n", f.name, strings.TrimSpace(sc.Text()))
			}
		}
		file.Close()
		if err := sc.Err(); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// build builds the program for linux/arch and returns its bytes.
func build(arch string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "initimage")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "init")
	cmd := exec.Command("go", append(buildArgs, "-o", out, prog)...)
	cmd.Env = append(append(os.Environ(), buildEnv...), "GOARCH="+arch)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build for %s: %w", arch, err)
	}
	return os.ReadFile(out)
}

// goOut runs the go command and returns its output, trimmed.
func goOut(args ...string) (string, error) {
	out, err := exec.Command("go", args...).Output()
	return strings.TrimSpace(string(out)), err
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
