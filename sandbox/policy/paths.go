package policy

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// sensitiveRoots are the host secrets and system state no command may
// name, as glob patterns over absolute paths: the path itself or
// anything beneath it.
var sensitiveRoots = []string{
	"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
	"/etc/sudoers", "/etc/sudoers.d", "/etc/ssh", "/etc/security/opasswd",
	"/etc/master.passwd", "/etc/krb5.keytab", "/etc/ssl/private",
	"/root", "/boot", "/sys", "/var/run/secrets", "/run/secrets",
	"/var/lib/amf", "/var/lib/docker", "/var/lib/kubelet", "/run/docker.sock",
	"/var/run/docker.sock", "/run/containerd",
	"/home/*/.ssh", "/home/*/.gnupg", "/home/*/.aws", "/home/*/.netrc",
	"/home/*/.kube", "/home/*/.docker", "/home/*/.pgpass",
	"/home/*/.git-credentials", "/home/*/.bash_history", "/home/*/.config/gcloud",
	"/home/*/.azure", "/home/*/.vault-token", "/home/*/.npmrc", "/home/*/.pypirc",
	"/proc/*/environ", "/proc/*/mem", "/proc/*/root", "/proc/*/cwd",
	"/proc/*/fd", "/proc/*/map_files", "/proc/*/task", "/proc/*/maps",
	"/proc/*/pagemap", "/proc/*/syscall", "/proc/*/auxv", "/proc/*/stack",
	"/proc/kcore", "/proc/kmem", "/proc/mem", "/proc/sysrq-trigger",
	"/proc/sys", "/proc/kallsyms", "/proc/kmsg", "/proc/keys",
}

// sensitiveSamples are concrete paths a glob is tried against: /e*/sh*
// names no root above literally, but does match /etc/shadow.
var sensitiveSamples = []string{
	"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d/README",
	"/etc/ssh/ssh_host_rsa_key", "/root/.ssh/id_rsa", "/root/.bashrc",
	"/home/user/.ssh/id_rsa", "/home/user/.aws/credentials",
	"/proc/1/environ", "/proc/self/environ", "/proc/1/mem", "/proc/1/root",
	"/proc/kcore", "/proc/sysrq-trigger", "/sys/kernel/notes", "/boot/vmlinuz",
	"/dev/sda", "/dev/mem", "/dev/vda", "/dev/nvme0n1", "/dev/kmsg",
}

// safeDevices are the /dev entries the sandbox provides.
var safeDevices = set("null", "zero", "full", "random", "urandom", "tty",
	"stdin", "stdout", "stderr", "fd", "shm", "pts", "ptmx")

// pathArgs checks the operands of a command that are paths, as the
// operand table says. A command the table does not know is read
// conservatively: every argument may be a path it reads.
func (c *checker) pathArgs(base string, args []word) *Refusal {
	if !c.p.Has(RuleLocalFile) {
		return nil
	}
	spec := specFor(base)
	if spec == nil {
		for _, a := range args {
			if r := c.checkPath(base, a.text, false); r != nil {
				r.Reason += fmt.Sprintf(" (%s is not in the operand table, so each of its arguments is judged as a path it may read)", base)
				return r
			}
		}
		return nil
	}
	if r := c.linkTargets(base, spec, args); r != nil {
		return r
	}
	if base == "ln" {
		defer c.recordLinks(spec, args)
	}
	for _, op := range spec.operands(args) {
		switch op.kind {
		case Script:
			if !op.w.static {
				continue
			}
			for _, f := range scriptFiles(spec.Lang, op.w.text) {
				if r := c.checkOperand(base, f.path, f.write); r != nil {
					return r
				}
			}
		case Read, Write, Delete:
			if (spec == rsyncSpec || spec == scpSpec) && remoteSpec(op.w.text) {
				continue // another machine's path
			}
			if r := c.checkOperand(base, op.w.text, op.kind != Read); r != nil {
				return r
			}
			if op.kind == Write && !copiers[base] && !metadataOnly[base] {
				c.rewritten(op.w.text)
			}
		}
	}
	return nil
}

// checkOperand judges one operand the table says is a path.
func (c *checker) checkOperand(by, t string, write bool) *Refusal {
	if t == "" || t == "-" || strings.Contains(t, "://") {
		return nil
	}
	t = c.throughLinks(throughProcLink(t))
	if !strings.HasPrefix(t, "/") {
		return c.checkRelative(by, t, write)
	}
	return c.checkAbsolute(by, t, path.Clean(t), write)
}

// recordLinks notes the links ln -s makes, as their names are written:
// ln -s TARGET… NAME (or DIR, whose TARGET's base names are the links).
func (c *checker) recordLinks(spec *Spec, args []word) {
	if !symbolicLink("ln", args) {
		return
	}
	var targets []string
	name := ""
	for _, op := range spec.operands(args) {
		switch op.kind {
		case Read:
			targets = append(targets, op.w.text)
		case Write:
			name = op.w.text
		}
	}
	if name == "" && len(targets) == 1 {
		name = path.Base(targets[0]) // ln -s /etc/passwd: ./passwd
	}
	if c.links == nil {
		c.links = map[string]string{}
	}
	for _, tg := range targets {
		n := name
		if len(targets) > 1 {
			n = path.Join(name, path.Base(tg))
		}
		c.links[path.Clean(n)] = tg
	}
}

