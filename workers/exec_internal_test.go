package workers

import (
	"strings"
	"testing"
)

func TestErrorLinePicksWhatWentWrong(t *testing.T) {
	for _, tc := range []struct {
		name, stderr, command, want string
	}{
		{"bash's own option error before its usage",
			"bash: --: invalid option\nUsage:\tbash [GNU long option] [option] ...\n\t-abefhkmnptuvxBCEHPT or -o option\n",
			"--version", "bash: --: invalid option"},
		{"the command's name prefix wins over an earlier warning",
			"warning: locale not set\nls: cannot access 'nope': No such file or directory\n",
			"ls nope", "ls: cannot access 'nope': No such file or directory"},
		{"a wrapped program's prefix", "gzip: a.txt: No such file or directory\n",
			"find . -name a.txt -exec gzip {} +", "gzip: a.txt: No such file or directory"},
		{"an error word when no prefix", "Traceback (most recent call last):\n  File \"x\", line 1\nNameError: name 'x' is not defined\n",
			"python3 -c x", "NameError: name 'x' is not defined"},
		{"the last line when nothing says more", "first\nsecond\n", "foo", "second"},
		{"nothing", "\n \n", "foo", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorLine(tc.stderr, tc.command); got != tc.want {
				t.Fatalf("errorLine = %q, want %q", got, tc.want)
			}
		})
	}
	long := "tar: " + strings.Repeat("x", 1000)
	if got := errorLine(long, "tar xf a"); len(got) > reasonBytes+len("…") || !strings.HasPrefix(got, "tar: ") {
		t.Fatalf("long line not bounded: %d bytes", len(got))
	}
}
