package bus

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Limits of a task's environment. They bound what a worker hands to
// execve for each command, whatever way the task came in.
const (
	// MaxEnvVars is the most variables a task may set.
	MaxEnvVars = 64
	// MaxEnvNameBytes bounds one variable name.
	MaxEnvNameBytes = 128
	// MaxEnvValueBytes bounds one value.
	MaxEnvValueBytes = 16 << 10
	// MaxEnvBytes bounds all names and values together.
	MaxEnvBytes = 64 << 10
)

// envNameRE is the portable name of POSIX (XBD 8.1): what every shell
// can assign and export. It excludes "%", so bash's exported functions
// (BASH_FUNC_name%%) can never be spelled.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Why a deny-list: a task's own variables (GREETING, INPUT_FILE) have
// arbitrary names, so no allow-list can admit them without also
// admitting the name of some tool's hook; the list below is therefore
// broad by prefix (whole families such as PYTHON*, PIP_*, NODE_*,
// LUA_*, XDG_*) and compared case-insensitively, and the sandbox sets
// PATH, HOME and SHELL itself. LANG, LC_*, TZ and TMPDIR
// stay allowed: they change formatting and where temporary files go,
// never what code runs.

// refusedEnv maps a variable that changes how the shell, the dynamic
// loader or the C library behave to why it is refused. A command that
// passed validation must run as written: each of these can make a
// harmless-looking command run other code, trace itself somewhere or
// parse differently. Taken from bash(1) "Shell Variables" and
// "INVOCATION", ld.so(8) "ENVIRONMENT", and glibc's list of variables
// it drops for setuid programs (unsecvars.h).
var refusedEnv = map[string]string{
	// bash(1): read at startup or on every prompt, command or expansion.
	"BASH_ENV":            "bash runs the file it names before the command",
	"ENV":                 "sh and bash in POSIX mode run the file it names",
	"SHELLOPTS":           "it turns shell options such as xtrace on at startup",
	"BASHOPTS":            "it turns shopt options on at startup",
	"PS0":                 "bash expands it, running command substitutions",
	"PS1":                 "bash expands it, running command substitutions",
	"PS2":                 "bash expands it, running command substitutions",
	"PS3":                 "bash expands it, running command substitutions",
	"PS4":                 "bash expands it before every traced command, running command substitutions",
	"PROMPT_COMMAND":      "bash runs it as a command",
	"IFS":                 "it changes how the shell splits words",
	"CDPATH":              "it changes where cd goes",
	"GLOBIGNORE":          "it changes what globs match",
	"GLOBSORT":            "it changes the order of glob results",
	"BASH_XTRACEFD":       "it redirects the shell's trace output",
	"BASH_COMPAT":         "it changes the shell's behaviour to an older version's",
	"BASH_LOADABLES_PATH": "bash loads builtins as shared objects from it",
	"BASH_ARGV0":          "it changes $0",
	"POSIXLY_CORRECT":     "it changes the shell's and utilities' behaviour",
	"EXECIGNORE":          "it changes which programs the shell finds",
	"FUNCNEST":            "it changes how deep functions may call",
	"TIMEFORMAT":          "it changes what the time keyword prints",
	"TMOUT":               "it makes read time out and the shell exit",
	"OPTIND":              "it changes getopts parsing",
	"OPTERR":              "it changes getopts error reporting",
	"HISTFILE":            "it makes the shell write its history to a file",
	"INPUTRC":             "readline reads the file it names",
	"HOSTFILE":            "it changes hostname completion",
	"MAILPATH":            "it makes the shell check files",
	"MAIL":                "it makes the shell check files",
	"PATH":                "it changes which program a command name runs",
	"SSH2_CLIENT":         "bash, as Debian builds it, runs ~/.bashrc when it is set",
	"SHELL":               "programs that spawn a shell run the program it names",
	// ld.so(8) names every LD_* variable; the prefix rule refuses them.
	// glibc (unsecvars.h, and tunables).
	"GLIBC_TUNABLES":   "it changes the C library's and loader's behaviour",
	"GCONV_PATH":       "iconv loads shared objects from it",
	"GETCONF_DIR":      "it changes where getconf finds its programs",
	"HOSTALIASES":      "it makes the resolver read the file it names",
	"LOCALDOMAIN":      "it changes name resolution",
	"LOCPATH":          "the C library loads locale data from it",
	"MALLOC_TRACE":     "the C library writes a trace to the file it names",
	"NIS_PATH":         "it changes name service lookups",
	"NLSPATH":          "the C library loads message catalogs from it",
	"RESOLV_HOST_CONF": "it makes the resolver read the file it names",
	"RES_OPTIONS":      "it changes name resolution",
	"TZDIR":            "the C library reads time zone files from it",
	// Other interpreters a shell command commonly starts.
	"PERL5OPT":          "perl takes options (and -M modules) from it",
	"PERL5LIB":          "perl loads modules from it",
	"PERLLIB":           "perl loads modules from it",
	"PERL5DB":           "perl runs it as its debugger",
	"PYTHONSTARTUP":     "python runs the file it names",
	"PYTHONPATH":        "python imports modules from it",
	"PYTHONHOME":        "python loads its library from it",
	"PYTHONINSPECT":     "python enters interactive mode",
	"RUBYOPT":           "ruby takes options (and -r libraries) from it",
	"RUBYLIB":           "ruby loads libraries from it",
	"NODE_OPTIONS":      "node takes options (and --require modules) from it",
	"NODE_PATH":         "node loads modules from it",
	"JAVA_TOOL_OPTIONS": "the JVM takes options (and agents) from it",
	"_JAVA_OPTIONS":     "the JVM takes options (and agents) from it",
	"LESSOPEN":          "less runs it as an input filter",
	"LESSCLOSE":         "less runs it after an input filter",
	"PAGER":             "programs run it to page output",
	"MANPAGER":          "man runs it to page output",
	"EDITOR":            "programs run it to edit files",
	"VISUAL":            "programs run it to edit files",
	"BROWSER":           "programs run it to open links",
	"SSH_ASKPASS":       "ssh runs it for passwords",
	// Found since: every tool's hook that runs code or reads a
	// configuration file the task could have written.
	"HOME":                     "tools read configuration (and hooks such as git's core.fsmonitor) from files under it; the sandbox sets it",
	"JDK_JAVA_OPTIONS":         "the java launcher takes options (and agents) from it",
	"TAR_OPTIONS":              "tar takes options from it, --checkpoint-action=exec= among them",
	"OPENSSL_CONF":             "OpenSSL reads the configuration it names, which can load engines and providers",
	"OPENSSL_MODULES":          "OpenSSL loads provider modules from it",
	"OPENSSL_ENGINES":          "OpenSSL loads engines from it",
	"SSLKEYLOGFILE":            "TLS libraries write session secrets to the file it names",
	"WGETRC":                   "wget reads the configuration file it names",
	"FPATH":                    "ksh and zsh load functions from it",
	"ZDOTDIR":                  "zsh reads its startup files from it",
	"FCEDIT":                   "bash's fc runs it",
	"SUDO_ASKPASS":             "sudo runs it for passwords",
	"CVS_RSH":                  "cvs runs it to connect",
	"AWKPATH":                  "gawk loads programs from it",
	"AWKLIBPATH":               "gawk loads shared-object extensions from it",
	"MAKEFLAGS":                "make takes options from it, --eval among them",
	"GNUMAKEFLAGS":             "make takes options from it, --eval among them",
	"MFLAGS":                   "make takes options from it",
	"MAKEFILES":                "make reads the makefiles it names",
	"MANOPT":                   "man takes options from it",
	"MANPATH":                  "man reads pages and configuration from it",
	"MANROFFOPT":               "man passes it to the formatter",
	"VIMINIT":                  "vim runs it as its startup commands",
	"EXINIT":                   "ex and vim run it as their startup commands",
	"MYVIMRC":                  "vim reads the file it names",
	"VIMRUNTIME":               "vim loads its runtime scripts from it",
	"EMACSLOADPATH":            "emacs loads code from it",
	"PHPRC":                    "php reads the configuration it names",
	"PHP_INI_SCAN_DIR":         "php reads configuration from it",
	"TCLLIBPATH":               "tclsh loads packages from it",
	"GCC_EXEC_PREFIX":          "gcc runs its passes from it",
	"COMPILER_PATH":            "gcc runs its passes from it",
	"CC":                       "build tools run the compiler it names",
	"CXX":                      "build tools run the compiler it names",
	"CPP":                      "build tools run the preprocessor it names",
	"LD":                       "build tools run the linker it names",
	"GOFLAGS":                  "go takes flags from it, -toolexec among them",
	"GOENV":                    "go reads the configuration file it names",
	"GOROOT":                   "go runs its toolchain from it",
	"GOTOOLCHAIN":              "go downloads and runs the toolchain it names",
	"GOPROXY":                  "go downloads modules from it",
	"GZIP":                     "gzip takes options from it",
	"BZIP":                     "bzip2 takes options from it",
	"BZIP2":                    "bzip2 takes options from it",
	"XZ_OPT":                   "xz takes options from it",
	"XZ_DEFAULTS":              "xz takes options from it",
	"ZIPOPT":                   "zip takes options from it",
	"UNZIP":                    "unzip takes options from it",
	"UNZIPOPT":                 "unzip takes options from it",
	"ZIPINFO":                  "zipinfo takes options from it",
	"KUBECONFIG":               "kubectl reads the configuration it names, which can run credential plugins",
	"DBUS_SESSION_BUS_ADDRESS": "programs connect to the bus it names",
	"GNUPGHOME":                "gpg reads its configuration and keys from it",
	"REQUESTS_CA_BUNDLE":       "python requests trusts the certificates it names",
	"SSL_CERT_FILE":            "TLS libraries trust the certificates it names",
	"SSL_CERT_DIR":             "TLS libraries trust the certificates in it",
	"CLASSPATH":                "java loads classes from it",
	"LIBRARY_PATH":             "the compiler's linker loads libraries from it",
	"CPATH":                    "the compiler includes headers from it",
	"C_INCLUDE_PATH":           "the compiler includes headers from it",
	"CPLUS_INCLUDE_PATH":       "the compiler includes headers from it",
	"OBJC_INCLUDE_PATH":        "the compiler includes headers from it",
	"GUILE_LOAD_PATH":          "guile loads code from it",
	"GUILE_LOAD_COMPILED_PATH": "guile loads compiled code from it",
	"OCAMLPATH":                "ocaml loads libraries from it",
	"GI_TYPELIB_PATH":          "GObject introspection loads libraries from it",
	"M2_HOME":                  "maven runs from, and reads settings in, it",
	"ANT_HOME":                 "ant runs from it",
	"PSQLRC":                   "psql runs the commands of the file it names",
	"IRBRC":                    "irb runs the Ruby file it names",
	"MAILRC":                   "mail runs the commands of the file it names",
	"NETRC":                    "network clients read login secrets from the file it names",
}

