//go:build linux

package child

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDirectProgramIsWhatBashRuns asks bash which file it executes for a
// name (the `_` it hands the program: here env, which prints it) under
// PATHs with a file that is not executable, a directory of the name,
// trailing and doubled slashes, and compares DirectProgram's answer.
func TestDirectProgramIsWhatBashRuns(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	envBin, err := exec.LookPath("env")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	noexec, dir, good := filepath.Join(root, "noexec"), filepath.Join(root, "dir"), filepath.Join(root, "good")
	for _, d := range []string{noexec, good, filepath.Join(dir, "prog")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(noexec, "prog"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(envBin, filepath.Join(good, "prog")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		noexec + ":" + dir + ":" + good, good + "/", good + "///", "/" + good,
		dir + ":" + good + "//", noexec, root + ":" + noexec,
	} {
		cmd := exec.Command(bash, "-c", "prog")
		cmd.Env = []string{"PATH=" + path}
		cmd.Dir = root
		out, _ := cmd.Output()
		var want string
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "_="); ok {
				want = v
			}
		}
		got, ok := DirectProgram("prog", path)
		if got != want || ok != (want != "") {
			t.Errorf("PATH=%s: bash runs %q, DirectProgram gives %q, %v", path, want, got, ok)
		}
	}
	// Relative directories depend on where the search is made: bash's.
	for _, path := range []string{":" + good, "." + ":" + good, "good"} {
		if got, ok := DirectProgram("prog", path); ok {
			t.Errorf("PATH=%s: DirectProgram gives %q, want bash to search", path, got)
		}
	}
}
