// Package osrelease reads os-release(5), the file every systemd-era
// distribution uses to say what it is. It is the one parser of that file
// in AMF-OS: the sandbox names the distribution in prompts (PRETTY_NAME)
// and memory records where a command worked (ID).
package osrelease

import (
	"bufio"
	"io"
	"os"
	"strings"
)

// Paths are where os-release(5) may live, in the order it is looked up.
var Paths = []string{"/etc/os-release", "/usr/lib/os-release"}

// Parse reads KEY=value lines; comments, blank lines and lines without
// '=' are skipped, and one level of single or double quotes is removed
// from values.
func Parse(r io.Reader) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out
}

// Load reads this host's os-release; it is empty when no file exists.
func Load() map[string]string {
	for _, p := range Paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		defer f.Close()
		return Parse(f)
	}
	return map[string]string{}
}
