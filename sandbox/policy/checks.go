package policy

import (
	"path"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// commandRules applies the rules that depend on which program runs.
func (c *checker) commandRules(full, base string, args []word) *Refusal {
	p := c.p
	if p.Has(RuleRoot) {
		if escalation[base] && !(base == "mount" && listsMounts(args)) && !onlyHelp(args) {
			return refuse(RuleRoot, "%s changes privileges or leaves the sandbox; commands run as an unprivileged user inside the work dir, so do the work without it", base)
		}
		switch base {
		case "hostname":
			if o, ok := firstOperand(args); ok && !strings.HasPrefix(o, "-") {
				return refuse(RuleRoot, "hostname %s renames the machine; print the name with hostname alone", o)
			}
		case "chmod":
			if m, ok := chmodMode(args); ok && setuidMode(m) {
				return refuse(RuleRoot, "chmod %s sets the setuid/setgid bit; leave file modes without s bits", m)
			}
		case "chown", "chgrp":
			if o, ok := firstOperand(args); ok && ownsToRoot(base, o) {
				return refuse(RuleRoot, "%s %s hands files to root; keep files owned by the sandbox user", base, o)
			}
		case "install":
			for _, a := range args {
				if a.text == "-o" || a.text == "--owner=root" || a.text == "-m4755" {
					return refuse(RuleRoot, "install with an owner or setuid mode changes privileges; copy the file with cp instead")
				}
			}
		}
	}
	if p.Has(RuleDestruction) {
		if r := c.destructive(base, args); r != nil {
			return r
		}
	}
	if p.Has(RuleNetwork) && !p.Network {
		if netClients[base] && !loopbackOnly(base, args) || networkSubcommand(base, args) {
			return refuse(RuleNetwork, "profile %s has no network (only loopback inside the sandbox), so %s cannot work; use local files, or run the task with the network profile", p.Name, base)
		}
	}
	if p.Has(RuleFetchRun) && c.fetched {
		if base == "chmod" {
			if m, ok := chmodMode(args); ok && addsExec(m) {
				return refuse(RuleFetchRun, "making a file executable after downloading in the same command is fetch-and-run; inspect downloaded files instead of running them")
			}
		}
		if strings.Contains(full, "/") && !systemPath(full) {
			return refuse(RuleFetchRun, "running %s after a download in the same command is fetch-and-run; inspect downloaded files instead of running them", full)
		}
	}
	if p.Has(RuleDynamic) && isAwk(base) {
		for _, a := range scriptOperands(base, args) {
			if awkRunsCommand(a.text) {
				return refuse(RuleDynamic, "awk system() and command pipes run shell text that cannot be checked; run the commands directly")
			}
		}
	}
	return nil
}

// onlyHelp reports a program asked only for its help or version.
func onlyHelp(args []word) bool {
	if len(args) != 1 {
		return false
	}
	switch args[0].text {
	case "-h", "--help", "-V", "--version", "-?", "help":
		return true
	}
	return false
}

// readOnlyStorage reports the subcommands of storage tools that only
// report (zpool status, cryptsetup luksDump).
func readOnlyStorage(base string, args []word) bool {
	if len(args) == 0 {
		return false
	}
	if base == "zpool" && len(args) == 1 && args[0].text == "import" {
		return true // lists the pools that could be imported
	}
	switch base {
	case "zpool":
		switch args[0].text {
		case "status", "list", "iostat", "history", "get", "events":
			return true
		}
	case "sgdisk":
		return len(args) == 1 && (args[0].text == "-L" || args[0].text == "--list-types")
	case "cryptsetup":
		switch args[0].text {
		case "status", "luksDump", "isLuks", "benchmark":
			return true
		}
	}
	return false
}

// imageTools make or edit a file system in whatever file they are
// given; on a file in the work dir (an image) that destroys nothing.
var imageTools = set("mkfs", "mke2fs", "mkswap", "mkdosfs", "fdisk", "sfdisk", "gdisk", "sgdisk",
	"parted", "debugfs", "tune2fs", "e2fsck", "fsck")

// imageOnly reports a file-system tool whose every operand is a plain
// relative name: a file in the work dir, not a device.
func imageOnly(base string, args []word) bool {
	tool, _, _ := strings.Cut(base, ".")
	if !imageTools[tool] {
		return false
	}
	found := false
	for _, a := range args {
		t := a.text
		switch {
		case strings.HasPrefix(t, "-"):
		case !a.static || a.glob || strings.HasPrefix(t, "/") || strings.HasPrefix(t, "~") || strings.Contains(t, ".."):
			return false
		default:
			found = true
		}
	}
	return found
}

// listsMounts reports mount used only to list: no operands, and no
// option but -l, -v, -t TYPE, help and version.
func listsMounts(args []word) bool {
	for i := 0; i < len(args); i++ {
		switch t := args[i].text; {
		case t == "-l" || t == "-v" || t == "--verbose" || t == "-h" || t == "--help" || t == "-V" || t == "--version":
		case t == "-t" && i+1 < len(args):
			i++
		default:
			return false
		}
	}
	return true
}

func chmodMode(args []word) (string, bool) {
	for _, a := range args {
		t := a.text
		if t == "-R" || t == "-v" || t == "-f" || t == "-c" || strings.HasPrefix(t, "--") {
			continue
		}
		return t, true
	}
	return "", false
}

// setuidMode reports a mode that sets the setuid bit. The setgid bit
// alone is allowed: on a directory it only makes new files inherit the
// group (chmod g+s shared), and the only group a sandboxed file can have
// is the command's own.
func setuidMode(m string) bool {
	if n, err := strconv.ParseUint(m, 8, 32); err == nil {
		return n&0o4000 != 0
	}
	for _, clause := range strings.Split(m, ",") {
		i := strings.IndexAny(clause, "+=")
		if i < 0 || !strings.Contains(clause[i:], "s") {
			continue
		}
		// No "who" letters means ugo (masked by the umask); u and a
		// include the owner.
		if who := clause[:i]; who == "" || strings.ContainsAny(who, "ua") {
			return true
		}
	}
	return false
}

func addsExec(m string) bool {
	if n, err := strconv.ParseUint(m, 8, 32); err == nil {
		return n&0o111 != 0
	}
	for _, clause := range strings.Split(m, ",") {
		if i := strings.IndexAny(clause, "+="); i >= 0 && strings.ContainsAny(clause[i:], "xX") {
			return true
		}
	}
	return false
}

func firstOperand(args []word) (string, bool) {
	for _, a := range args {
		if strings.HasPrefix(a.text, "-") {
			continue
		}
		return a.text, true
	}
	return "", false
}

func ownsToRoot(cmd, spec string) bool {
	user, group, _ := strings.Cut(spec, ":")
	if cmd == "chgrp" {
		group, user = spec, ""
	}
	isRoot := func(s string) bool { return s == "root" || s == "0" || s == "wheel" || s == "sudo" }
	return isRoot(user) || isRoot(group)
}

// systemPath reports a program path inside the read-only system tree.
func systemPath(p string) bool {
	p = path.Clean(p)
	for _, pre := range []string{"/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

func networkSubcommand(base string, args []word) bool {
	if base == "git" {
		args = gitSubcommand(args)
	}
	if len(args) == 0 {
		return false
	}
	sub := args[0].text
	switch base {
	case "git":
		switch sub {
		case "clone", "ls-remote":
			return gitRemote(args[1:])
		case "fetch", "pull", "push":
			return !gitLocalRemote(args[1:])
		case "remote-update":
			return true
		case "submodule":
			return len(args) > 1 && args[1].text == "update"
		}
	case "rsync":
		return fetches(base, args)
	case "pip", "pip3", "npm", "yarn", "pnpm", "gem", "cargo":
		if base == "cargo" && sub == "install" && len(args) == 2 && args[1].text == "--list" {
			return false // lists what is installed
		}
		return sub == "install" || sub == "download" || sub == "ci" || sub == "add"
	case "apt", "apt-get", "dnf", "yum", "apk", "zypper", "pacman":
		return sub == "install" || sub == "update" || sub == "upgrade" || sub == "-S" || sub == "add" || sub == "dist-upgrade"
	case "go":
		return sub == "get" || sub == "install" || (sub == "mod" && len(args) > 1 && args[1].text == "download")
	case "docker", "podman":
		return sub == "pull" || sub == "push"
	}
	return false
}

// gitLocalRemote reports git fetch, pull or push naming a repository on
// this machine (a path or a bundle file) rather than a remote: no
// network is needed.
func gitLocalRemote(args []word) bool {
	for _, a := range args {
		t := a.text
		if strings.HasPrefix(t, "-") {
			continue
		}
		if !a.static || strings.Contains(t, ":") || strings.Contains(t, "@") {
			return false
		}
		return strings.HasPrefix(t, "/") || strings.HasPrefix(t, ".") || strings.Contains(t, "/") || strings.HasSuffix(t, ".bundle")
	}
	return false // the default remote
}

// destructive recognises commands that wreck the system or the machine.
func (c *checker) destructive(base string, args []word) *Refusal {
	for pre := range wipers {
		if (base == pre || strings.HasPrefix(base, pre+".")) && !onlyHelp(args) && !readOnlyStorage(base, args) && !imageOnly(base, args) {
			return refuse(RuleDestruction, "%s formats, partitions or rewrites file systems and devices; not allowed", base)
		}
	}
	if powerOff[base] {
		if base != "init" && base != "telinit" || len(args) > 0 {
			return refuse(RuleDestruction, "%s stops or restarts the machine; not allowed", base)
		}
	}
	switch base {
	case "rm", "chmod", "chown", "chgrp", "mv", "srm", "find", "rsync":
		recursive := base == "mv" || base == "srm" || base == "find"
		for _, a := range args {
			t := a.text
			switch {
			case t == "--no-preserve-root":
				return refuse(RuleDestruction, "%s --no-preserve-root removes the whole system; not allowed", base)
			case t == "-r" || t == "-R" || t == "--recursive" || t == "--delete" || strings.HasPrefix(t, "--delete-"):
				recursive = true
			case strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "--") && strings.ContainsAny(t, "rR"):
				recursive = recursive || base == "rm" || base == "chmod" || base == "chown" || base == "chgrp"
			}
		}
		if !recursive {
			return nil
		}
		// What is destroyed: the operands removed (rm, the sources of
		// mv, the starting points of find -delete), changed through the
		// whole tree (chmod -R), or emptied by rsync --delete.
		spec := specFor(base)
		for _, op := range spec.operands(args) {
			target := op.kind == Delete || op.kind == Write && base != "mv"
			t := op.w.text
			if base == "find" {
				// find ~ -name '*.o' -delete removes what matches in the
				// home (the work dir), not the home itself.
				t = c.inWork(t)
			}
			if target && rootish(t) {
				return refuse(RuleDestruction, "%s on %s would destroy the system or a home directory; name the files under the work dir you mean", base, showPath(op.w.text))
			}
		}
		return nil
	case "shred", "wipe", "blkdiscard":
		for _, a := range args {
			if rawDevice(a.text) {
				return refuse(RuleDestruction, "%s %s destroys a device; not allowed", base, a.text)
			}
		}
	case "dd":
		for _, a := range args {
			if v, ok := strings.CutPrefix(a.text, "of="); ok && rawDevice(v) {
				return refuse(RuleDestruction, "dd of=%s writes straight to a device; write to a file in the work dir", v)
			}
		}
	case "kill", "pkill", "killall":
		for _, a := range args {
			if a.text == "-0" || a.text == "-s0" || a.text == "--signal=0" {
				return nil // signal 0 only asks whether the process exists
			}
		}
		for i, a := range args {
			if base == "kill" && (a.text == "-1" && i > 0 || a.text == "1" || a.text == "-1" && len(args) == 1) {
				return refuse(RuleDestruction, "kill %s signals init or every process; name the process ids you mean", a.text)
			}
		}
	case "systemctl":
		for _, a := range args {
			switch a.text {
			case "poweroff", "reboot", "halt", "kexec", "suspend", "hibernate", "rescue", "emergency":
				return refuse(RuleDestruction, "systemctl %s stops or restarts the machine; not allowed", a.text)
			}
		}
	}
	return nil
}

// rootish reports a path whose recursive removal destroys the system: /,
// any top-level directory, a home directory, or a glob that may be one.
func rootish(t string) bool {
	if !strings.HasPrefix(t, "/") {
		return false
	}
	p := path.Clean(t)
	if p == "/" {
		return true
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(parts) == 1 {
		return p != "/tmp" && p != "/work"
	}
	if len(parts) == 2 && (parts[0] == "home" || parts[0] == "Users") {
		return true
	}
	return false
}

// wrapped checks the command a wrapper program runs: env sudo, xargs rm,
// find -exec, sh -c '…', eval, alias, source.
func (c *checker) wrapped(base string, args []word) *Refusal {
	switch {
	case shells[base]:
		return c.shellArgs(base, args)
	case interpreters[base] || strings.HasPrefix(base, "python") || strings.HasPrefix(base, "perl") || strings.HasPrefix(base, "ruby"):
		return c.interpreterArgs(base, args)
	}
	switch base {
	case "eval", "trap", "source", ".":
		// "--" ends the options of these builtins, and is not text.
		if len(args) > 0 && args[0].static && args[0].text == "--" {
			args = args[1:]
		}
	}
	switch base {
	case "eval":
		return c.evalText(args, "eval")
	case "trap":
		// trap '' SIG ignores the signal; trap - SIG resets it.
		if len(args) > 1 && !strings.HasPrefix(args[0].text, "-") && !(args[0].static && strings.TrimSpace(args[0].text) == "") {
			return c.scriptWord("trap", args[0])
		}
		return nil
	case "alias":
		for _, a := range args {
			if _, v, ok := strings.Cut(a.text, "="); ok {
				if !a.static {
					if c.p.Has(RuleDynamic) {
						return refuse(RuleDynamic, "alias with a computed value cannot be checked; define the alias with literal text")
					}
					continue
				}
				if r := c.script(v, c.depth+1); r != nil {
					return r
				}
			}
		}
		return nil
	case "source", ".":
		if len(args) == 0 {
			return nil
		}
		return c.scriptFile(base, args[0])
	case "find":
		return c.findExec(args)
	case "env":
		for _, a := range expandEnvSplit(args) {
			name, val, ok := strings.Cut(a.text, "=")
			if strings.HasPrefix(a.text, "-") || !ok {
				if !strings.HasPrefix(a.text, "-") {
					break
				}
				continue
			}
			v := a
			v.text = val
			if r := c.assignHook(name, v, true); r != nil {
				return r
			}
		}
	}
	if loader(base) {
		return c.argv(loaderArgs(args))
	}
	if !wrappers[base] {
		return nil
	}
	inner, script, ok := unwrap(base, args)
	if script != nil {
		return c.scriptWord(base, *script)
	}
	if !ok || len(inner) == 0 {
		return nil
	}
	if base == "xargs" {
		return c.xargs(args, inner)
	}
	return c.argv(inner)
}

func (c *checker) scriptWord(by string, w word) *Refusal {
	if w.static {
		return c.script(w.text, c.depth+1)
	}
	if w.subst && c.p.Has(RuleFetchRun) && wordFetches(w.node) {
		return refuse(RuleFetchRun, "%s runs text produced by a download; download to a file and inspect it instead", by)
	}
	if c.p.Has(RuleDynamic) {
		return refuse(RuleDynamic, "%s runs text computed when the shell runs, so it cannot be checked; write the commands directly", by)
	}
	return nil
}

func (c *checker) evalText(args []word, by string) *Refusal {
	var b strings.Builder
	w := word{static: true}
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.text)
		w.static = w.static && a.static
		w.subst = w.subst || a.subst
		if a.subst && wordFetches(a.node) {
			w.node = a.node
		}
	}
	if len(args) == 0 {
		return nil
	}
	w.text = b.String()
	if w.node == nil {
		w.node = args[0].node
	}
	return c.scriptWord(by, w)
}

// scriptFile judges a file given to a shell or to source.
func (c *checker) scriptFile(by string, f word) *Refusal {
	if f.subst && c.p.Has(RuleFetchRun) && (procSubst(f.node) || wordFetches(f.node)) {
		return refuse(RuleFetchRun, "%s runs the output of a process substitution (such as <(curl …)); download to a file and inspect it instead", by)
	}
	if descriptorPath(f.text) && c.p.Has(RuleFetchRun) {
		return refuse(RuleFetchRun, "%s runs what arrives on a descriptor (%s), whose content the command does not show; run a file you can inspect", by, f.text)
	}
	if f.placeholder && c.p.Has(RuleDynamic) {
		return refuse(RuleDynamic, "%s runs each file name it is handed as a script, which cannot be checked; run the scripts by name", by)
	}
	if r := c.writtenScript(by, f.text); r != nil {
		return r
	}
	if c.fetched && c.p.Has(RuleFetchRun) {
		return refuse(RuleFetchRun, "%s runs a script in the same command that downloads; inspect downloaded files instead of running them", by)
	}
	return nil
}

func (c *checker) shellArgs(base string, args []word) *Refusal {
	for i := 0; i < len(args); i++ {
		t := args[i].text
		switch {
		case t == "--" || t == "-":
			if t == "-" {
				return nil
			}
			continue
		case t == "-o" || t == "+o" || t == "-O" || t == "+O" || t == "--rcfile" || t == "--init-file":
			i++
		case strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "--") && strings.Contains(t, "c"):
			if i+1 < len(args) {
				return c.scriptWord(base+" -c", args[i+1])
			}
			return nil
		case strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "--") && strings.Contains(t, "n"):
			return nil // -n reads the script without running it
		case strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+"):
		default:
			return c.scriptFile(base, args[i])
		}
	}
	return nil
}