// refusedPrefix maps a name prefix to why every variable it starts is
// refused.
var refusedPrefix = []struct{ prefix, why string }{
	{"BASH_FUNC_", "bash imports it as a function that can replace any command"},
	{"LD_", "the dynamic loader reads it (ld.so(8)): preloads, audit modules, library paths"},
	{"MALLOC_", "the C library's allocator reads it"},
	{"GIT_", "git runs programs and reads configuration from its variables"},
	{"BASH_", "bash reads its BASH_ variables at startup and on every command"},
	{"PYTHON", "python reads options, startup files, warnings filters and breakpoint hooks from its PYTHON variables"},
	{"PIP_", "pip reads every option (index, configuration file) from its PIP_ variables"},
	{"PERL", "perl reads options and module paths from its PERL variables"},
	{"RUBY", "ruby reads options and library paths from its RUBY variables"},
	{"GEM_", "rubygems loads plugins from its GEM_ paths"},
	{"BUNDLE_", "bundler takes every setting from its BUNDLE_ variables"},
	{"NODE_", "node reads options and module paths from its NODE_ variables"},
	{"NPM_CONFIG_", "npm takes every setting (script-shell among them) from its npm_config_ variables"},
	{"YARN_", "yarn takes every setting from its YARN_ variables"},
	{"LUA_", "lua runs LUA_INIT and loads modules from LUA_PATH and LUA_CPATH"},
	{"OPENSSL_", "OpenSSL reads configuration and loads modules from its OPENSSL_ variables"},
	{"JAVA", "the JVM and its launchers take options and agents from their JAVA variables"},
	{"LESS", "less runs filters and reads key bindings and options from its LESS variables"},
	{"XDG_", "programs read configuration, and autostart files, from the XDG_ base directories"},
	{"TERMINFO", "curses programs load terminal descriptions from it"},
	{"CURL", "curl reads its configuration file from CURL_HOME"},
	{"WGET", "wget reads its configuration file from WGETRC"},
	{"GREP_", "grep takes options from GREP_OPTIONS"},
	{"TAR_", "tar takes options from TAR_OPTIONS"},
	{"SSH_", "ssh runs SSH_ASKPASS and connects to SSH_AUTH_SOCK"},
	{"RSYNC_", "rsync runs RSYNC_RSH and RSYNC_CONNECT_PROG"},
	{"CARGO_", "cargo takes every setting, wrappers among them, from its CARGO_ variables"},
	{"RUST", "rustc and rustup take flags, wrappers and toolchains from their RUST variables"},
	{"PKG_CONFIG_", "pkg-config reads package files from its PKG_CONFIG_ paths"},
	{"GROFF_", "groff runs programs and loads macros from its GROFF_ paths"},
	{"KRB5", "Kerberos reads its configuration and credentials from its KRB5 variables"},
	{"DOCKER_", "docker connects to, and reads configuration from, its DOCKER_ variables"},
	{"R_", "R runs the profile files named by its R_ variables"},
	{"SYSTEMD_", "systemd tools run SYSTEMD_PAGER and SYSTEMD_EDITOR"},
	{"QT_", "Qt loads plugins from QT_PLUGIN_PATH"},
	{"GST_", "GStreamer loads plugins from its GST_ paths"},
	{"GTK_", "GTK loads modules from GTK_PATH and GTK_MODULES"},
	{"GIO_", "GIO loads modules from GIO_MODULE_DIR"},
	{"GRADLE_", "gradle runs the init scripts under GRADLE_USER_HOME and takes GRADLE_OPTS"},
	{"MAVEN_", "maven takes options and settings from its MAVEN_ variables"},
	{"PG", "libpq reads service, password and key files from its PG variables"},
	{"MYSQL_", "mysql clients read option files from MYSQL_HOME"},
	{"DENO_", "deno reads its cache and configuration from its DENO_ variables"},
	{"GNUTLS_", "GnuTLS reads its priority file from GNUTLS_SYSTEM_PRIORITY_FILE"},
	{"AMF_", "the AMF_ names are reserved for AMF-OS itself"},
	{"NATS_", "the NATS_ names are reserved for connection settings"},
}