// throughLinks rewrites a path that starts with a link the command made
// as the path it leads to.
func (c *checker) throughLinks(t string) string {
	if len(c.links) == 0 || t == "" {
		return t
	}
	clean := path.Clean(t)
	for name, target := range c.links {
		if clean == name {
			return target
		}
		if rest, ok := strings.CutPrefix(clean, name+"/"); ok {
			return path.Join(target, rest)
		}
	}
	return t
}

// throughProcLink rewrites a path through /proc/self/cwd or root, links
// the kernel follows wherever they point and path.Clean cannot (it
// would turn /proc/self/cwd/../etc/shadow into /proc/self/etc/shadow),
// as the path it names: from the command's own directory, or from /.
func throughProcLink(t string) string {
	t = kernelLinks(t)
	if !strings.HasPrefix(t, "/proc/") {
		return t
	}
	parts := strings.SplitN(t, "/", 5) // "", proc, pid, link, rest
	if len(parts) < 4 || (parts[2] != "self" && parts[2] != "thread-self") {
		return t // another process's: judged as a sensitive path
	}
	rest := ""
	if len(parts) == 5 {
		rest = parts[4]
	}
	switch parts[3] {
	case "cwd":
		if rest == "" {
			return "."
		}
		return rest
	case "root":
		return "/" + rest
	}
	return t
}

// kernelDirLinks are links of the kernel's own file systems that a path
// may climb out of with "..": the kernel follows the link first, so
// /proc/net/../environ is /proc/self/environ, not /proc/environ as
// path.Clean reads it.
var kernelDirLinks = [][2]string{
	{"/proc/net", "/proc/self/net"},
	{"/proc/mounts", "/proc/self/mounts"},
	{"/proc/thread-self", "/proc/self/task/0"},
	{"/dev/fd", "/proc/self/fd"},
	{"/dev/stdin", "/proc/self/fd/0"},
	{"/dev/stdout", "/proc/self/fd/1"},
	{"/dev/stderr", "/proc/self/fd/2"},
}

// kernelLinks rewrites a path that climbs with ".." out of one of
// kernelDirLinks as the path the kernel resolves.
func kernelLinks(t string) string {
	if !strings.HasPrefix(t, "/") {
		return t
	}
	if d, ok := throughDescriptor(t); ok {
		return d
	}
	if !strings.Contains(t, "..") {
		return t
	}
	// Each leading part up to a slash, cleaned (/proc/./net, //proc/net),
	// is tried as a link's name.
	for i := 1; i <= len(t); i++ {
		if i < len(t) && t[i] != '/' {
			continue
		}
		head := path.Clean(t[:i])
		for _, l := range kernelDirLinks {
			if head == l[0] {
				return l[1] + t[i:]
			}
		}
	}
	return t
}

// throughDescriptor rewrites a path that goes on past a descriptor
// (/dev/fd/3/shadow, /dev/stdin/x): a descriptor opened on a directory
// (exec 3</etc) is that directory, so the path names what lies in it. It
// becomes the /proc/self/fd path the kernel resolves, which is judged as
// naming another process's or its own descriptors.
func throughDescriptor(t string) (string, bool) {
	clean := path.Clean(t)
	for std, fd := range map[string]string{"/dev/stdin": "0", "/dev/stdout": "1", "/dev/stderr": "2"} {
		if rest, ok := strings.CutPrefix(clean, std+"/"); ok {
			return "/proc/self/fd/" + fd + "/" + rest, true
		}
	}
	if rest, ok := strings.CutPrefix(clean, "/dev/fd/"); ok && strings.Contains(rest, "/") {
		return "/proc/self/fd/" + rest, true
	}
	return "", false
}

// checkPath judges one word as a path that is read or, when write is
// set, created or changed.
func (c *checker) checkPath(by, t string, write bool) *Refusal {
	if t == "" || strings.Contains(t, "://") {
		return nil
	}
	if strings.HasPrefix(t, "-") || (!strings.HasPrefix(t, "/") && strings.Contains(t, "=")) {
		// --file=/etc/shadow, if=/dev/sda, KEY=/root/x: judge the value.
		_, v, ok := strings.Cut(t, "=")
		if !ok {
			return nil
		}
		t, write = v, false
		if t == "" || strings.Contains(t, "://") {
			return nil
		}
	}
	t = c.throughLinks(throughProcLink(t))
	if !strings.HasPrefix(t, "/") {
		return c.checkRelative(by, t, write)
	}
	return c.checkAbsolute(by, t, path.Clean(t), write)
}

