package child

import (
	"os"
	"path"
	"slices"
	"strings"
)

// This package does without path/filepath: that package's place in the
// order of import paths would make Go initialise most of the program
// before this one (see doc.go). On Linux, package path is filepath, but
// for Glob and EvalSymlinks, which follow.

// glob is path/filepath.Glob: the names of the files matching pattern,
// nil for none or a malformed pattern.
func glob(pattern string) []string {
	return globDepth(pattern, 0)
}

func globDepth(pattern string, depth int) []string {
	// As filepath.Glob, against stack exhaustion (CVE-2022-30632).
	const separatorsLimit = 10000
	if depth == separatorsLimit {
		return nil
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return nil
	}
	if lit, ok := literal(pattern); ok {
		if _, err := os.Lstat(lit); err != nil {
			return nil
		}
		return []string{lit}
	}
	dir, file := path.Split(pattern)
	switch dir {
	case "":
		dir = "."
	case "/":
	default:
		dir = dir[:len(dir)-1]
	}
	if !hasMeta(dir) {
		return globIn(dir, file, nil)
	}
	if dir == pattern {
		return nil
	}
	var matches []string
	for _, d := range globDepth(dir, depth+1) {
		matches = globIn(d, file, matches)
	}
	return matches
}

// globIn appends the names in dir matching pattern, sorted.
func globIn(dir, pattern string, matches []string) []string {
	// A part that names one file is looked up, not searched for: the
	// init may enter a directory it may not list (a 0711 home), and a
	// path the runner found on the host comes escaped (policy.EscapeGlob).
	if lit, ok := literal(pattern); ok {
		if _, err := os.Lstat(path.Join(dir, lit)); err == nil {
			matches = append(matches, path.Join(dir, lit))
		}
		return matches
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return matches
	}
	d, err := os.Open(dir)
	if err != nil {
		return matches
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	slices.Sort(names)
	for _, n := range names {
		if ok, _ := path.Match(pattern, n); ok {
			matches = append(matches, path.Join(dir, n))
		}
	}
	return matches
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// literal is the one name pattern matches when it has no wildcard, its
// escapes undone; ok is false for a pattern with a wildcard.
func literal(pattern string) (string, bool) {
	if !hasMeta(pattern) {
		return pattern, true
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*', '?', '[':
			return "", false
		case '\\':
			i++
			if i == len(pattern) {
				return "", false
			}
			b.WriteByte(pattern[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