// refusedSuffix maps a name ending to why every variable it ends is
// refused: the conventions tools follow for their hooks (SYSTEMD_PAGER,
// SVN_EDITOR, SUDO_ASKPASS, CVS_RSH, MAVEN_OPTS, CFLAGS' -fplugin=…),
// so tools not named above are covered too.
var refusedSuffix = []struct{ suffix, why string }{
	{"_PROXY", "it sends a program's network traffic through a proxy it names (http_proxy, no_proxy and the like, in any case)"},
	{"PAGER", "programs run the pager it names"},
	{"EDITOR", "programs run the editor it names"},
	{"ASKPASS", "programs run it to ask for a password"},
	{"_RSH", "programs run it to reach another host"},
	{"_OPTIONS", "a tool takes command-line options from it"},
	{"_OPTS", "a tool takes command-line options from it"},
	{"_OPT", "a tool takes command-line options from it"},
	{"FLAGS", "a build tool takes flags from it (-fplugin=, -toolexec= and the like run code)"},
}

// ValidateEnv checks a task's environment: portable names, none that
// changes how the shell or the loader behave, bounded sizes. The error
// wraps ErrInvalidTask and names the first offending variable in name
// order, so the same task always gets the same answer.
func ValidateEnv(env map[string]string) error {
	if len(env) > MaxEnvVars {
		return fmt.Errorf("%w: env sets %d variables, the limit is %d", ErrInvalidTask, len(env), MaxEnvVars)
	}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	total := 0
	for _, k := range names {
		v := env[k]
		if err := checkEnvName(k); err != nil {
			return err
		}
		if len(v) > MaxEnvValueBytes {
			return fmt.Errorf("%w: env %s is %d bytes, the limit is %d", ErrInvalidTask, k, len(v), MaxEnvValueBytes)
		}
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("%w: env %s contains a NUL byte, which no environment can hold", ErrInvalidTask, k)
		}
		total += len(k) + len(v)
	}
	if total > MaxEnvBytes {
		return fmt.Errorf("%w: env holds %d bytes, the limit is %d", ErrInvalidTask, total, MaxEnvBytes)
	}
	return nil
}

