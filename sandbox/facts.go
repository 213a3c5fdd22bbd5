package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/amf-os/amf/internal/osrelease"
	"github.com/amf-os/amf/sandbox/internal/child"
	"github.com/amf-os/amf/sandbox/policy"
)

// Facts describe the environment a sandboxed command runs in, for the
// model's prompt: what it can use and what it must not try.
type Facts struct {
	OS      string   `json:"os"`
	Kernel  string   `json:"kernel"`
	Distro  string   `json:"distro"`
	Shell   string   `json:"shell"`
	WorkDir string   `json:"work_dir"`
	User    string   `json:"user"`
	Network bool     `json:"network"`
	Profile string   `json:"profile"`
	Tools   []string `json:"tools"`
	// Policy says in a few lines what the profile refuses.
	Policy string `json:"policy"`
	// View says what of the host the command sees (view.go).
	View string `json:"view,omitempty"`
}

// Prompt renders the facts as text for a system prompt.
func (f Facts) Prompt() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Commands run with %s on %s (%s, kernel %s) as user %s in the work dir %s.\n", f.Shell, f.Distro, f.OS, f.Kernel, f.User, f.WorkDir)
	if f.Network {
		b.WriteString("Outbound network is available.\n")
	} else {
		b.WriteString("There is no network: only loopback inside the sandbox.\n")
	}
	if f.View != "" {
		fmt.Fprintf(&b, "The command sees %s.\n", f.View)
	}
	fmt.Fprintf(&b, "Available tools: %s.\n", strings.Join(f.Tools, " "))
	b.WriteString(f.Policy)
	return b.String()
}

// sandboxPath is PATH inside the sandbox; the tools found there are the
// host's, since /usr, /bin, /sbin and /lib are bound read-only.
var sandboxPath = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// candidateTools are looked for; only those present are reported.
var candidateTools = strings.Fields(`awk gawk mawk sed grep egrep find xargs sort uniq cut tr wc head tail
tee cat tac less diff cmp comm join paste column split csplit fold fmt nl od hexdump xxd base64
md5sum sha1sum sha256sum tar gzip gunzip zcat bzip2 xz zstd zip unzip jq yq python3 perl ruby
node ps top free df du stat file find lsof pgrep pkill kill date cal bc dc expr seq shuf
git make gcc go sqlite3 openssl gpg curl wget nc ssh rsync iconv realpath readlink mktemp
timeout watch tree locale getent id whoami uname hostname uptime nproc lscpu dpkg rpm journalctl`)

var toolsOnce = sync.OnceValue(func() []string {
	var found []string
	seen := map[string]bool{}
	for _, t := range candidateTools {
		if seen[t] {
			continue
		}
		seen[t] = true
		for _, d := range sandboxPath {
			if fi, err := os.Stat(filepath.Join(d, t)); err == nil && fi.Mode()&0o111 != 0 {
				found = append(found, t)
				break
			}
		}
	}
	return found
})

// Describe returns the facts for a profile of the built-in policy.
func Describe(profile string) (Facts, error) { return describe(DefaultPolicy(), profile) }

func describe(pol *Policy, profile string) (Facts, error) {
	p, err := pol.Profile(profile)
	if err != nil {
		return Facts{}, err
	}
	f := Facts{
		OS:      runtime.GOOS + "/" + runtime.GOARCH,
		Kernel:  kernelRelease(),
		Distro:  distro(),
		Shell:   shellName(),
		WorkDir: workDirInside,
		User:    sandboxUser,
		Network: p.Network,
		Profile: p.Name,
		Tools:   toolsOnce(),
		Policy:  policyText(p),
		View:    policy.DescribeView(p.View),
	}
	return f, nil
}

func policyText(p *Profile) string {
	var lines []string
	add := func(rule, text string) {
		if p.Has(rule) {
			lines = append(lines, "- "+text)
		}
	}
	add(RuleRoot, "no privilege changes: sudo, su, doas, setuid bits, chown to root, mount, namespaces, kernel modules")
	add(RuleLocalFile, "no host secrets or system state (/etc/shadow, ~/.ssh, /root, /proc/<pid>/environ, /sys, raw devices), no ../ out of the work dir, writes only under the work dir and /tmp (no system package installs: use a virtualenv or pip --target)")
	add(RuleFetchRun, "no running fetched or decoded code: no curl|sh, bash <(…), base64 -d | sh, download-then-execute, eval of computed text")
	add(RuleDestruction, "no destruction: rm -rf /, mkfs, dd to devices, fork bombs, shutdown")
	add(RuleDynamic, "command names must be literal (no $CMD or $(…) as the command); nothing that turns data into code (sed e, arithmetic on values read at run time, ${x@P}, BASH_ENV; find -exec sh -c and xargs -I{} sh -c take names as arguments: sh -c '… \"$1\" …' _ {})")
	if p.Has(RuleNetwork) && !p.Network {
		lines = append(lines, "- no network clients (curl, wget, ssh, git clone URL, pip install …); 127.0.0.1 and localhost are the sandbox's own loopback and allowed")
	}
	if p.Has(RuleDenyList) && len(p.DenyCommands) > 0 {
		lines = append(lines, "- not available: "+strings.Join(p.DenyCommands, ", "))
	}
	if p.Has(RuleAllowList) && len(p.AllowCommands) > 0 {
		lines = append(lines, "- only these commands: "+strings.Join(p.AllowCommands, ", "))
	}
	if len(lines) == 0 {
		return "Profile " + p.Name + " refuses only malformed commands.\n"
	}
	return "Profile " + p.Name + " refuses:\n" + strings.Join(lines, "\n") + "\n"
}

func distro() string {
	if name := osrelease.Load()["PRETTY_NAME"]; name != "" {
		return name
	}
	return "unknown Linux"
}

func shellName() string {
	p := shellPath()
	if t, err := filepath.EvalSymlinks(p); err == nil {
		return filepath.Base(p) + " (" + t + ")"
	}
	return p
}

func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// What a command sees inside (the init's names; see names_test.go for
// the work dir the policy checks against).
const (
	workDirInside = policy.InsideWorkDir
	sandboxUser   = child.User
	sandboxUID    = child.UID
	sandboxHost   = child.Hostname
)
