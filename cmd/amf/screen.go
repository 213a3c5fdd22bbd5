package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/amf-os/amf/sandbox/policy"
)

// What the CLI prints for a person was mostly written by others: a
// command's output (a log line anyone could write), the model's tokens
// and commands (which text the model read can steer), worker and host
// names, reasons. Sent to a terminal as they are, control characters in
// them drive it: a carriage return or a cursor move rewrites a line
// already shown (the command a person is about to confirm), an OSC
// sequence sets the clipboard or the window title. So text for a
// terminal shows each control character as its Go escape (\x1b, \r)
// instead of sending it; piped or redirected output is left byte for
// byte, since a program reading it wants the command's own bytes.

// onScreen is f itself, or, when f is a terminal, a writer that shows
// control characters instead of sending them.
func onScreen(f *os.File) io.Writer {
	if !isTerminal(f) {
		return f
	}
	return visibleWriter{f}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// visibleWriter writes text with its control characters made visible.
type visibleWriter struct{ w io.Writer }

func (v visibleWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(v.w, visible(string(p), "\n\t")); err != nil {
		return 0, err
	}
	return len(p), nil
}

// visible returns s with every control character not in keep written
// as its escape: C0 and DEL as \xNN, C1 (U+0080–U+009F, which some
// terminals read as ESC sequences) as \u00NN, and a byte that is not
// UTF-8 as \xNN when it is a C1 code on its own.
func visible(s, keep string) string {
	return escapeRunes(s, false, func(r rune) bool { return control(r, keep) })
}

// shown is visible for a command, or other text a reader judges by
// what it shows (a table cell, a memory about to be confirmed for every
// owner): the characters the policy refuses as invisible
// (policy.Invisible: zero-width, direction-changing, blanks other than
// the space) and every byte that is not UTF-8 are escaped too, so two
// texts that differ never look alike. Command output keeps them, since
// text in other scripts uses them.
func shown(s string) string {
	return escapeRunes(s, true, func(r rune) bool { return control(r, "") || policy.Invisible(r) })
}

// escapeRunes writes each rune esc reports as \xNN (below U+0080) or
// \uNNNN (\UNNNNNNNN past the BMP), and a byte that is not UTF-8 as
// \xNN: every one when invalid is set, else a lone C1 byte only.
func escapeRunes(s string, invalid bool, esc func(rune) bool) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == utf8.RuneError || esc(r) }) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1 && (invalid || s[i] >= 0x80 && s[i] <= 0x9f):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == utf8.RuneError && n == 1:
			b.WriteByte(s[i])
		case esc(r) && r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case esc(r) && r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		case esc(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// control reports a control character (C0, DEL, C1) outside keep.
func control(r rune, keep string) bool {
	return (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f) && !strings.ContainsRune(keep, r)
}
