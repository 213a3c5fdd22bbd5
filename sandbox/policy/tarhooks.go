package policy

import "strings"

// tarHookLong are GNU tar's long options whose value is a command tar
// runs. GNU getopt takes any unambiguous prefix of a long option, so
// --to-com=CMD is --to-command=CMD: a written option counts as a hook
// when it is a prefix of one of these.
var tarHookLong = []string{"--to-command", "--use-compress-program", "--rsh-command", "--info-script", "--new-volume-script", "--checkpoint-action"}

// tarArgLong are common GNU tar long options that take their value as
// the next word: that word is a value, not an option.
var tarArgLong = []string{"--file", "--directory", "--exclude", "--exclude-from", "--files-from", "--transform", "--xform",
	"--owner", "--group", "--mode", "--mtime", "--newer", "--newer-mtime", "--after-date", "--label", "--format",
	"--blocking-factor", "--record-size", "--suffix", "--listed-incremental", "--strip-components", "--sort",
	"--index-file", "--add-file", "--tape-length", "--volno-file", "--starting-file", "--occurrence", "--warning"}

// tarArgLetters are the short options of GNU tar that take an argument:
// in a cluster such as -cIgzip the rest of the cluster, or else the next
// word, is the argument. I and F name commands.
const tarArgLetters = "bCfFgHIKLNTVX"

// tarHooks checks every command tar is told to run, however the option
// is spelled: --opt=CMD, --opt CMD, an abbreviated --opt, -I CMD, a
// cluster -cfICMD, or the old-style first word (tar cfI out.tgz CMD).
func (c *checker) tarHooks(base string, args []word) *Refusal {
	if c.p.Has(RuleLocalFile) && tarExtractsAbsolute(args) {
		return refuse(RuleLocalFile, "%s -P extracts members by their absolute names, which the archive decides (a member renamed by --transform, or one made elsewhere, lands anywhere); extract without -P, into the work dir", base)
	}
	var pending []byte // old-style letters still waiting for their word
	for i := 0; i < len(args); i++ {
		a := args[i]
		t := a.text
		next := func() (word, bool) {
			if i+1 < len(args) {
				i++
				return args[i], true
			}
			return word{}, false
		}
		switch {
		case len(pending) > 0:
			l := pending[0]
			pending = pending[1:]
			if l == 'I' || l == 'F' {
				if r := c.hookScript(base+" "+string(l), a, t); r != nil {
					return r
				}
			}
		case i == 0 && !strings.HasPrefix(t, "-") && a.static:
			for j := 0; j < len(t); j++ {
				if strings.IndexByte(tarArgLetters, t[j]) >= 0 {
					pending = append(pending, t[j])
				}
			}
		case t == "--" && a.static:
			return nil // the rest are operands
		case t != "" && (!a.static || a.glob) && strings.ContainsAny(t[:1], "*?["):
			// GNU tar takes options anywhere: a glob can match a file
			// named --checkpoint-action=exec=CMD, and a value computed at
			// run time can spell one.
			if c.p.Has(RuleDynamic) {
				return refuse(RuleDynamic, "%s would take %q as an option if it expands to one (a file named --checkpoint-action=exec=… runs a command); put -- before such operands or start them with ./", base, t)
			}
		case strings.HasPrefix(t, "--") && len(t) > 2:
			name, val, hasVal := strings.Cut(t, "=")
			opt := tarLongHook(name)
			if opt == "" {
				if !hasVal && tarLongArg(name) {
					i++ // its value, whatever it expands to
				}
				continue
			}
			w := a
			if hasVal {
				w.text = val
			} else if w, hasVal = next(); !hasVal {
				continue
			}
			if r := c.tarHookValue(base, opt, w); r != nil {
				return r
			}
		case strings.HasPrefix(t, "-") && len(t) > 1:
			for j := 1; j < len(t); j++ {
				l := t[j]
				if strings.IndexByte(tarArgLetters, l) < 0 {
					continue
				}
				w := a
				if j+1 < len(t) {
					w.text = t[j+1:]
				} else if nw, ok := next(); ok {
					w = nw
				} else {
					break
				}
				if l == 'I' || l == 'F' {
					if r := c.hookScript(base+" -"+string(l), w, w.text); r != nil {
						return r
					}
				}
				break
			}
		}
	}
	return nil
}

// tarLongHook is the hook option a written long option name stands
// for, or "".
func tarLongHook(name string) string {
	if len(name) < 4 {
		return ""
	}
	for _, o := range tarHookLong {
		if strings.HasPrefix(o, name) {
			return o
		}
	}
	return ""
}

// tarLongArg says whether a written long option takes the next word as
// its value.
func tarLongArg(name string) bool {
	if len(name) < 4 {
		return false
	}
	for _, o := range tarArgLong {
		if strings.HasPrefix(o, name) {
			return true
		}
	}
	return false
}

// tarHookValue checks one hook option's value. Only the exec= action of
// --checkpoint-action runs a command; a value computed at run time could
// be exec=, so it is checked (and refused) as a dynamic command.
func (c *checker) tarHookValue(base, opt string, w word) *Refusal {
	if opt != "--checkpoint-action" {
		return c.hookScript(base+" "+opt, w, w.text)
	}
	if !w.static {
		return c.hookScript(base+" "+opt, w, w.text)
	}
	if cmd, ok := strings.CutPrefix(w.text, "exec="); ok {
		return c.hookScript(base+" "+opt+"=exec", w, cmd)
	}
	return nil
}

// tarExtractsAbsolute reports an extraction (x, --extract, --get) with
// absolute member names kept (P, --absolute-names), in any spelling:
// the old-style first word (tar xPf), a cluster (-xPf) or long options.
func tarExtractsAbsolute(args []word) bool {
	extract, absolute := false, false
	for i, a := range args {
		t := a.text
		switch {
		case t == "--":
			return extract && absolute
		case strings.HasPrefix(t, "--"):
			extract = extract || t == "--extract" || t == "--get"
			absolute = absolute || strings.HasPrefix("--absolute-names", t) && len(t) > 4
		case strings.HasPrefix(t, "-") || i == 0:
			letters := strings.TrimPrefix(t, "-")
			// A cluster's letters up to one that takes a value.
			if k := strings.IndexAny(letters, tarArgLetters); k >= 0 {
				letters = letters[:k+1]
			}
			extract = extract || strings.Contains(letters, "x")
			absolute = absolute || strings.Contains(letters, "P")
		}
	}
	return extract && absolute
}
