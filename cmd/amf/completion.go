package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/amf-os/amf/sandbox/policy"
)

func init() {
	register(command{name: "completion", summary: "print a shell completion script: amf completion bash|zsh|fish",
		run: runCompletion, words: []string{"bash", "zsh", "fish"}})
}

const completionUsage = `completion bash|zsh|fish

  bash:  source <(amf completion bash)        (or save it in /etc/bash_completion.d/amf)
  zsh:   source <(amf completion zsh)         (after compinit; or save it as _amf in $fpath)
  fish:  amf completion fish > ~/.config/fish/completions/amf.fish`

func runCompletion(_ context.Context, args []string) error {
	f := newFlags("completion", completionUsage)
	if err := f.parse(args); err != nil {
		return err
	}
	if f.NArg() != 1 {
		return fmt.Errorf("say which shell: amf completion bash|zsh|fish: %w", errUsage)
	}
	script, err := completionScript(f.Arg(0))
	if err != nil {
		return err
	}
	fmt.Print(script)
	return nil
}

// node is one place in the command tree, as completion sees it: the
// words that may follow it (subcommands, or a leaf's words) and its flags.
type node struct {
	path  string // " auth token": each word after a space
	words []string
	descs []string
	flags []string
	// values are the words a flag's value may be (-o json|wide, the
	// built-in profiles of --policy).
	values map[string][]string
}

// completionTree walks the command tree; a leaf's flags are learned by
// running it under flagProbe, so each flag is declared once.
func completionTree() []node {
	probeMu.Lock()
	defer probeMu.Unlock()
	var out []node
	top := node{}
	for _, c := range sortedCommands() {
		top.words = append(top.words, c.name)
		top.descs = append(top.descs, c.summary)
	}
	top.flags = []string{"--help"}
	out = append(out, top)
	var walk func(path string, c command)
	walk = func(path string, c command) {
		n := node{path: path, flags: []string{"--help"}}
		for _, s := range c.subs {
			n.words = append(n.words, s.name)
			n.descs = append(n.descs, s.summary)
		}
		if len(c.subs) == 0 {
			n.words = c.words
			n.descs = make([]string, len(c.words))
			n.flags, n.values = leafFlags(c)
		}
		out = append(out, n)
		for _, s := range c.subs {
			walk(path+" "+s.name, s)
			for _, a := range s.aliases {
				walk(path+" "+a, s)
			}
		}
	}
	for _, c := range sortedCommands() {
		walk(" "+c.name, c)
	}
	return out
}

var probeMu sync.Mutex

