package policy

// Rule names, as they appear in profiles and in every Refusal.
const (
	RuleSyntax       = "syntax"
	RuleUnicode      = "unicode-lookalike"
	RuleDynamic      = "dynamic-command"
	RuleRoot         = "root-escalation"
	RuleLocalFile    = "local-file-inclusion"
	RuleFetchRun     = "remote-fetch-run"
	RuleDestruction  = "destruction"
	RuleNetwork      = "network"
	RuleDenyList     = "deny-list"
	RuleAllowList    = "allow-list"
	RuleProfile      = "profile"
	RuleEmptyCommand = "empty"
)

// knownRules are the names a profile may enable.
var knownRules = map[string]bool{
	RuleSyntax: true, RuleUnicode: true, RuleDynamic: true, RuleRoot: true,
	RuleLocalFile: true, RuleFetchRun: true, RuleDestruction: true,
	RuleNetwork: true, RuleDenyList: true, RuleAllowList: true,
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// escalation are programs whose purpose is to gain privileges or leave
// the confinement.
var escalation = set("sudo", "su", "doas", "pkexec", "run0", "nsenter",
	"unshare", "mount", "umount", "insmod", "modprobe", "rmmod", "kmod",
	"setcap", "capsh", "setpriv", "chroot", "pivot_root", "newgrp", "sg",
	"runuser", "ksu", "machinectl", "systemd-run", "systemd-nspawn",
	"visudo", "sudoedit", "passwd", "chpasswd", "useradd", "usermod",
	"userdel", "groupadd", "groupmod", "gpasswd", "adduser", "deluser",
	"losetup", "kexec", "swapon", "switch_root", "firejail", "bwrap",
	"setsebool", "chcon", "newuidmap", "newgidmap", "lxc-attach",
	"docker", "podman", "ctr", "nerdctl", "kubectl-exec", "gksu", "gksudo",
	"kdesu", "kdesudo", "beesu", "sudo-rs", "please")

// shells read a script from -c, a file, or standard input.
var shells = set("sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish",
	"csh", "tcsh", "yash", "rbash", "posh")

// interpreters run code from standard input when given no program.
var interpreters = set("python", "python2", "python3", "perl", "ruby",
	"node", "nodejs", "php", "lua", "tclsh", "Rscript", "irb", "jshell",
	"osascript", "pwsh", "powershell", "deno", "bun", "expect")

// fetchers bring bytes in from the network.
var fetchers = set("curl", "wget", "fetch", "aria2c", "nc", "ncat",
	"netcat", "socat", "http", "https", "xh", "lwp-download", "lwp-request",
	"GET", "lynx", "links", "w3m", "tftp", "ftp", "scp", "sftp", "rsync",
	"axel", "telnet", "openssl-s_client")

// netClients need a network route; profiles without network refuse them
// so the model learns at once instead of waiting for a timeout.
var netClients = set("curl", "wget", "fetch", "aria2c", "nc", "ncat",
	"netcat", "socat", "http", "https", "xh", "ssh", "scp", "sftp",
	"telnet", "ftp", "tftp", "lynx", "links", "w3m", "axel", "dig",
	"nslookup", "whois", "nmap", "ping", "ping6", "traceroute",
	"mtr", "lwp-request", "lwp-download", "GET", "host", "mail", "mailx",
	"s-nail", "sendmail", "mutt", "msmtp", "ssmtp", "swaks")

// decoders turn inert text into bytes a shell could run.
var decoders = set("base64", "base32", "xxd", "uudecode", "openssl",
	"gpg", "rev", "tr", "gunzip", "zcat", "bzcat", "xzcat", "unxz")

// wipers destroy file systems or devices outright.
var wipers = set("mkfs", "mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk",
	"cfdisk", "gdisk", "sgdisk", "parted", "mkdosfs", "blkdiscard",
	"badblocks", "hdparm", "mdadm", "pvcreate", "vgremove", "lvremove",
	"cryptsetup", "zpool", "debugfs", "tune2fs", "e2fsck", "fsck")

// powerOff stops the machine.
var powerOff = set("shutdown", "reboot", "halt", "poweroff", "telinit",
	"init", "killall5", "kexec")

// wrappers run their arguments as a command.
var wrappers = set("env", "command", "builtin", "exec", "nice", "nohup",
	"time", "timeout", "stdbuf", "ionice", "chrt", "taskset", "setsid",
	"flock", "xargs", "busybox", "toybox", "unbuffer", "caffeinate",
	"doas", "sudo", "su", "pkexec", "run0", "runuser", "chroot", "nsenter",
	"unshare", "strace", "ltrace", "gdb", "valgrind", "watch", "parallel",
	"script", "sg", "setpriv", "capsh", "firejail", "bwrap", "systemd-run",
	"prlimit", "numactl", "cgexec", "sshpass", "proxychains", "torsocks",
	"faketime", "fakeroot", "eatmydata", "catchsegv", "ssh-agent", "dbus-run-session",
	"setarch", "linux32", "linux64", "i386", "x86_64", "logsave")
