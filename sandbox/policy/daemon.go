package policy

import "strings"

// startStopDaemon judges the program start-stop-daemon starts
// (--exec, --startas) with the arguments after "--".
func (c *checker) startStopDaemon(args []word) *Refusal {
	var prog *word
	var rest []word
	for i := 0; i < len(args); i++ {
		t := args[i].text
		switch {
		case t == "--":
			rest = args[i+1:]
			i = len(args)
		case (t == "-x" || t == "--exec" || t == "-a" || t == "--startas") && i+1 < len(args):
			w := args[i+1]
			prog = &w
			i++
		case strings.HasPrefix(t, "--exec=") || strings.HasPrefix(t, "--startas="):
			w := args[i]
			_, w.text, _ = strings.Cut(t, "=")
			prog = &w
		}
	}
	if prog == nil {
		return nil
	}
	return c.argv(append([]word{*prog}, rest...))
}
