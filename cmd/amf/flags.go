package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// errUsage reports a flag error that flag.FlagSet has already printed.
var errUsage = errors.New("usage")

// flags wraps a FlagSet whose every flag may take its default from an
// environment variable; a flag given on the command line wins. Flags may
// come before, between or after the positional arguments; -- ends them.
type flags struct {
	*flag.FlagSet
	// metas are placeholders set for this command's flags (-o FORMAT);
	// others come from defaultMetas or the flag's type.
	metas map[string]string
	// hidden flags still parse but are left out of usage and
	// completion: deprecated spellings (--json for -o json).
	hidden map[string]bool
}

func newFlags(name, synopsis string) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f := flags{FlagSet: fs, metas: map[string]string{}, hidden: map[string]bool{}}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: amf %s\n\nFlags (environment twin in brackets; flags win; -- ends the flags):\n", synopsis)
		f.printDefaults(fs.Output())
	}
	return f
}

// parse parses args, flags and positional arguments in any order, so
// `amf run "x" --no-answer` is an instruction and a flag; the words after
// -- are positional whatever they look like. --help prints usage and is a
// nil exit (code 0).
func (f flags) parse(args []string) error {
	if probe := flagProbe; probe != nil {
		probe(f)
		return errProbed
	}
	if asksHelp(args) {
		f.SetOutput(os.Stdout) // asked for: it is the output, not an error
	}
	var positional []string
	rest := args
	for {
		if err := f.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitError{0}
			}
			if strings.Contains(err.Error(), "flag provided but not defined") {
				fmt.Fprintln(f.Output(), "(a word that starts with - and is not a flag goes after --: amf … -- -word)")
			}
			return errUsage
		}
		left := f.Args()
		used := len(rest) - len(left)
		if used > 0 && rest[used-1] == "--" {
			positional = append(positional, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		positional = append(positional, left[0])
		rest = left[1:]
	}
	// Parsing "--" first sets Args to exactly the positional words
	// without touching a flag's value.
	return f.Parse(append([]string{"--"}, positional...))
}

// flagProbe, when set, receives a command's flags instead of parsing
// them: completion learns every command's flags by running it with the
// probe set, so flags are declared once, where they are used.
var flagProbe func(flags)

// errProbed ends a command run under flagProbe before it does anything.
var errProbed = errors.New("flags probed")

// asksHelp reports whether a help flag comes before any --.
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--h", "--help":
			return true
		}
	}
	return false
}

// hide keeps a flag out of usage and completion.
func (f flags) hide(name string) { f.hidden[name] = true }

// meta names the placeholder a flag's value is shown as in usage.
func (f flags) meta(name, placeholder string) { f.metas[name] = placeholder }

// defaultMetas are the placeholders of flags many commands share.
var defaultMetas = map[string]string{
	"o": "FILE", "nats": "URL", "creds": "FILE", "tls-ca": "FILE", "tls-cert": "FILE", "tls-key": "FILE",
	"state-dir": "DIR", "pool": "POOL", "policy": "PROFILE", "profile": "PROFILE", "profiles": "FILE",
	"ollama": "URL", "session": "NAME", "id": "ID", "name": "NAME", "log-level": "LEVEL", "cmd": "COMMAND",
	"workspace": "NAME=PATH", "grant": "PROFILES", "prefix": "PREFIX", "model": "MODEL", "embed-model": "MODEL",
	"chat-model": "MODEL", "auth-dir": "DIR", "http": "ADDR", "listen": "ADDR", "leaf-listen": "ADDR",
	"metrics": "ADDR", "redis": "URL", "config": "FILE", "remote": "URLS", "updates": "FILE",
	"account-jwt": "FILE", "server-name": "NAME", "scope": "SCOPES", "learned": "INSTRUCTION",
	"query": "INSTRUCTION", "command": "COMMAND", "cors-origins": "ORIGINS", "metrics-auth": "SCOPE",
	"microvm-accel": "kvm|tcg|auto", "model-options": "JSON", "prompt": "FILE", "sandbox": "namespace|microvm|host",
	"sync": "POLICY", "metrics-listen": "ADDR", "mask": "PATHS", "writable": "DIRS", "work-dir": "DIR",
	"timeout": "DURATION", "context": "FILE",
}

// placeholder is how a flag's value is shown: its meta, else from its
// type. The flag package would take any `quoted` word in the help text
// instead, which reads as nonsense (-creds amf up).
func (f flags) placeholder(fl *flag.Flag) string {
	if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return ""
	}
	if m, ok := f.metas[fl.Name]; ok {
		return m
	}
	if m, ok := defaultMetas[fl.Name]; ok {
		return m
	}
	bare := *fl
	bare.Usage = ""
	switch kind, _ := flag.UnquoteUsage(&bare); kind {
	case "int", "uint", "int64", "uint64":
		return "N"
	case "duration":
		return "DURATION"
	case "float":
		return "NUMBER"
	}
	return strings.ToUpper(fl.Name)
}

// printDefaults lists the flags as --name PLACEHOLDER, then the help
// text and a default that is not the zero value.
func (f flags) printDefaults(w io.Writer) {
	f.VisitAll(func(fl *flag.Flag) {
		if f.hidden[fl.Name] {
			return
		}
		dash := "--"
		if len(fl.Name) == 1 {
			dash = "-"
		}
		line := "  " + dash + fl.Name
		if ph := f.placeholder(fl); ph != "" {
			line += " " + ph
		}
		fmt.Fprintf(w, "%s\n      %s", line, strings.ReplaceAll(fl.Usage, "\n", "\n      "))
		switch fl.DefValue {
		case "", "0", "false", "0s", "[]":
		default:
			fmt.Fprintf(w, " (default %q)", fl.DefValue)
		}
		fmt.Fprintln(w)
	})
}

func envOr(env, def string) string {
	if v, ok := os.LookupEnv(env); ok && v != "" {
		return v
	}
	return def
}

func (f flags) str(p *string, name, env, def, usage string) {
	f.StringVar(p, name, envOr(env, def), envUsage(usage, env))
}

func (f flags) int(p *int, name, env string, def int, usage string) {
	v := def
	if s := envOr(env, ""); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			v = n
		} else {
			warnEnv(env, s, "a whole number")
		}
	}
	f.IntVar(p, name, v, envUsage(usage, env))
}

func (f flags) duration(p *time.Duration, name, env string, def time.Duration, usage string) {
	v := def
	if s := envOr(env, ""); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			v = d
		} else {
			warnEnv(env, s, "a duration such as 30s")
		}
	}
	f.DurationVar(p, name, v, envUsage(usage, env))
}

func (f flags) bool(p *bool, name, env string, def bool, usage string) {
	v := def
	if s := envOr(env, ""); s != "" {
		if b, err := strconv.ParseBool(s); err == nil {
			v = b
		} else {
			warnEnv(env, s, "true or false")
		}
	}
	f.BoolVar(p, name, v, envUsage(usage, env))
}

// envWarnings receives the warning for an environment value that does
// not parse; the flag then keeps its default.
var envWarnings io.Writer = os.Stderr

func warnEnv(env, value, want string) {
	fmt.Fprintf(envWarnings, "amf: ignoring %s=%q: not %s\n", env, value, want)
}

func envUsage(usage, env string) string {
	if env == "" {
		return usage
	}
	return usage + " [" + env + "]"
}