// leafFlags runs a leaf with the probe set; it returns at its parse.
func leafFlags(c command) (names []string, values map[string][]string) {
	values = map[string][]string{}
	flagProbe = func(f flags) {
		f.VisitAll(func(fl *flag.Flag) {
			if f.hidden[fl.Name] {
				return
			}
			dash := "--"
			if len(fl.Name) == 1 {
				dash = "-"
			}
			names = append(names, dash+fl.Name)
			if v := flagValues(f, fl); len(v) > 0 {
				values[dash+fl.Name] = v
			}
		})
	}
	defer func() { flagProbe = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing a leaf starts may run
	if err := c.run(ctx, nil); err != nil && !errors.Is(err, errProbed) {
		return []string{"--help"}, nil
	}
	slices.Sort(names)
	return append(names, "--help"), values
}

// flagValues are the words completion offers for a flag's value: the
// choices its placeholder lists, or the built-in profiles.
func flagValues(f flags, fl *flag.Flag) []string {
	// --workspace NAME=PATH declares one; only a flag naming one completes.
	if what, ok := liveValues[fl.Name]; ok && f.placeholder(fl) != "NAME=PATH" {
		return []string{"@" + what} // asked of the kernel as the user types
	}
	switch fl.Name {
	case "policy", "profile":
		if p, err := policy.LoadPolicy(""); err == nil {
			return p.Names()
		}
	}
	if ph := f.placeholder(fl); strings.Contains(ph, "|") {
		return strings.Split(ph, "|")
	}
	return nil
}

// valueCases are the (path, flag) pairs whose value completes from a
// list, as case patterns "path|flag".
func valueCases(tree []node) (keys []string, vals [][]string) {
	for _, n := range tree {
		fs := make([]string, 0, len(n.values))
		for f := range n.values {
			fs = append(fs, f)
		}
		slices.Sort(fs)
		for _, f := range fs {
			keys = append(keys, n.path+"|"+f)
			vals = append(vals, n.values[f])
		}
	}
	return keys, vals
}

// completionScript completes commands, subcommands at any depth, and
// the flags of whatever command the words so far name.
func completionScript(shell string) (string, error) {
	tree := completionTree()
	var b strings.Builder
	// The known paths: a word extends the path only when path+word is
	// one; any other word (a flag's value, an argument) stops descent.
	var paths []string
	for _, n := range tree[1:] {
		paths = append(paths, n.path)
	}
	vkeys, vvals := valueCases(tree)
	switch shell {
	case "bash":
		b.WriteString("# bash completion for amf\n_amf() {\n\tlocal cur=${COMP_WORDS[COMP_CWORD]} node='' w i words\n")
		b.WriteString("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n\t\tw=${COMP_WORDS[i]}\n\t\t[[ $w == -* ]] && continue\n\t\tcase \"$node $w\" in\n")
		fmt.Fprintf(&b, "\t\t%s) node=\"$node $w\" ;;\n\t\t*) break ;;\n\t\tesac\n\tdone\n", shQuoteAlts(paths))
		b.WriteString("\tcase \"$node|${COMP_WORDS[COMP_CWORD-1]}\" in\n")
		for i, k := range vkeys {
			words := shQuote(strings.Join(vvals[i], " "))
			if live, ok := strings.CutPrefix(vvals[i][0], "@"); ok {
				words = `"$(amf complete ` + live + ` 2>/dev/null)"`
			}
			fmt.Fprintf(&b, "\t%s) COMPREPLY=($(compgen -W %s -- \"$cur\")); return ;;\n", shQuote(k), words)
		}
		b.WriteString("\tesac\n")
		b.WriteString("\tif [[ $cur == -* ]]; then\n\t\tcase $node in\n")
		for _, n := range tree {
			fmt.Fprintf(&b, "\t\t%s) words=%s ;;\n", shQuote(n.path), shQuote(strings.Join(n.flags, " ")))
		}
		b.WriteString("\t\tesac\n\telse\n\t\tcase $node in\n")
		for _, n := range tree {
			if len(n.words) > 0 {
				fmt.Fprintf(&b, "\t\t%s) words=%s ;;\n", shQuote(n.path), shQuote(strings.Join(n.words, " ")))
			}
		}
		b.WriteString("\t\tesac\n\tfi\n\t[[ -n $words ]] && COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n}\ncomplete -o default -F _amf amf\n")
	case "zsh":
		b.WriteString("#compdef amf\n# zsh completion for amf\n_amf() {\n\tlocal cur=${words[CURRENT]} node='' w i cands=''\n")
		b.WriteString("\tfor ((i = 2; i < CURRENT; i++)); do\n\t\tw=${words[i]}\n\t\t[[ $w == -* ]] && continue\n\t\tcase \"$node $w\" in\n")
		fmt.Fprintf(&b, "\t\t%s) node=\"$node $w\" ;;\n\t\t*) break ;;\n\t\tesac\n\tdone\n", shQuoteAlts(paths))
		b.WriteString("\tcase \"$node|${words[CURRENT-1]}\" in\n")
		for i, k := range vkeys {
			words := strings.Join(vvals[i], " ")
			if live, ok := strings.CutPrefix(vvals[i][0], "@"); ok {
				words = `${(f)"$(amf complete ` + live + ` 2>/dev/null)"}`
			}
			fmt.Fprintf(&b, "\t%s) compadd -- %s; return ;;\n", shQuote(k), words)
		}
		b.WriteString("\tesac\n")
		b.WriteString("\tif [[ $cur == -* ]]; then\n\t\tcase $node in\n")
		for _, n := range tree {
			fmt.Fprintf(&b, "\t\t%s) cands=%s ;;\n", shQuote(n.path), shQuote(strings.Join(n.flags, " ")))
		}
		b.WriteString("\t\tesac\n\telse\n\t\tcase $node in\n")
		for _, n := range tree {
			if len(n.words) > 0 {
				fmt.Fprintf(&b, "\t\t%s) cands=%s ;;\n", shQuote(n.path), shQuote(strings.Join(n.words, " ")))
			}
		}
		b.WriteString("\t\tesac\n\tfi\n\tif [[ -n $cands ]]; then compadd -- ${=cands}; else _files; fi\n}\n")
		b.WriteString("if [[ $funcstack[1] == _amf ]]; then _amf \"$@\"; else compdef _amf amf; fi\n")
	case "fish":
		b.WriteString("# fish completion for amf\nfunction __amf_complete\n\tset -l cur (commandline -ct)\n\tset -l node ''\n")
		b.WriteString("\tfor w in (commandline -opc)[2..-1]\n\t\tstring match -q -- '-*' $w; and continue\n\t\tswitch \"$node $w\"\n")
		fmt.Fprintf(&b, "\t\t\tcase %s\n\t\t\t\tset node \"$node $w\"\n\t\t\tcase '*'\n\t\t\t\tbreak\n\t\tend\n\tend\n", fishQuoteAll(paths))
		b.WriteString("\tswitch \"$node|\"(commandline -opc)[-1]\n")
		for i, k := range vkeys {
			if live, ok := strings.CutPrefix(vvals[i][0], "@"); ok {
				fmt.Fprintf(&b, "\t\tcase %s\n\t\t\tamf complete %s 2>/dev/null\n\t\t\treturn\n", fishQuote(k), live)
				continue
			}
			fmt.Fprintf(&b, "\t\tcase %s\n\t\t\tprintf '%%s\\n' %s\n\t\t\treturn\n", fishQuote(k), fishQuoteAll(vvals[i]))
		}
		b.WriteString("\tend\n")
		b.WriteString("\tif string match -q -- '-*' $cur\n\t\tswitch $node\n")
		for _, n := range tree {
			fmt.Fprintf(&b, "\t\t\tcase %s\n\t\t\t\tprintf '%%s\\n' %s\n", fishQuote(n.path), fishQuoteAll(n.flags))
		}
		b.WriteString("\t\tend\n\telse\n\t\tswitch $node\n")
		for _, n := range tree {
			if len(n.words) == 0 {
				continue
			}
			lines := make([]string, len(n.words))
			for i, w := range n.words {
				lines[i] = w + "\t" + n.descs[i]
			}
			fmt.Fprintf(&b, "\t\t\tcase %s\n\t\t\t\tprintf '%%s\\n' %s\n", fishQuote(n.path), fishQuoteAll(lines))
		}
		b.WriteString("\t\tend\n\tend\nend\ncomplete -c amf -f -a '(__amf_complete)'\n")
	default:
		return "", fmt.Errorf("no completion for shell %q: use bash, zsh or fish", shell)
	}
	return b.String(), nil
}

// shQuote quotes s for bash and zsh: single quotes, each quote inside closed, escaped and reopened.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// shQuoteAlts is a case pattern matching any of ss exactly.
func shQuoteAlts(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = shQuote(s)
	}
	return strings.Join(q, "|")
}

// fishQuote quotes s for fish: single quotes, with \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func fishQuoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fishQuote(s)
	}
	return strings.Join(q, " ")
}
