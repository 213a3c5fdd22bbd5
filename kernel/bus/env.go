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
}

// refusedPrefix maps a name prefix to why every variable it starts is
// refused.
var refusedPrefix = []struct{ prefix, why string }{
	{"BASH_FUNC_", "bash imports it as a function that can replace any command"},
	{"LD_", "the dynamic loader reads it (ld.so(8)): preloads, audit modules, library paths"},
	{"MALLOC_", "the C library's allocator reads it"},
	{"GIT_", "git runs programs and reads configuration from its variables"},
	{"AMF_", "the AMF_ names are reserved for AMF-OS itself"},
	{"NATS_", "the NATS_ names are reserved for connection settings"},
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
	if why, ok := refusedEnv[k]; ok {
		return fmt.Errorf("%w: env %s is refused: %s", ErrInvalidTask, k, why)
	}
	for _, p := range refusedPrefix {
		if strings.HasPrefix(k, p.prefix) {
			return fmt.Errorf("%w: env %q is refused: %s", ErrInvalidTask, k, p.why)
		}
	}
	if !envNameRE.MatchString(k) {
		return fmt.Errorf("%w: env name %q is not a portable name: letters, digits and '_', not starting with a digit", ErrInvalidTask, k)
	}
	return nil
}

// RefusedEnvNames lists every refused name and prefix (prefixes end in
// '_'), for documentation and tests.
func RefusedEnvNames() []string {
	out := make([]string, 0, len(refusedEnv)+len(refusedPrefix))
	for k := range refusedEnv {
		out = append(out, k)
	}
	for _, p := range refusedPrefix {
		out = append(out, p.prefix)
	}
	sort.Strings(out)
	return out
}
