package policy

import "strings"

// gitValueOptions are git's own options, before its subcommand, that
// take the next word as their value (git -C dir, -c key=value).
var gitValueOptions = set("-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env", "--super-prefix", "--list-cmds")

// gitSubcommand is args from git's subcommand on, past git's own
// options: git -c http.sslVerify=true clone URL clones.
func gitSubcommand(args []word) []word {
	for i := 0; i < len(args); i++ {
		t := args[i].text
		switch {
		case gitValueOptions[t]:
			i++
		case strings.HasPrefix(t, "-"):
		default:
			return args[i:]
		}
	}
	return nil
}

// gitSubHooks judges what git's subcommands run as commands: rebase
// --exec, difftool --extcmd, grep -O (the pager), submodule foreach,
// bisect run, filter-branch's filters, and an ext:: transport, whose
// URL is a command.
func (c *checker) gitSubHooks(sub []word) *Refusal {
	for _, a := range sub {
		if rest, ok := strings.CutPrefix(a.text, "ext::"); ok {
			if r := c.hookScript("git ext::", a, strings.ReplaceAll(rest, "% ", " ")); r != nil {
				return r
			}
		}
	}
	if len(sub) == 0 {
		return nil
	}
	name, args := sub[0].text, sub[1:]
	switch name {
	case "rebase":
		return c.optionScripts("git rebase", args, "--exec", "-x")
	case "difftool", "mergetool":
		return c.optionScripts("git "+name, args, "--extcmd", "-x")
	case "grep":
		for _, a := range args {
			v, ok := strings.CutPrefix(a.text, "-O")
			if !ok {
				v, ok = strings.CutPrefix(a.text, "--open-files-in-pager=")
			}
			if ok && v != "" {
				if r := c.hookScript("git grep -O", a, v); r != nil {
					return r
				}
			}
		}
	case "submodule":
		for i, a := range args {
			if a.text != "foreach" {
				continue
			}
			rest := args[i+1:]
			for len(rest) > 0 && strings.HasPrefix(rest[0].text, "-") {
				rest = rest[1:]
			}
			for _, w := range rest {
				if r := c.hookScript("git submodule foreach", w, w.text); r != nil {
					return r
				}
			}
			return nil
		}
	case "bisect":
		if len(args) > 1 && args[0].text == "run" {
			return c.argv(args[1:])
		}
	case "filter-branch":
		for i, a := range args {
			if strings.HasSuffix(a.text, "-filter") && strings.HasPrefix(a.text, "--") && i+1 < len(args) {
				if r := c.hookScript("git filter-branch "+a.text, args[i+1], args[i+1].text); r != nil {
					return r
				}
			}
		}
	}
	return nil
}
