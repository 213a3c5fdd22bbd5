//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFidelityAgainstBash runs everyday commands of the tldr-pages
// corpus (testdata/tldr) over a prepared file tree twice: with plain
// bash as the tree's owner, and in the sandbox under the workspace
// profile with the tree as a rw workspace. Every example whose output or
// exit code differs must be listed, with its reason, in
// testdata/tldr/expected-differences.txt; a new difference fails the
// test. The reasons are the ones the profile means (docs/VIEW.md).
//
//	go test -run TestFidelityAgainstBash -v ./sandbox
func TestFidelityAgainstBash(t *testing.T) {
	examples := readExamples(t)
	expected := readExpected(t)
	// The tree's owner must be able to reach it, which t.TempDir's
	// private parent does not allow.
	base, err := os.MkdirTemp("", "amf-fidelity-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	tree := filepath.Join(base, "tree")
	r := newViewRunner(t, Workspace{Name: "tree", Path: tree, Mode: WorkspaceRW})

	var ran, same, refused int
	var diffs []string
	seen := map[string]bool{}
	for _, ex := range examples {
		cmd, ok := fillPlaceholders(ex.command)
		if !ok || seen[cmd] {
			continue
		}
		seen[cmd] = true
		var want, got string
		var wantCode, gotCode int
		var refusedHere bool
		// A difference is confirmed by a second pair of runs: a command
		// slowed past the timeout by a loaded machine is no difference.
		for try := 0; try < 2; try++ {
			prepareTree(t, tree)
			want, wantCode = plainBash(t, tree, cmd)
			prepareTree(t, tree)
			var c collector
			res, err := r.Run(context.Background(), Spec{Command: cmd, Profile: "workspace", Workspace: "tree", Timeout: fidelityTimeout}, c.out)
			var ref *Refusal
			if errors.As(err, &ref) {
				refusedHere = true
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			got, gotCode = sandboxText(c.lines), res.ExitCode
			if got == want && gotCode == wantCode {
				break
			}
		}
		if refusedHere {
			refused++
			continue
		}
		ran++
		if got == want && gotCode == wantCode {
			same++
			continue
		}
		reason, ok := expected[cmd]
		if !ok {
			reason, ok = expected["page:"+ex.page]
		}
		if ok {
			t.Logf("expected difference (%s): %s", reason, cmd)
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s\n  bash (exit %d): %q\n  sandbox (exit %d): %q", cmd, wantCode, clip(want), gotCode, clip(got)))
	}
	t.Logf("%d examples ran in both, %d identical, %d listed differences, %d refused by the policy", ran, same, ran-same-len(diffs), refused)
	if ran < 100 {
		t.Fatalf("only %d examples ran; the corpus or the placeholder filling broke", ran)
	}
	for _, d := range diffs {
		t.Errorf("a difference from plain bash not listed in expected-differences.txt:\n%s", d)
	}
}

// fidelityTimeout ends commands that follow (tail -f, free -s) in both
// runs alike.
const fidelityTimeout = 4 * time.Second

type example struct{ page, command string }

func readExamples(t *testing.T) []example {
	t.Helper()
	f, err := os.Open("testdata/tldr/examples.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) == 4 {
			out = append(out, example{page: cols[1], command: cols[3]})
		}
	}
	return out
}

// readExpected reads "reason<TAB>command" lines; "page:NAME" stands for
// every example of a page.
func readExpected(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("testdata/tldr/expected-differences.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		reason, cmd, ok := strings.Cut(line, "\t")
		if ok {
			out[cmd] = reason
		}
	}
	return out
}

var placeholder = regexp.MustCompile(`\{\{([^}]*)\}\}`)

// fillPlaceholders puts paths of the prepared tree and plain values in
// an example's {{…}}; an example with a placeholder it cannot fill
// (a host, a program, a command) is left out.
func fillPlaceholders(cmd string) (string, bool) {
	ok := true
	out := placeholder.ReplaceAllStringFunc(cmd, func(m string) string {
		p := strings.ToLower(m[2 : len(m)-2])
		switch {
		case strings.HasPrefix(p, "[-"):
			return strings.SplitN(m[3:len(m)-2], "|", 2)[0] // the short option, as written
		case strings.Contains(p, "compressed") || strings.HasSuffix(p, ".gz"):
			return "logs.gz"
		case strings.Contains(p, "tar"):
			return "docs.tar"
		case strings.Contains(p, "file1 ") || strings.Contains(p, "..."):
			return "a.txt b.txt"
		case strings.Contains(p, "directory"):
			return "docs"
		case strings.Contains(p, "file2") || strings.Contains(p, "old_file"):
			return "b.txt"
		case strings.Contains(p, "new") || strings.Contains(p, "output") || strings.Contains(p, "target") || strings.Contains(p, "symlink"):
			return "out.txt"
		case strings.Contains(p, "path/to") || strings.Contains(p, "file"):
			return "a.txt"
		case p == "*.ext":
			return "*.txt"
		case p == "count" || p == "n" || p == "number" || p == "seconds" || p == "width" || p == "1" || p == "5 3 20":
			return "3"
		case strings.Contains(p, "pattern") || p == "string" || p == "search_string" || p == "word":
			return "amf"
		case strings.Contains(p, "separator") || strings.Contains(p, "delimiter"):
			return ","
		}
		ok = false
		return m
	})
	return out, ok && !strings.Contains(out, "sudo ")
}

// prepareTree (re)makes the tree both runs start from, with fixed times
// and owned by a user other than root, as a workspace would be.
func prepareTree(t *testing.T, tree string) {
	t.Helper()
	os.RemoveAll(tree)
	files := map[string]string{
		"a.txt":         "amf one\nbeta two\namf three\nalpha,4\nalpha,4\n",
		"b.txt":         "alpha,4\nbeta two\ngamma 5\n",
		"docs/readme":   "the docs\n",
		"docs/sub/n.md": "# notes\namf\n",
	}
	for name, body := range files {
		p := filepath.Join(tree, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gz := exec.Command("sh", "-c", "gzip -n -c a.txt > logs.gz && tar --mtime=2024-01-01 --owner=0 --group=0 -cf docs.tar docs")
	gz.Dir = tree
	if out, err := gz.CombinedOutput(); err != nil {
		t.Fatalf("prepare tree: %v %s", err, out)
	}
	stamp := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	filepath.Walk(tree, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			os.Lchown(p, 4321, 4321)
			os.Chtimes(p, stamp, stamp)
		}
		return nil
	})
}

// plainBash runs cmd with bash in dir as the tree's owner, with the
// sandbox's base environment: the reference.
func plainBash(t *testing.T, dir, cmd string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fidelityTimeout)
	defer cancel()
	c := exec.CommandContext(ctx, shellPath(), "-c", "--", cmd)
	c.Args[0] = shellBase(shellPath()) // as the sandbox starts it
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.Dir = dir
	c.Env = mergeEnv(sandboxEnv(nil), workspaceEnv(&Workspace{Path: dir}, true))
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4321, Gid: 4321}, Setpgid: true}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal()) // as the sandbox reports a killed command
		}
	} else if err != nil {
		t.Fatalf("bash %q: %v", cmd, err)
	}
	return joinStreams(stdout.String(), stderr.String()), code
}

func joinStreams(stdout, stderr string) string {
	var lines []string
	for _, s := range []struct{ name, text string }{{"stdout", stdout}, {"stderr", stderr}} {
		for _, l := range strings.Split(strings.TrimSuffix(s.text, "\n"), "\n") {
			if s.text != "" {
				lines = append(lines, s.name+": "+l)
			}
		}
	}
	return strings.Join(lines, "\n")
}

// sandboxText orders the collected lines as joinStreams does: stdout's,
// then stderr's.
func sandboxText(lines []string) string {
	var out, errs []string
	for _, l := range lines {
		if strings.HasPrefix(l, "stderr: ") {
			errs = append(errs, l)
		} else {
			out = append(out, l)
		}
	}
	return strings.Join(append(out, errs...), "\n")
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
