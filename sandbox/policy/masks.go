package policy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// DefaultMasks are the host paths no command ever sees, whatever its
// profile's view and rules: they look empty (directories) or like empty
// files, never like an error that would tell they exist. Patterns are
// shell globs over absolute paths; "~/" stands for every home directory
// (/root and /home/*). The worker adds its own state dir and the
// credential files its flags name; a profile adds its mask list.
var DefaultMasks = []string{
	"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
	"/etc/sudoers", "/etc/sudoers.d", "/etc/sudoers-*",
	"/etc/ssh/ssh_host_*_key", "/etc/ssl/private",
	"/etc/security/opasswd", "/etc/krb5.keytab",
	"/root",
	"~/.ssh", "~/.gnupg", "~/.aws", "~/.kube", "~/.azure",
	"~/.config/gcloud", "~/.docker/config.json", "~/.netrc", "~/.pgpass",
	"~/.git-credentials", "~/.npmrc", "~/.pypirc",
	"~/.bash_history", "~/.zsh_history", "~/.sh_history", "~/.python_history",
	"~/.mysql_history", "~/.psql_history", "~/.lesshst", "~/.local/share/fish/fish_history",
	"/var/lib/amf", "~/.local/state/amf",
	"~/.config/gh", "~/.vault-token", "~/.cargo/credentials", "~/.cargo/credentials.toml",
	"~/.terraform.d/credentials.tfrc.json", "~/.m2/settings.xml", "~/.s3cfg", "~/.boto",
	"~/.config/rclone", "~/.gem/credentials", "~/.password-store", "~/.local/share/keyrings",
	"~/.config/op",
}

// homeRoots are what "~/" in a mask pattern stands for: /root, every
// directory under /home, and every other home directory the host's
// /etc/passwd names (a service account's home under /var, /srv or /opt
// holds credentials as a person's does).
var homeRoots = sync.OnceValue(func() []string {
	return passwdHomes(readFile("/etc/passwd"))
})

// readFile is os.ReadFile, empty on error: no passwd file means only the
// usual homes.
func readFile(name string) []byte {
	b, _ := os.ReadFile(name)
	return b
}

// passwdHomes are the usual home roots plus the absolute home
// directories of passwd (its sixth field) outside them; "/" and
// /nonexistent-style placeholders are left out.
func passwdHomes(passwd []byte) []string {
	roots := []string{"/root", "/home/*"}
	for _, line := range strings.Split(string(passwd), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 {
			continue
		}
		h := path.Clean(f[5])
		if !path.IsAbs(h) || h == "/" || h == "/root" || h == "/home" || strings.HasPrefix(h, "/home/") ||
			strings.HasPrefix(h, "/nonexist") {
			continue
		}
		// A home is a path, not a pattern: "/srv/app[1]" is that
		// directory, whatever glob would make of its brackets.
		roots = append(roots, EscapeGlob(h))
	}
	slices.Sort(roots[2:])
	return slices.Compact(roots)
}

// ExpandMasks turns mask patterns into absolute glob patterns: "~/"
// expanded to every home, each cleaned, without repeats, sorted.
func ExpandMasks(patterns ...[]string) []string {
	var out []string
	for _, list := range patterns {
		for _, p := range list {
			if rest, ok := strings.CutPrefix(p, "~/"); ok {
				for _, h := range homeRoots() {
					out = append(out, path.Join(h, rest))
				}
				continue
			}
			out = append(out, path.Clean(p))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Masked reports whether p (absolute, cleaned) is a masked path or lies
// under one.
func Masked(p string, masks []string) bool {
	p = path.Clean(p)
	for _, m := range masks {
		for q := p; ; q = path.Dir(q) {
			if ok, _ := filepath.Match(m, q); ok {
				return true
			}
			if q == "/" {
				break
			}
		}
	}
	return false
}

func checkMaskPattern(m string) error {
	if !strings.HasPrefix(m, "/") && !strings.HasPrefix(m, "~/") {
		return fmt.Errorf("mask %q: use an absolute path or ~/path", m)
	}
	if _, err := filepath.Match(m, ""); err != nil {
		return fmt.Errorf("mask %q: %v", m, err)
	}
	return nil
}

// EscapeGlob makes a path a pattern that matches only itself: each glob
// metacharacter is escaped, and a byte that is not UTF-8 (which JSON
// cannot carry to the sandbox's init) becomes '?', which matches one
// byte of that kind.
func EscapeGlob(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteByte('?')
		case r == '*' || r == '?' || r == '[' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteString(p[i : i+n])
		}
		i += n
	}
	return b.String()
}
