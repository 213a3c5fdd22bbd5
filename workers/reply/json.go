package reply

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// maxJSONTries bounds how many '{' or '[' positions are tried as the
// start of a JSON value in one reply.
const maxJSONTries = 32

// Keys a reply's JSON may carry the command or the reasoning under;
// compared without case, '_' or '-'.
var (
	commandKeys = []string{"command", "cmd", "commands", "shellcommand", "bashcommand", "commandline",
		"cmdline", "bash", "sh", "shell", "script", "code", "run", "terminalcommand"}
	thoughtKeys = []string{"thought", "thoughts", "thinking", "reasoning", "reason",
		"explanation", "rationale", "plan", "analysis", "description"}
	toolNameKeys = []string{"name", "tool", "toolname", "function", "action", "recipientname"}
	toolArgKeys  = []string{"arguments", "parameters", "args", "input", "toolinput",
		"params", "actioninput", "argumentsjson"}
	toolListKeys = []string{"toolcalls", "toolcall", "functioncall", "functioncalls", "calls", "actions"}
)

// shellTools are tool names under which a bare string argument is the
// command itself.
var shellTools = map[string]bool{
	"run": true, "bash": true, "sh": true, "shell": true, "exec": true, "execute": true,
	"terminal": true, "cmd": true, "command": true, "runcommand": true, "runshellcommand": true,
	"executecommand": true, "executebash": true, "shellexec": true, "runinterminal": true,
	"runshell": true, "bashtool": true, "shelltool": true, "executeshell": true,
	"runbash": true, "executeshellcommand": true, "computer": true, "python": false,
}

// finalAnswerTools are ReAct tool names that end the exchange with prose
// instead of running anything.
var finalAnswerTools = map[string]bool{"finalanswer": true, "answer": true, "respond": true, "reply": true}

// fromJSON finds a JSON value in the text that carries a command, as a
// structured reply or a printed tool call. found reports a value shaped
// like a reply, even one whose command is empty (err then says so).
func fromJSON(text string) (p Proposal, found bool, err error) {
	var empty error
	tries := 0
	for i := 0; i < len(text) && tries < maxJSONTries; i++ {
		c := text[i]
		if c != '{' && c != '[' && !(c == '"' && i == 0) {
			continue
		}
		tries++
		v, end, ok := decodeAt(text, i)
		if !ok {
			continue
		}
		if s, isStr := v.(string); isStr {
			// A reply that is nothing but a JSON string is the command.
			if strings.TrimSpace(text[end:]) == "" {
				q, err := finish(Proposal{Command: s, Shape: ShapeJSON})
				return q, true, err
			}
			continue
		}
		r := examine(v, 0)
		if !r.found {
			continue
		}
		q, ferr := finish(Proposal{Command: r.command, Thought: r.thought, Shape: r.shape})
		if ferr == nil {
			return q, true, nil
		}
		if empty == nil {
			empty = ferr
			if r.command == "" {
				empty = unusableError{r.missing}
			}
		}
		i = end - 1 // the value's inside holds nothing better
	}
	if p, ok := lenientJSON(text); ok {
		q, err := finish(p)
		return q, true, err
	}
	if empty != nil {
		return Proposal{}, true, empty
	}
	return Proposal{}, false, nil
}

// decodeAt decodes the JSON value starting at text[i].
func decodeAt(text string, i int) (v any, end int, ok bool) {
	dec := json.NewDecoder(strings.NewReader(text[i:]))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, 0, false
	}
	return v, i + int(dec.InputOffset()), true
}

// examined is what one JSON value says.
type examined struct {
	found   bool
	command string
	thought string
	shape   string
	missing string // why the command is empty, when found
}

func examine(v any, depth int) examined {
	if depth > 6 {
		return examined{}
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if r := examine(e, depth+1); r.found {
				return r
			}
		}
	case map[string]any:
		return examineObject(x, depth)
	}
	return examined{}
}

func examineObject(m map[string]any, depth int) examined {
	r := examined{shape: ShapeJSON, thought: firstString(m, thoughtKeys)}
	if v, ok := lookup(m, commandKeys); ok {
		r.found = true
		r.command = commandValue(v, depth)
		r.missing = `its "command" was empty`
		if r.command != "" {
			return r
		}
	}
	if t, ok := examineToolCall(m, depth); ok {
		if t.thought == "" {
			t.thought = r.thought
		}
		return t
	}
	for _, k := range toolListKeys {
		if v, ok := lookup(m, []string{k}); ok {
			if t := examine(v, depth+1); t.found {
				t.shape = ShapeToolCall
				return t
			}
		}
	}
	if r.found {
		return r
	}
	if r.thought != "" {
		// Our own form, with the command left out.
		return examined{found: true, shape: ShapeJSON, thought: r.thought, missing: `it had no "command" field`}
	}
	// Wrappers such as {"response": {...}} or {"result": [...]}.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch v.(type) {
		case map[string]any, []any:
			if t := examine(v, depth+1); t.found {
				return t
			}
		}
	}
	return examined{}
}

