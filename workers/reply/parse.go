package reply

import (
	"errors"
	"regexp"
	"strings"

	"github.com/amf-os/amf/internal/clip"
)

// Bounds on what the parser looks at, so any reply is answered quickly.
const (
	// MaxBytes is the longest reply parsed; the model stream is cut
	// there too, since a model that loops on whitespace or prose will not
	// come back with a command.
	MaxBytes = 32 << 10
	// maxCommandBytes is the longest command accepted from a reply.
	maxCommandBytes = 16 << 10
)

// ErrUnusable is wrapped by every reply that holds no command.
var ErrUnusable = errors.New("unusable reply")

// unusableError says why a reply could not be used, in words the model
// is shown when it is asked again.
type unusableError struct{ why string }

func (e unusableError) Error() string { return "unusable reply: " + e.why }
func (e unusableError) Unwrap() error { return ErrUnusable }

// Reply shapes, as Proposal.Shape reports them.
const (
	ShapeJSON     = "json"      // {"thought": …, "command": …}, as asked
	ShapeToolCall = "tool-call" // a tool call printed as text
	ShapeTag      = "tag"       // <command>…</command>
	ShapeFence    = "fence"     // a fenced code block
	ShapeReAct    = "react"     // "Action Input: …"
	ShapeInline   = "inline"    // a `code span` inside prose
	ShapeLine     = "line"      // a bare command line
)

// Proposal is the command a reply proposes.
type Proposal struct {
	Command string
	// Thought is the model's stated reasoning, when it gave any.
	Thought string
	// Shape says how the reply carried the command.
	Shape string
}

// Parse takes the one command out of a model's reply. It accepts
// the JSON form the prompt asks for and, because local models often
// answer otherwise, a tool call printed as text (Hermes, Llama, Mistral
// and OpenAI shapes), a fenced code block, a ReAct "Action Input:" line,
// a code span in prose or a bare command line, after dropping thinking
// blocks, chat-template tokens and "Command:" or "$ " prefixes. A reply
// with no command returns an error wrapping ErrUnusable that says
// why.
func Parse(reply string) (Proposal, error) {
	text := cleanReply(reply)
	text, thinking := stripThinking(text)
	if strings.TrimSpace(text) == "" {
		if thinking != "" {
			return Proposal{}, unusableError{"it held only reasoning and no command"}
		}
		return Proposal{}, unusableError{"it was empty"}
	}
	p, err := findProposal(text)
	if err != nil {
		return Proposal{}, err
	}
	if p.Thought == "" {
		p.Thought = clip.String(oneLine(thinking), 300)
	}
	return p, nil
}

func findProposal(text string) (Proposal, error) {
	if p, found, err := fromJSON(text); found {
		return p, err
	}
	if cmd, ok := taggedCommand(text); ok {
		return finish(Proposal{Command: cmd, Shape: ShapeTag})
	}
	fences := fencedBlocks(text)
	for _, f := range fences {
		if shellLang(f.lang) {
			if cmd := fenceCommand(f.body); cmd != "" {
				return finish(Proposal{Command: cmd, Shape: ShapeFence})
			}
		}
	}
	if cmd, ok := reactInput(text); ok {
		return finish(Proposal{Command: cmd, Shape: ShapeReAct})
	}
	if p, ok := fromLines(withoutFences(text, fences)); ok {
		return finish(p)
	}
	for _, f := range fences {
		if !shellLang(f.lang) {
			return Proposal{}, unusableError{"it held " + f.lang + " code instead of a shell command"}
		}
	}
	return Proposal{}, unusableError{"it held prose but no shell command"}
}

// finish normalises a proposal's command and checks it is usable.
func finish(p Proposal) (Proposal, error) {
	p.Command = normalizeCommand(p.Command)
	p.Thought = clip.String(oneLine(p.Thought), 300)
	switch {
	case p.Command == "":
		return p, unusableError{"its command was empty"}
	case len(p.Command) > maxCommandBytes:
		return p, unusableError{"its command was longer than 16 KB"}
	case strings.ContainsRune(p.Command, 0):
		return p, unusableError{"its command held a NUL byte"}
	}
	return p, nil
}

var promptRE = regexp.MustCompile(`^(?:[\w.-]+@[\w.-]+:[^\s$#]*\s?)?(?:bash|sh|zsh)?[$%❯]\s+`)

// stripPrompt removes a shell prompt ("$ ", "user@host:~$ ") from a line.
func stripPrompt(line string) (string, bool) {
	loc := promptRE.FindStringIndex(line)
	if loc == nil {
		return line, false
	}
	return strings.TrimSpace(line[loc[1]:]), true
}

// commandTags are XML-style tags some models put a command in.
var commandTags = []string{"command", "cmd", "bash", "shell", "sh", "execute", "run", "terminal"}

// taggedCommand reads <command>…</command> and its variants.
func taggedCommand(s string) (string, bool) {
	lower := strings.ToLower(s)
	for _, tag := range commandTags {
		open, end := "<"+tag+">", "</"+tag+">"
		i := strings.Index(lower, open)
		if i < 0 {
			continue
		}
		rest := s[i+len(open):]
		if j := strings.Index(strings.ToLower(rest), end); j >= 0 {
			rest = rest[:j]
		}
		if cmd := strings.TrimSpace(rest); cmd != "" {
			if fs := fencedBlocks(cmd); len(fs) > 0 {
				cmd = fenceCommand(fs[0].body)
			}
			return cmd, true
		}
	}
	return "", false
}

var reactRE = regexp.MustCompile(`(?im)^[ \t*]*action[ _]input[ \t*]*:[ \t*]*(.+)$`)

// reactInput reads the "Action Input:" line of a ReAct-style reply.
func reactInput(s string) (string, bool) {
	m := reactRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	cmd := strings.TrimSpace(m[1])
	if p, found, err := fromJSON(cmd); found && err == nil {
		return p.Command, true
	}
	return unquote(cmd), cmd != ""
}

// normalizeCommand removes what wraps a command without being part of it:
// fences, backticks, a shell prompt, quotes around the whole of it.
func normalizeCommand(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if strings.HasPrefix(cmd, "```") || strings.HasPrefix(cmd, "~~~") {
		if fs := fencedBlocks(cmd); len(fs) > 0 {
			cmd = fenceCommand(fs[0].body)
		}
	}
	for range 3 {
		before := cmd
		cmd = strings.TrimSpace(cmd)
		cmd = stripLabel(cmd)
		if rest, ok := stripPrompt(cmd); ok {
			cmd = rest
		}
		if len(cmd) >= 2 && cmd[0] == '`' && cmd[len(cmd)-1] == '`' && !strings.Contains(cmd[1:len(cmd)-1], "`") {
			cmd = cmd[1 : len(cmd)-1]
		}
		cmd = unquote(cmd)
		if cmd == before {
			break
		}
	}
	// Each line of a multi-line command may carry its own prompt.
	if strings.Contains(cmd, "\n") {
		lines := strings.Split(cmd, "\n")
		for i, l := range lines {
			if rest, ok := stripPrompt(strings.TrimSpace(l)); ok {
				lines[i] = rest
			}
		}
		cmd = strings.Join(lines, "\n")
	}
	return strings.TrimSpace(cmd)
}

// unquote removes one pair of double quotes around the whole text when
// the text has no other double quote: "ls -la" → ls -la.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && !strings.Contains(s[1:len(s)-1], `"`) {
		return strings.TrimSpace(s[1 : len(s)-1])
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
