package policy

import (
	"path"
	"strings"
)

// Scope is what a command can see and change where it will run, as the
// runner sets it up. The checker judges paths against it, so that a
// refusal agrees with what the command could really do. The zero Scope
// is the minimal view: a private work dir at /work and /tmp, nothing of
// the host.
type Scope struct {
	// HostView is set when the command sees the host's root file system
	// read-only (a profile's view: host). Reading ordinary host paths,
	// climbing out of the work dir with .. included, is then not local
	// file inclusion; host secrets and Masked paths still are.
	HostView bool
	// WorkDir is the directory the command starts in and its $HOME, as
	// the command sees it: a workspace's path, mounted at the same path
	// as on the host. Empty means /work (InsideWorkDir).
	WorkDir string
	// Writable are the other directories the command may write (a rw
	// workspace, /tmp), as absolute paths. Empty means /tmp and
	// /var/tmp. Writes anywhere else are refused.
	Writable []string
	// Masked are absolute paths hidden from the command whatever the
	// rules say (the runner mounts them empty): reading one, or a path
	// under one, is refused with a reason that names the mask.
	Masked []string
}

// deviceSinks are the /dev entries every command may write.
var deviceSinks = []string{"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/fd", "/dev/tty", "/dev/shm"}

// defaultWritable are the writable directories of the zero Scope,
// beside the work dir.
var defaultWritable = []string{"/tmp", "/var/tmp"}

// workDir is the work dir of the scope, cleaned.
func (s *Scope) workDir() string {
	if s.WorkDir == "" {
		return InsideWorkDir
	}
	return path.Clean(s.WorkDir)
}

// writableRoots are where the command may create, change and remove
// files: the work dir, the scope's writable directories and the device
// sinks.
func (s *Scope) writableRoots() []string {
	roots := []string{s.workDir()}
	if len(s.Writable) == 0 {
		roots = append(roots, defaultWritable...)
	}
	for _, w := range s.Writable {
		roots = append(roots, path.Clean(w))
	}
	return append(roots, deviceSinks...)
}

// holdsMask returns the Masked entry p is a parent of, if any: an entry
// (perhaps a glob) whose leading components match p's.
func (s *Scope) holdsMask(p string) (string, bool) {
	n := strings.Count(p, "/")
	for _, m := range s.Masked {
		m = path.Clean(m)
		if strings.Count(m, "/") <= n || p == "/" {
			continue
		}
		// The first n components of m, as deep as p.
		i, seen := 0, 0
		for i = 1; i < len(m); i++ {
			if m[i] == '/' {
				seen++
				if seen == n {
					break
				}
			}
		}
		if ok, _ := path.Match(m[:i], p); ok || m[:i] == p {
			return m, true
		}
	}
	return "", false
}

// mask returns the Masked entry that hides p (a cleaned absolute path,
// perhaps a glob), if any. A Masked entry may itself be a glob (the
// runner's masks are: /home/*/.ssh): it hides p when it matches p or one
// of p's parents, as Masked does.
func (s *Scope) mask(p string) (string, bool) {
	for _, m := range s.Masked {
		m = path.Clean(m)
		if p == m || strings.HasPrefix(p, m+"/") || m == "/" {
			return m, true
		}
		if strings.ContainsAny(m, "*?[") && Masked(p, []string{m}) {
			return m, true
		}
		if strings.ContainsAny(p, "*?[") {
			if ok, _ := path.Match(p, m); ok {
				return m, true
			}
		}
	}
	return "", false
}

// hostVisible are the sensitive roots that are system state rather
// than secrets: under the host view a command may read them (the point
// of observing a machine), though never write them.
var hostVisible = set("/sys", "/boot")
