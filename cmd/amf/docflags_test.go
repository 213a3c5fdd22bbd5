package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDocumentedCommandLinesParse: every `amf …` line in a shell block of
// README.md, docs/ and deploy/README.md names a command that exists with
// flags it takes. Each runs as written with --help added at the end: the
// flags before it are parsed (an unknown one exits 2), then help exits 0,
// so nothing is started. The blocks README marks for CI also run for
// real (TestReadmeCommandsRunAsWritten); this catches the rest, such as
// a fleet's lines that need other hosts.
func TestDocumentedCommandLinesParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	files = append(files, filepath.Join("..", "..", "README.md"), filepath.Join("..", "..", "deploy", "README.md"))
	checked := 0
	for _, file := range files {
		for _, l := range amfLines(t, file) {
			checked++
			cmd := exec.Command(amfBin, append(l.args, "--help")...)
			cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "AMF_STATE_DIR="+t.TempDir())
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("%s:%d: amf %s --help still running after 30s", file, l.line, strings.Join(l.args, " "))
				continue
			}
			if err != nil {
				t.Errorf("%s:%d: amf %s: %v\n%s", file, l.line, strings.Join(l.args, " "), err, out)
			}
		}
	}
	t.Logf("%d documented amf lines parse", checked)
	if checked < 10 {
		t.Fatalf("checked %d documented amf lines; the scan is broken", checked)
	}
}

type amfLine struct {
	line int
	args []string
}

// amfLines are the amf command lines of a file's shell blocks: each
// `amf …` up to a comment or a shell operator, split as the shell would
// split plain words and quotes. A line with an expansion ($…) is skipped:
// only the shell knows its words.
func amfLines(t *testing.T, path string) []amfLine {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []amfLine
	inShell := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			inShell = !inShell && (trimmed == "```sh" || trimmed == "```bash" || trimmed == "```shell")
			continue
		case !inShell:
			continue
		}
		for _, cmd := range shellCommands(trimmed) {
			if len(cmd) > 1 && cmd[0] == "amf" {
				out = append(out, amfLine{line: n, args: cmd[1:]})
			}
		}
	}
	return out
}

// shellCommands splits a line at # comments and at &&, ||, |, ; and & into
// commands of words; nil for a line with an expansion or a continuation.
func shellCommands(line string) [][]string {
	if strings.ContainsAny(line, "$`") || strings.HasSuffix(line, "\\") || strings.Contains(line, "<(") {
		return nil
	}
	var cmds [][]string
	var words []string
	var word strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, word.String())
			word.Reset()
			inWord = false
		}
	}
	end := func() {
		flush()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				return nil // unbalanced: not a line to judge
			}
			word.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == '#' && !inWord:
			end()
			return cmds
		case c == '&' || c == '|' || c == ';' || c == '>' || c == '<':
			end()
		case c == ' ' || c == '\t':
			flush()
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	end()
	return cmds
}
