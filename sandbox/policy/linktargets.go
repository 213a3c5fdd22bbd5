package policy

import (
	"path"
	"strings"
)

// A symbolic link to a directory gives a new name to everything under
// it, and the checker follows such a name only where it records the
// link (ln -s TARGET NAME, as written): not for `ln -s -t . /proc`, a
// name computed at run time, a link made in another directory, or the
// links `cp -rs` makes. So a link whose target holds a host secret or
// system state is refused however it is named: ln -s /proc d, then
// d/self/environ, reads what /proc/self/environ is.

// linkTargets refuses a symbolic link (ln -s, cp -s) to a directory
// that holds a sensitive path.
func (c *checker) linkTargets(base string, spec *Spec, args []word) *Refusal {
	if !symbolicLink(base, args) {
		return nil
	}
	for _, op := range spec.operands(args) {
		if op.kind != Read || !op.w.static {
			continue
		}
		t := op.w.text
		dirs := []string{t}
		if !strings.HasPrefix(t, "/") {
			dirs = dirs[:0]
			for _, d := range c.cwds {
				if d != cwdUnknown {
					dirs = append(dirs, d+"/"+t)
				}
			}
		}
		for _, d := range dirs {
			clean := path.Clean(throughProcLink(d))
			if descriptorPath(clean) {
				return refuse(RuleLocalFile, "%s would make a link to the descriptor %s, which is whatever the command opened on it (a directory such as /etc included); link the files you need instead", base, showPath(t))
			}
			if holder, ok := holdsSensitive(clean); ok {
				return refuse(RuleLocalFile, "%s would make a link to %s, which holds %s: every path through the link names it; link the files you need instead", base, showPath(t), holder)
			}
		}
	}
	return nil
}

// symbolicLink reports ln -s or cp -s (--symbolic, --symbolic-link).
func symbolicLink(base string, args []word) bool {
	long := map[string]string{"ln": "--symbolic", "cp": "--symbolic-link"}[base]
	if long == "" {
		return false
	}
	for _, a := range args {
		t := a.text
		if t == "--" {
			return false
		}
		if t == long || strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "--") && strings.Contains(t, "s") {
			return true
		}
	}
	return false
}

// holdsSensitive names a sensitive path (a root or a sample) that dir
// is, or holds: one whose leading components dir matches.
func holdsSensitive(dir string) (string, bool) {
	if sensitivePath(dir) {
		return dir, true
	}
	dc := strings.Split(strings.Trim(dir, "/"), "/")
	if dir == "/" {
		dc = nil
	}
	for _, p := range append(sensitiveRoots, sensitiveSamples...) {
		pc := strings.Split(strings.Trim(p, "/"), "/")
		if len(pc) <= len(dc) {
			continue
		}
		holds := true
		for i, d := range dc {
			if i == 1 && pc[0] == "proc" && pc[1] == "*" && !procPid(d) {
				holds = false // /proc/meminfo is a file, not a process
				break
			}
			if ok, _ := path.Match(pc[i], d); !ok {
				holds = false
				break
			}
		}
		if holds {
			return p, true
		}
	}
	return "", false
}

// procPid reports a /proc entry that is a process's directory.
func procPid(name string) bool {
	if name == "self" || name == "thread-self" {
		return true
	}
	for _, r := range name {
		if r < '0' || r > '9' {
			return false
		}
	}
	return name != ""
}
