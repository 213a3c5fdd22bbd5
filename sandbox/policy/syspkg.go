package policy

import "strings"

// System package managers install, remove and update the software of the
// whole machine: files under /usr, /etc and /var, outside the work dir.
// Their operands name packages, not paths, so the operand table cannot
// show the writes; this table says which of their subcommands change the
// system (the others only report: search, show, list).
var systemPackageChanges = map[string]map[string]bool{
	"apt":          set("install", "remove", "purge", "autoremove", "upgrade", "full-upgrade", "dist-upgrade", "update", "clean", "autoclean", "reinstall", "build-dep", "satisfy"),
	"apt-get":      set("install", "remove", "purge", "autoremove", "upgrade", "dist-upgrade", "update", "clean", "autoclean", "reinstall", "build-dep", "source"),
	"aptitude":     set("install", "remove", "purge", "upgrade", "safe-upgrade", "full-upgrade", "update", "clean", "autoclean", "reinstall", "markauto", "hold"),
	"dpkg":         set("-i", "--install", "-r", "--remove", "-P", "--purge", "--configure", "--unpack", "-a", "--set-selections"),
	"dnf":          set("install", "remove", "erase", "upgrade", "update", "downgrade", "reinstall", "autoremove", "clean", "makecache", "distro-sync", "swap", "copr"),
	"yum":          set("install", "remove", "erase", "upgrade", "update", "downgrade", "reinstall", "autoremove", "clean", "makecache", "distro-sync", "swap", "groupinstall", "groupremove", "localinstall"),
	"microdnf":     set("install", "remove", "upgrade", "update", "clean", "makecache", "reinstall"),
	"zypper":       set("install", "in", "remove", "rm", "update", "up", "dist-upgrade", "dup", "refresh", "ref", "clean", "addrepo", "ar", "removerepo", "rr", "patch", "modifyrepo", "mr"),
	"apk":          set("add", "del", "upgrade", "update", "fix", "cache"),
	"opkg":         set("install", "remove", "upgrade", "update", "flag", "configure"),
	"pkcon":        set("install", "install-local", "remove", "update", "refresh", "repair", "upgrade-system", "install-sig"),
	"snap":         set("install", "remove", "refresh", "revert", "enable", "disable", "set", "connect", "disconnect"),
	"flatpak":      set("install", "uninstall", "update", "remove-delete", "repair", "remote-add", "remote-delete", "remote-modify", "override"),
	"rpm":          set("-i", "--install", "-U", "--upgrade", "-F", "--freshen", "-e", "--erase", "--import", "--rebuilddb", "--initdb", "--setperms", "--setugids"),
	"emerge":       set("--sync", "--depclean", "-C", "--unmerge", "-u", "--update", "-c", "--oneshot"),
	"xbps-install": set("-S", "-u", "--sync", "--update"),
	"xbps-remove":  set(),
	"eopkg":        set("install", "it", "remove", "rm", "upgrade", "up", "update-repo", "ur"),
	"swupd":        set("bundle-add", "bundle-remove", "update", "repair"),
	"slackpkg":     set("install", "remove", "upgrade", "update", "upgrade-all", "clean-system"),
	"tlmgr":        set("install", "remove", "update", "backup", "restore"),
}

// pacmanLike take their action as a capital letter option: -S installs,
// -R removes, -U installs a file, -D changes the database; -S with only
// s, i, l, g or p searches or prints, h asks for help, p prints what
// would be done, -Dk checks the database.
var pacmanLike = set("pacman", "paru", "yay", "pikaur", "trizen", "aura", "pamac")

// systemPackages refuses a package manager changing the system.
func (c *checker) systemPackages(base string, args []word) *Refusal {
	if !c.p.Has(RuleLocalFile) || len(args) == 0 {
		return nil
	}
	for _, a := range args {
		switch a.text {
		case "--dry-run", "--simulate", "--just-print", "--no-act", "--recon", "--list", "--print", "--assumeno", "-h", "--help":
			return nil // reports what it would do
		}
	}
	if pacmanLike[base] {
		for _, a := range args {
			t := a.text
			if !strings.HasPrefix(t, "-") || strings.HasPrefix(t, "--") || len(t) < 2 {
				continue
			}
			if strings.ContainsAny(t[2:], "hp") || t[1] == 'D' && strings.Trim(t[2:], "kq") == "" && len(t) > 2 {
				continue // help, print what would be done, check the database
			}
			switch t[1] {
			case 'R', 'U', 'D':
				return c.packageRefusal(base, t)
			case 'S':
				if strings.Trim(t[2:], "silgpq") != "" || len(t) == 2 {
					return c.packageRefusal(base, t)
				}
			}
		}
		return nil
	}
	subs, ok := systemPackageChanges[base]
	if !ok {
		return nil
	}
	if len(subs) == 0 {
		return c.packageRefusal(base, "")
	}
	for _, a := range args {
		t := a.text
		if subs[t] {
			return c.packageRefusal(base, t)
		}
		if base == "rpm" && strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "--") && strings.ContainsAny(t[1:2], "iUFe") {
			return c.packageRefusal(base, t)
		}
		if !strings.HasPrefix(t, "-") && base != "dpkg" && base != "rpm" && base != "emerge" && base != "xbps-install" {
			return nil // the first word that is not an option is the subcommand
		}
	}
	return nil
}

func (c *checker) packageRefusal(base, sub string) *Refusal {
	what := strings.TrimSpace(base + " " + sub)
	return refuse(RuleLocalFile, "%s changes the machine's installed software (files under /usr, /etc and /var), outside the work dir; install into the work dir instead (a virtualenv, pip --target, npm without -g) or ask the operator", what)
}
