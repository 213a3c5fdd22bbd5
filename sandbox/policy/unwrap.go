package policy

import "strings"

// optionArgs lists, per wrapper, the options that take a separate value,
// so the wrapped command is found after them.
var optionArgs = map[string]map[string]bool{
	"env":      set("-u", "--unset", "-C", "--chdir"),
	"exec":     set("-a"),
	"nice":     set("-n", "--adjustment"),
	"time":     set("-f", "--format", "-o", "--output"),
	"timeout":  set("-s", "--signal", "-k", "--kill-after"),
	"stdbuf":   set("-i", "-o", "-e"),
	"ionice":   set("-c", "-n", "--class", "--classdata"),
	"xargs":    set("-I", "-n", "-L", "-P", "-d", "-E", "-s", "-a", "--arg-file", "--delimiter", "--max-args", "--max-procs", "--max-lines", "--replace"),
	"flock":    set("-w", "--timeout", "-E", "--conflict-exit-code"),
	"strace":   set("-o", "-e", "-p", "-s", "-E", "-u", "-P", "-I", "-b", "-a", "-X"),
	"ltrace":   set("-o", "-e", "-p", "-s", "-u", "-n", "-a"),
	"watch":    set("-n", "--interval", "-d"),
	"sshpass":  set("-p", "-f", "-d", "-P"),
	"cgexec":   set("-g"),
	"chrt":     set(),
	"taskset":  set(),
	"numactl":  set("-C", "-N", "-m", "-i", "-p"),
	"prlimit":  set("-p", "--pid"),
	"sudo":     set("-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"),
	"doas":     set("-u", "-C"),
	"su":       set("-c", "-s", "-g", "-G", "--command", "--shell"),
	"runuser":  set("-u", "-g", "-G", "-c", "-s", "--command"),
	"script":   set("-c", "--command", "-E", "-t", "-T", "-I", "-O", "-B", "-m"),
	"setpriv":  set("--reuid", "--regid", "--groups", "--inh-caps", "--bounding-set"),
	"busybox":  set(),
	"toybox":   set(),
	"unbuffer": set(),
}

// positionalBefore counts the plain arguments a wrapper takes before the
// command it runs (timeout DURATION cmd, flock FILE cmd, chroot DIR cmd).
var positionalBefore = map[string]int{
	"timeout": 1, "flock": 1, "chrt": 1, "taskset": 1, "chroot": 1,
	"faketime": 1, "sg": 1, "setarch": 1, "logsave": 1,
}

// unwrap returns the command a wrapper runs, or the shell text it runs
// (watch 'cmd', flock -c 'cmd', env -S 'cmd', script -c 'cmd', su -c).
// ok is false when the wrapper runs nothing (command -v, exec with only
// redirections).
func unwrap(base string, args []word) (inner []word, script *word, ok bool) {
	if base == "command" || base == "type" || base == "hash" {
		for _, a := range args {
			if a.text == "-v" || a.text == "-V" {
				return nil, nil, false
			}
		}
	}
	withValue := optionArgs[base]
	positional := positionalBefore[base]
	i := 0
	for ; i < len(args); i++ {
		t := args[i].text
		if t == "--" {
			i++
			break
		}
		switch {
		case base == "env" && envSplit(t):
			// env -S 'NAME=v cmd args': the split words are env's own.
			// Each split shortens the text or the words, so this ends;
			// -S with nothing to split (env -S) runs nothing.
			split := expandEnvSplit(args[i:])
			if sameTexts(split, args[i:]) {
				return nil, nil, false
			}
			return unwrap(base, split)
		case (t == "-c" || t == "--command") && (base == "flock" || base == "su" || base == "runuser" || base == "script") && i+1 < len(args):
			w := args[i+1]
			return nil, &w, true
		case (strings.HasPrefix(t, "--command=") || strings.HasPrefix(t, "-c") && len(t) > 2 && t[1] == 'c') && (base == "flock" || base == "su" || base == "runuser" || base == "script"):
			// The text glued to its option: -c'cmd', --command=cmd.
			w := args[i]
			w.text = strings.TrimPrefix(strings.TrimPrefix(t, "--command="), "-c")
			return nil, &w, true
		case base == "env" && !strings.HasPrefix(t, "-") && strings.Contains(t, "="):
			continue
		case strings.HasPrefix(t, "-") && len(t) > 1:
			if withValue[t] {
				i++
			}
			if base == "nice" && len(t) > 1 && t[1] >= '0' && t[1] <= '9' {
				continue
			}
			continue
		case strings.HasPrefix(t, "+") && base == "watch":
			continue
		}
		if positional > 0 {
			positional--
			continue
		}
		break
	}
	if i >= len(args) {
		return nil, nil, false
	}
	rest := args[i:]
	if base == "watch" {
		var b strings.Builder
		w := word{static: true, node: rest[0].node}
		for j, a := range rest {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(a.text)
			w.static = w.static && a.static
			w.subst = w.subst || a.subst
		}
		w.text = b.String()
		return nil, &w, true
	}
	if base == "xargs" {
		if repl := xargsRepl(args[:i]); repl != "" {
			rest = placeholders(rest, repl)
		}
	}
	if base == "parallel" {
		for j, a := range rest {
			if a.text == ":::" || a.text == "::::" {
				rest = rest[:j]
				break
			}
		}
	}
	return rest, nil, true
}

// sameTexts reports two word lists with the same texts.
func sameTexts(a, b []word) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].text != b[i].text {
			return false
		}
	}
	return true
}

// envSplit recognises env's -S option in every spelling.
func envSplit(t string) bool {
	if strings.HasPrefix(t, "--split-string") {
		return true
	}
	return strings.HasPrefix(t, "-") && !strings.HasPrefix(t, "--") && strings.Contains(t, "S")
}

// envSplitValue returns the text joined to -S (-S'cmd', -vScmd,
// --split-string=cmd), or "" when it is the next argument.
func envSplitValue(t string) string {
	if v, ok := strings.CutPrefix(t, "--split-string="); ok {
		return v
	}
	if strings.HasPrefix(t, "--") {
		return ""
	}
	return t[strings.IndexByte(t, 'S')+1:]
}

// expandEnvSplit replaces env's -S option (-S 'cmd args', -S'cmd',
// -vS cmd, --split-string=cmd) with the words it splits into, which env
// then reads as its own arguments (assignments, then the command).
func expandEnvSplit(args []word) []word {
	for i, a := range args {
		if a.text == "--" || !strings.HasPrefix(a.text, "-") && !strings.Contains(a.text, "=") {
			return args
		}
		if !envSplit(a.text) {
			continue
		}
		split := a
		split.text = envSplitValue(a.text)
		next := i + 1
		if split.text == "" {
			if i+1 >= len(args) {
				return args
			}
			split, next = args[i+1], i+2
		}
		out := append([]word(nil), args[:i]...)
		for _, f := range strings.Fields(split.text) {
			out = append(out, word{text: f, static: split.static, subst: split.subst, node: split.node})
		}
		return append(out, args[next:]...)
	}
	return args
}
