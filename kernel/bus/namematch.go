package bus

// nameMatcher checks a name made of one set of bytes after a first byte
// from another, within a length: what the bus's name patterns say
// (task ids, pools, sessions, workspaces). Written out instead of as
// regular expressions because the bounded repetitions ({1,128}) made
// compiling them the largest part of this package's start-up, and every
// sandboxed command starts a fresh process of this binary.
type nameMatcher struct {
	first, rest func(byte) bool
	min, max    int
}

// MatchString reports whether s is such a name.
func (m nameMatcher) MatchString(s string) bool {
	if len(s) < m.min || len(s) > m.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		ok := m.rest
		if i == 0 {
			ok = m.first
		}
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// tokenByte is [A-Za-z0-9_-].
func tokenByte(c byte) bool { return alnum(c) || c == '_' || c == '-' }

// workspaceByte is [A-Za-z0-9_.-].
func workspaceByte(c byte) bool { return tokenByte(c) || c == '.' }
