package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
)

func init() {
	register(command{name: "completion", summary: "print a shell completion script: amf completion bash|zsh|fish", run: runCompletion})
}

// subcommands are the words a command takes first, for completion.
var subcommands = map[string][]string{
	"memory":     {"search", "match", "ls", "confirm", "forget", "export", "import"},
	"completion": {"bash", "zsh", "fish"},
	"schedule":   {"add", "ls", "show", "pause", "resume", "rm"},
}

const completionUsage = `completion bash|zsh|fish

  bash:  source <(amf completion bash)        (or save it in /etc/bash_completion.d/amf)
  zsh:   source <(amf completion zsh)         (after compinit; or save it as _amf in $fpath)
  fish:  amf completion fish > ~/.config/fish/completions/amf.fish`

func runCompletion(_ context.Context, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(os.Stderr, "Usage: amf "+completionUsage)
		return nil
	}
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "Usage: amf "+completionUsage)
		return errUsage
	}
	script, err := completionScript(args[0])
	if err != nil {
		return err
	}
	fmt.Print(script)
	return nil
}

// completionScript completes the commands and their subcommands; flags
// are listed by each command's --help.
func completionScript(shell string) (string, error) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	slices.Sort(names)
	withSubs := make([]string, 0, len(subcommands))
	for n := range subcommands {
		withSubs = append(withSubs, n)
	}
	slices.Sort(withSubs)
	var b strings.Builder
	switch shell {
	case "bash":
		fmt.Fprintf(&b, "# bash completion for amf\n_amf() {\n\tlocal cur=${COMP_WORDS[COMP_CWORD]}\n")
		fmt.Fprintf(&b, "\tif [[ $COMP_CWORD -eq 1 ]]; then\n\t\tCOMPREPLY=($(compgen -W %q -- \"$cur\"))\n\telif [[ $COMP_CWORD -eq 2 ]]; then\n\t\tcase ${COMP_WORDS[1]} in\n", strings.Join(names, " "))
		for _, n := range withSubs {
			fmt.Fprintf(&b, "\t\t%s) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", n, strings.Join(subcommands[n], " "))
		}
		b.WriteString("\t\tesac\n\tfi\n}\ncomplete -o default -F _amf amf\n")
	case "zsh":
		fmt.Fprintf(&b, "#compdef amf\n# zsh completion for amf\n_amf() {\n\tif (( CURRENT == 2 )); then\n\t\tcompadd -- %s\n\telif (( CURRENT == 3 )); then\n\t\tcase $words[2] in\n", strings.Join(names, " "))
		for _, n := range withSubs {
			fmt.Fprintf(&b, "\t\t%s) compadd -- %s ;;\n", n, strings.Join(subcommands[n], " "))
		}
		b.WriteString("\t\t*) _files ;;\n\t\tesac\n\telse\n\t\t_files\n\tfi\n}\n")
		b.WriteString("if [[ $funcstack[1] == _amf ]]; then _amf \"$@\"; else compdef _amf amf; fi\n")
	case "fish":
		b.WriteString("# fish completion for amf\n")
		for _, n := range names {
			fmt.Fprintf(&b, "complete -c amf -f -n __fish_use_subcommand -a %s -d %s\n", n, fishQuote(commands[n].summary))
		}
		for _, n := range withSubs {
			fmt.Fprintf(&b, "complete -c amf -f -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %s\n",
				n, strings.Join(subcommands[n], " "), fishQuote(strings.Join(subcommands[n], " ")))
		}
	default:
		return "", fmt.Errorf("no completion for shell %q: use bash, zsh or fish", shell)
	}
	return b.String(), nil
}

// fishQuote quotes s for fish: single quotes, with \ and ' escaped.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
