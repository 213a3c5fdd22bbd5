package policy

import (
	"regexp"
	"strings"
)

// Script languages name files inside their program text: sed's r, R, w
// and W commands and the w flag of s; awk's print > "file", >> "file"
// and getline < "file". The operand table marks the program operands
// (Script); the files they name are judged as paths read or written.

// scriptFile is a file a program reads or writes.
type scriptFile struct {
	path  string
	write bool
}

// awkFileRedirect finds awk's redirections to and from a literal file.
var awkFileRedirect = regexp.MustCompile(`(>>|>|<)\s*"([^"]+)"`)

// scriptFiles returns the files a program in lang names.
func scriptFiles(lang, prog string) []scriptFile {
	var out []scriptFile
	switch lang {
	case "awk":
		for _, m := range awkFileRedirect.FindAllStringSubmatch(prog, -1) {
			out = append(out, scriptFile{path: m[2], write: m[1] != "<"})
		}
	case "sed":
		for _, line := range strings.FieldsFunc(prog, func(r rune) bool { return r == '\n' || r == ';' }) {
			cmd := sedCommand(line)
			if cmd == "" {
				continue
			}
			switch cmd[0] {
			case 'r', 'R', 'w', 'W':
				if f := strings.TrimSpace(cmd[1:]); f != "" {
					out = append(out, scriptFile{path: f, write: cmd[0] == 'w' || cmd[0] == 'W'})
				}
			case 's':
				if f, ok := sedWriteFlag(cmd); ok {
					out = append(out, scriptFile{path: f, write: true})
				}
			}
		}
	}
	return out
}

// sedCommand strips the address from one sed command.
func sedCommand(cmd string) string {
	cmd = strings.TrimLeft(cmd, " \t{}")
	for cmd != "" {
		switch ch := cmd[0]; {
		case ch >= '0' && ch <= '9' || ch == '$' || ch == ',' || ch == '~' || ch == '!' || ch == ' ' || ch == '+':
			cmd = cmd[1:]
			continue
		case ch == '/':
			if j := strings.IndexByte(cmd[1:], '/'); j >= 0 {
				cmd = cmd[j+2:]
				if cmd != "" && (cmd[0] == 'I' || cmd[0] == 'M') {
					cmd = cmd[1:]
				}
				continue
			}
		}
		break
	}
	return cmd
}

// sedWriteFlag returns the file of an s command's w flag (s/a/b/w out).
func sedWriteFlag(cmd string) (string, bool) {
	if len(cmd) < 2 {
		return "", false
	}
	d := cmd[1]
	n, j := 0, 2
	for ; j < len(cmd) && n < 2; j++ {
		if cmd[j] == '\\' {
			j++
			continue
		}
		if n == 0 && cmd[j] == '[' {
			j = bracketEnd(cmd, j)
			continue
		}
		if cmd[j] == d {
			n++
		}
	}
	if n < 2 {
		return "", false
	}
	flags := cmd[j:]
	if k := strings.IndexByte(flags, 'w'); k >= 0 {
		if f := strings.TrimSpace(flags[k+1:]); f != "" {
			return f, true
		}
	}
	return "", false
}
