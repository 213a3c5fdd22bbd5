package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// errUsage reports a flag error that flag.FlagSet has already printed.
var errUsage = errors.New("usage")

// flags wraps a FlagSet whose every flag may take its default from an
// environment variable; a flag given on the command line wins.
type flags struct {
	*flag.FlagSet
}

func newFlags(name, synopsis string) flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: amf %s\n\nFlags (environment twin in brackets; flags win):\n", synopsis)
		fs.PrintDefaults()
	}
	return flags{fs}
}

// parse parses args; --help prints usage and returns errHelp as nil exit.
func (f flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitError{0}
		}
		return errUsage
	}
	return nil
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