func (c *checker) interpreterArgs(base string, args []word) *Refusal {
	for _, a := range args {
		if strings.HasPrefix(a.text, "-") {
			if a.text == "-c" || a.text == "-e" || a.text == "-E" || a.text == "-m" || a.text == "-r" {
				return nil
			}
			continue
		}
		return c.scriptFile(base, a)
	}
	return nil
}

// procSubst reports a word that holds a process substitution, <(…) or
// >(…): a descriptor's content, not a file's.
func procSubst(w *syntax.Word) bool {
	if w == nil {
		return false
	}
	found := false
	syntax.Walk(w, func(n syntax.Node) bool {
		if _, ok := n.(*syntax.ProcSubst); ok {
			found = true
		}
		return !found
	})
	return found
}

// wordFetches reports whether a word's substitutions run a network
// client.
func wordFetches(w *syntax.Word) bool {
	if w == nil {
		return false
	}
	found := false
	syntax.Walk(w, func(n syntax.Node) bool {
		if call, ok := n.(*syntax.CallExpr); ok && len(call.Args) > 0 {
			name := path.Base(call.Args[0].Lit())
			if fetchers[name] || decoders[name] {
				found = true
			}
		}
		return !found
	})
	return found
}

// descriptorPath names an open descriptor rather than a file: /dev/fd/N,
// /proc/self/fd/N, /dev/stdin.
func descriptorPath(p string) bool {
	p = path.Clean(p)
	return p == "/dev/stdin" || strings.HasPrefix(p, "/dev/fd/") || strings.HasPrefix(p, "/proc/self/fd/") || strings.HasPrefix(p, "/proc/thread-self/fd/")
}

// placeholders marks the words find -exec and xargs -I fill in at run
// time with names or lines they read: their text is not known.
func placeholders(ws []word, repl string) []word {
	out := make([]word, len(ws))
	for i, w := range ws {
		if strings.Contains(w.text, repl) {
			w.static, w.placeholder = false, true
		}
		out[i] = w
	}
	return out
}
