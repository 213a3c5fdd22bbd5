package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
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
			n.flags = leafFlags(c)
		}
		out = append(out, n)
		for _, s := range c.subs {
			walk(path+" "+s.name, s)
		}
	}
	for _, c := range sortedCommands() {
		walk(" "+c.name, c)
	}
	return out
}

var probeMu sync.Mutex

// leafFlags runs a leaf with the probe set; it returns at its parse.
func leafFlags(c command) []string {
	var names []string
	flagProbe = func(fs *flag.FlagSet) {
		fs.VisitAll(func(fl *flag.Flag) {
			dash := "--"
			if len(fl.Name) == 1 {
				dash = "-"
			}
			names = append(names, dash+fl.Name)
		})
	}
	defer func() { flagProbe = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // nothing a leaf starts may run
	if err := c.run(ctx, nil); err != nil && !errors.Is(err, errProbed) {
		return []string{"--help"}
	}
	slices.Sort(names)
	return append(names, "--help")
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
	switch shell {
	case "bash":
		b.WriteString("# bash completion for amf\n_amf() {\n\tlocal cur=${COMP_WORDS[COMP_CWORD]} node='' w i words\n")
		b.WriteString("\tfor ((i = 1; i < COMP_CWORD; i++)); do\n\t\tw=${COMP_WORDS[i]}\n\t\t[[ $w == -* ]] && continue\n\t\tcase \"$node $w\" in\n")
		fmt.Fprintf(&b, "\t\t%s) node=\"$node $w\" ;;\n\t\t*) break ;;\n\t\tesac\n\tdone\n", shQuoteAlts(paths))
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