func checkEnvName(k string) error {
	if len(k) > MaxEnvNameBytes {
		return fmt.Errorf("%w: env name %.32q… is longer than %d bytes", ErrInvalidTask, k, MaxEnvNameBytes)
	}
	// Tools disagree on case (curl and wget read http_proxy, npm reads
	// npm_config_*), so names are compared upper-cased: a lower-case
	// spelling is refused too.
	up := strings.ToUpper(k)
	if why, ok := refusedEnv[up]; ok {
		return fmt.Errorf("%w: env %s is refused: %s", ErrInvalidTask, k, why)
	}
	for _, p := range refusedPrefix {
		if strings.HasPrefix(up, p.prefix) {
			return fmt.Errorf("%w: env %q is refused: %s", ErrInvalidTask, k, p.why)
		}
	}
	for _, s := range refusedSuffix {
		if strings.HasSuffix(up, s.suffix) {
			return fmt.Errorf("%w: env %q is refused: %s", ErrInvalidTask, k, s.why)
		}
	}
	if up == "SOCKS5_SERVER" || up == "SOCKS_SERVER" {
		return fmt.Errorf("%w: env %q is refused: it sends a program's network traffic through the proxy it names", ErrInvalidTask, k)
	}
	if !envNameRE.MatchString(k) {
		return fmt.Errorf("%w: env name %q is not a portable name: letters, digits and '_', not starting with a digit", ErrInvalidTask, k)
	}
	return nil
}

// RefusedEnvNames lists every refused name, prefix and suffix, for
// documentation and tests; RefusedEnvPrefixes tells the prefixes apart.
func RefusedEnvNames() []string {
	out := make([]string, 0, len(refusedEnv)+len(refusedPrefix)+len(refusedSuffix))
	for k := range refusedEnv {
		out = append(out, k)
	}
	for _, p := range refusedPrefix {
		out = append(out, p.prefix)
	}
	for _, s := range refusedSuffix {
		out = append(out, s.suffix)
	}
	sort.Strings(out)
	return out
}

// RefusedEnvPrefixes lists every refused name prefix.
func RefusedEnvPrefixes() []string {
	out := make([]string, 0, len(refusedPrefix))
	for _, p := range refusedPrefix {
		out = append(out, p.prefix)
	}
	return out
}
