package reply

import (
	"regexp"
	"strings"
)

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
