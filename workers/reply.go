package workers

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Bounds on what the parser looks at, so any reply is answered quickly.
const (
	// maxReplyBytes is the longest reply parsed; the model stream is cut
	// there too, since a model that loops on whitespace or prose will not
	// come back with a command.
	maxReplyBytes = 32 << 10
	// maxCommandBytes is the longest command accepted from a reply.
	maxCommandBytes = 16 << 10
)

// ErrUnusableReply is wrapped by every reply that holds no command.
var ErrUnusableReply = errors.New("unusable reply")

// unusableError says why a reply could not be used, in words the model
// is shown when it is asked again.
type unusableError struct{ why string }

func (e unusableError) Error() string { return "unusable reply: " + e.why }
func (e unusableError) Unwrap() error { return ErrUnusableReply }

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

// ParseReply takes the one command out of a model's reply. It accepts
// the JSON form the prompt asks for and, because local models often
// answer otherwise, a tool call printed as text (Hermes, Llama, Mistral
// and OpenAI shapes), a fenced code block, a ReAct "Action Input:" line,
// a code span in prose or a bare command line, after dropping thinking
// blocks, chat-template tokens and "Command:" or "$ " prefixes. A reply
// with no command returns an error wrapping ErrUnusableReply that says
// why.
func ParseReply(reply string) (Proposal, error) {
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
		p.Thought = clip(oneLine(thinking), 300)
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
	p.Thought = clip(oneLine(p.Thought), 300)
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

// templateTokens are chat-template markers some runtimes leave in the
// text when a model's template and the server disagree.
var templateTokens = []string{
	"<|im_start|>assistant", "<|im_start|>", "<|im_end|>", "<|eot_id|>",
	"<|end_of_text|>", "<|endoftext|>", "<|end|>", "<|python_tag|>",
	"<|start_header_id|>assistant<|end_header_id|>", "</s>", "<s>",
	"[/INST]", "[INST]", "<|assistant|>", "<end_of_turn>", "<start_of_turn>model",
}

func cleanReply(s string) string {
	if len(s) > maxReplyBytes {
		s = s[:maxReplyBytes]
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	for _, t := range templateTokens {
		s = strings.ReplaceAll(s, t, "\n")
	}
	return strings.TrimPrefix(strings.TrimSpace(s), "\uFEFF")
}

// thinkTags are the reasoning blocks models print before their answer.
var thinkTags = []string{"think", "thinking", "thought", "reasoning", "reflection", "scratchpad"}

// stripThinking removes reasoning blocks and returns them apart. A
// closing tag with no opening one (templates that put <think> in the
// prompt) drops everything before it; an opening tag never closed (the
// reply was cut short) drops the rest.
func stripThinking(s string) (rest, thinking string) {
	var thought strings.Builder
	// gpt-oss "harmony": <|channel|>analysis<|message|>…<|start|>…final<|message|>answer
	if i := strings.LastIndex(s, "<|channel|>final<|message|>"); i >= 0 {
		thought.WriteString(s[:i])
		s = s[i+len("<|channel|>final<|message|>"):]
	}
	lower := strings.ToLower(s)
	for _, tag := range thinkTags {
		open, end := "<"+tag+">", "</"+tag+">"
		for range 8 {
			i := strings.Index(lower, open)
			j := strings.Index(lower, end)
			switch {
			case j >= 0 && (i < 0 || j < i):
				thought.WriteString(s[:j])
				s, lower = s[j+len(end):], lower[j+len(end):]
			case i >= 0 && j > i:
				thought.WriteString(s[i+len(open) : j])
				s, lower = s[:i]+s[j+len(end):], lower[:i]+lower[j+len(end):]
			case i >= 0:
				thought.WriteString(s[i+len(open):])
				s, lower = s[:i], lower[:i]
			default:
				goto next
			}
		}
	next:
	}
	return strings.TrimSpace(s), strings.TrimSpace(thought.String())
}

// fence is one fenced code block.
type fence struct {
	lang       string
	body       string
	start, end int // byte offsets of the whole block in the text
}

var fenceOpen = regexp.MustCompile("(?m)^[ \t]*(```+|~~~+)[ \t]*([A-Za-z0-9_+.#-]*)[^\n]*$")

// fencedBlocks finds fenced code blocks; one left open at the end of the
// reply (cut short) runs to the end.
func fencedBlocks(s string) []fence {
	var out []fence
	pos := 0
	for len(out) < 16 {
		loc := fenceOpen.FindStringSubmatchIndex(s[pos:])
		if loc == nil {
			break
		}
		marker := strings.TrimSpace(s[pos+loc[2] : pos+loc[3]])
		lang := strings.ToLower(s[pos+loc[4] : pos+loc[5]])
		bodyStart := pos + loc[1]
		if bodyStart < len(s) {
			bodyStart++ // the newline after the opening line
		}
		f := fence{lang: lang, start: pos + loc[0]}
		closeIdx := findClosingFence(s[bodyStart:], marker)
		if closeIdx < 0 {
			f.body, f.end = s[bodyStart:], len(s)
		} else {
			f.body = s[bodyStart : bodyStart+closeIdx]
			f.end = bodyStart + closeIdx + len(marker)
			if nl := strings.IndexByte(s[f.end:], '\n'); nl >= 0 {
				f.end += nl
			} else {
				f.end = len(s)
			}
		}
		out = append(out, f)
		pos = f.end
		if pos >= len(s) {
			break
		}
	}
	return out
}

// findClosingFence returns the offset of the line that closes a block
// opened with marker, or -1.
func findClosingFence(s, marker string) int {
	off := 0
	for off <= len(s) {
		line := s[off:]
		nl := strings.IndexByte(line, '\n')
		if nl >= 0 {
			line = line[:nl]
		}
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, marker) && strings.Trim(t, marker[:1]) == "" {
			return off + strings.Index(s[off:], marker[:1])
		}
		if nl < 0 {
			return -1
		}
		off += nl + 1
	}
	return -1
}

func withoutFences(s string, fs []fence) string {
	if len(fs) == 0 {
		return s
	}
	var b strings.Builder
	prev := 0
	for _, f := range fs {
		if f.start >= prev {
			b.WriteString(s[prev:f.start])
			b.WriteByte('\n')
			prev = f.end
		}
	}
	if prev < len(s) {
		b.WriteString(s[prev:])
	}
	return b.String()
}

// shellLang reports whether a fence's language tag means shell.
func shellLang(lang string) bool {
	switch lang {
	case "", "sh", "bash", "shell", "zsh", "console", "terminal", "shell-session",
		"shellsession", "posix", "dash", "ksh", "text", "plaintext", "cmd", "command":
		return true
	}
	return false
}

// fenceCommand is the command in a shell block: the "$ " lines of a
// console transcript, else every line that is not a comment.
func fenceCommand(body string) string {
	lines := strings.Split(strings.TrimSpace(body), "\n")
	var prompted, plain []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if rest, ok := stripPrompt(t); ok {
			prompted = append(prompted, rest)
			continue
		}
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		plain = append(plain, strings.TrimRight(l, " \t"))
	}
	if len(prompted) > 0 {
		return strings.Join(prompted, "\n")
	}
	return dedent(plain)
}

func dedent(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	indent := -1
	for _, l := range lines {
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		lines[i] = l[indent:]
	}
	return strings.Join(lines, "\n")
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

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