// checkRelative judges a relative path from every directory the shell
// may be in: from the work dir it must not climb out; from elsewhere
// (after cd /etc) it is judged as the absolute path it names.
func (c *checker) checkRelative(by, t string, write bool) *Refusal {
	for _, d := range c.cwds {
		var climbs bool
		switch {
		case d == cwdUnknown:
			clean := path.Clean(t)
			climbs = clean == ".." || strings.HasPrefix(clean, "../")
		case underAny(d, []string{c.work}):
			climbs = !underAny(path.Join(d, t), []string{c.work})
			// A workspace is mounted where it is on the host, so a
			// relative path in it can name a masked path (.ssh/id_rsa
			// in a home) or one that holds masks (.docker).
			if r := c.checkMasks(by, t, path.Join(d, t), write); r != nil {
				return r
			}
		default:
			if r := c.checkAbsolute(by, t, path.Clean(kernelLinks(d+"/"+t)), write); r != nil {
				return r
			}
			continue
		}
		if climbs && c.scope.HostView && (d != cwdUnknown || !write) {
			// The host is visible: judge the path where it lands.
			if d == cwdUnknown {
				continue
			}
			if r := c.checkAbsolute(by, t, path.Join(d, t), write); r != nil {
				return r
			}
			continue
		}
		if climbs {
			return refuse(RuleLocalFile, "%s climbs out of the work dir with ../; stay inside the work dir", t)
		}
	}
	return nil
}

// checkAbsolute judges a cleaned absolute path; t is how the command
// wrote it.
func (c *checker) checkAbsolute(by, t, clean string, write bool) *Refusal {
	if strings.HasPrefix(clean, "/dev/tcp/") || strings.HasPrefix(clean, "/dev/udp/") {
		if !c.p.Network && c.p.Has(RuleNetwork) {
			return refuse(RuleNetwork, "profile %s has no network, so %s cannot connect", c.p.Name, clean)
		}
		return nil
	}
	if r := c.checkMasks(by, t, c.inWork(clean), write); r != nil {
		return r
	}
	if sensitivePath(clean) && !(c.scope.HostView && !write && hostReadable(clean)) {
		return refuse(RuleLocalFile, "%s names host secrets or system state (%s); work with files in the work dir", by, showPath(t))
	}
	if write && !underAny(c.inWork(clean), c.writable) {
		return refuse(RuleLocalFile, "%s would write %s, outside the work dir; write under the work dir or /tmp", by, showPath(t))
	}
	return nil
}

// checkMasks refuses a path that is masked or, for a write, one that
// holds a masked path: renaming or removing .docker in a home would move
// .docker/config.json out from under its mask, and masks are applied by
// path when a command starts. The work dir and the writable roots
// themselves stay writable: what holds a mask there is refused when the
// workspace is declared.
func (c *checker) checkMasks(by, t, p string, write bool) *Refusal {
	if m, ok := c.scope.mask(p); ok {
		return refuse(RuleLocalFile, "%s names %s, which is masked (hidden from commands on this worker: %s); work with other files", by, showPath(t), m)
	}
	if write && p != c.work && !slices.Contains(c.writable, p) {
		if m, ok := c.scope.holdsMask(p); ok {
			return refuse(RuleLocalFile, "%s would change %s, which holds the masked %s; work with other files", by, showPath(t), m)
		}
	}
	return nil
}

func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// sensitivePath reports whether a cleaned absolute path, which may hold
// glob characters, names or may expand to a sensitive path.
func sensitivePath(p string) bool {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if parts[0] == "dev" && len(parts) > 1 {
		ok := safeDevices[parts[1]]
		if ok || !strings.ContainsAny(parts[1], "*?[") {
			return !ok
		}
	}
	if underSensitiveRoot(parts) {
		return true
	}
	// A glob is refused when it can expand to one of the secrets
	// themselves (/e*/sh?dow), not when it merely lists a directory that
	// holds some (du -sh /*).
	if strings.ContainsAny(p, "*?[") {
		for _, s := range sensitiveSamples {
			if m, _ := path.Match(p, s); m {
				return true
			}
		}
	}
	return false
}

// maxRootDepth bounds the prefixes compared with sensitiveRoots: no root
// is deeper, so a path of thousands of components costs no more.
const maxRootDepth = 6

func underSensitiveRoot(parts []string) bool {
	for k := 1; k <= len(parts) && k <= maxRootDepth; k++ {
		prefix := "/" + strings.Join(parts[:k], "/")
		for _, root := range sensitiveRoots {
			if m, _ := path.Match(root, prefix); m {
				return true
			}
		}
	}
	return false
}

// hostReadable reports a sensitive path that is system state, not a
// secret, and so readable under the host view: /sys, /boot.
func hostReadable(p string) bool {
	parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 2)
	return hostVisible["/"+parts[0]] && !strings.ContainsAny(parts[0], "*?[")
}

// rawDevice reports a device path other than the harmless ones.
func rawDevice(p string) bool {
	p = path.Clean(p)
	if !strings.HasPrefix(p, "/dev/") {
		return false
	}
	first := strings.SplitN(strings.TrimPrefix(p, "/dev/"), "/", 2)[0]
	return !safeDevices[first]
}