// examineToolCall reads {"name": …, "arguments": …} and its variants.
func examineToolCall(m map[string]any, depth int) (examined, bool) {
	var name string
	nameVal, hasName := lookup(m, toolNameKeys)
	switch n := nameVal.(type) {
	case string:
		name = normKey(n)
	case map[string]any:
		// OpenAI: {"type": "function", "function": {"name": …, "arguments": "…"}}
		if t, ok := examineToolCall(n, depth+1); ok {
			return t, true
		}
	}
	args, hasArgs := lookup(m, toolArgKeys)
	if !hasArgs || !hasName {
		return examined{}, false
	}
	r := examined{found: true, shape: ShapeToolCall}
	if finalAnswerTools[name] {
		r.missing = "it gave a final answer instead of a command to run"
		return r, true
	}
	switch a := args.(type) {
	case string:
		if v, _, ok := decodeAt(strings.TrimSpace(a), 0); ok {
			if t := examine(v, depth+1); t.found {
				t.shape = ShapeToolCall
				return t, true
			}
		}
		if shellTools[name] || looksLikeCommand(a) {
			r.command = a
			return r, true
		}
		r.missing = "it called a tool named " + name + ", not a shell command"
		return r, true
	case map[string]any:
		if v, ok := lookup(a, commandKeys); ok {
			r.command = commandValue(v, depth)
		} else if t := examine(a, depth+1); t.found {
			r.command = t.command
		}
		if r.command == "" {
			r.missing = "its tool call had no command argument"
		}
		r.thought = firstString(a, thoughtKeys)
		return r, true
	case []any:
		r.command = commandValue(a, depth)
		return r, true
	}
	return examined{}, false
}

// commandValue turns the value under a command key into a command line:
// a string as it is, an argv list quoted and joined, a list of command
// lines joined with &&.
func commandValue(v any, depth int) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok && strings.TrimSpace(s) != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) <= 1 || !isArgv(parts) {
			return strings.Join(parts, " && ")
		}
		for i, p := range parts {
			parts[i] = shellQuote(p)
		}
		return strings.Join(parts, " ")
	case map[string]any:
		return examine(x, depth+1).command
	}
	return ""
}

// isArgv tells ["ls", "-la", "/tmp"] (one command, split into words)
// from ["cd src", "make"] (several command lines).
func isArgv(parts []string) bool {
	if strings.ContainsAny(parts[0], " \t|;&") {
		return false
	}
	for _, p := range parts[1:] {
		if strings.ContainsAny(p, "|;&") {
			return false
		}
	}
	return true
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lenientJSON reads a "command" string out of JSON too broken to decode:
// cut short after the command, single-quoted (Python dict), or with a
// trailing comma.
var lenientRE = regexp.MustCompile(`(?s)["'](?:command|cmd)["']\s*:\s*("(?:[^"\\\n]|\\.)*"|'[^'\n]*')`)

func lenientJSON(text string) (Proposal, bool) {
	m := lenientRE.FindStringSubmatch(text)
	if m == nil {
		return Proposal{}, false
	}
	raw := m[1]
	var cmd string
	if raw[0] == '\'' {
		cmd = raw[1 : len(raw)-1]
	} else if err := json.Unmarshal([]byte(raw), &cmd); err != nil {
		return Proposal{}, false
	}
	return Proposal{Command: cmd, Shape: ShapeJSON}, true
}

// lookup finds the first of keys in m, comparing normalised names.
func lookup(m map[string]any, keys []string) (any, bool) {
	for _, want := range keys {
		for k, v := range m {
			if normKey(k) == want {
				return v, true
			}
		}
	}
	return nil, false
}

func firstString(m map[string]any, keys []string) string {
	for _, want := range keys {
		for k, v := range m {
			if s, ok := v.(string); ok && normKey(k) == want && strings.TrimSpace(s) != "" {
				return s
			}
		}
	}
	return ""
}

// normKey lower-cases a key and drops '_', '-', ' ' and '.':
// "shell_command", "shellCommand" and "Shell-Command" are one key.
func normKey(k string) string {
	var b bytes.Buffer
	for _, r := range strings.ToLower(k) {
		if r != '_' && r != '-' && r != ' ' && r != '.' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
