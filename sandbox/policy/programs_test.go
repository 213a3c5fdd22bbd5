package policy

import (
	"slices"
	"testing"
)

func TestPrograms(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want []string
	}{
		{"ls -la", []string{"ls"}},
		{"find . -name '*.log' -exec gzip {} +", []string{"find", "gzip"}},
		{"env FOO=1 sudo /usr/bin/ls /root", []string{"env", "sudo", "ls"}},
		{"sh -c 'tar xf a.tar && wc -l a'", []string{"sh", "tar", "wc"}},
		{"timeout 5 du -sh . | sort -h", []string{"timeout", "du", "sort"}},
		{"ls | xargs -n1 stat", []string{"ls", "xargs", "stat"}},
		{"cd /tmp && echo hi", nil},
		{"f() { ls; }; f", []string{"ls"}},
		{"if (", nil},
	} {
		if got := Programs(tc.cmd); !slices.Equal(got, tc.want) {
			t.Errorf("Programs(%q) = %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

func FuzzPrograms(f *testing.F) {
	for _, s := range []string{"ls", "find . -exec gzip {} +", "sh -c 'a|b'", "eval \"$(x)\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		if got := Programs(cmd); len(got) > maxPrograms {
			t.Fatalf("Programs listed %d programs, more than %d", len(got), maxPrograms)
		}
	})
}
