package baseline

import "slices"

// maxPrograms bounds what Programs lists.
const maxPrograms = 16

// Programs lists the programs a command runs, in order of first use,
// seeing through wrappers the way the validator does: `find . -exec gzip
// {} +` runs find and gzip, `env FOO=1 sudo ls` runs env, sudo and ls,
// `sh -c 'tar xf a'` runs sh and tar. Shell builtins and functions the
// command defines are left out: a host needs no program for them. A
// command that does not parse lists nothing.
func Programs(command string) []string {
	var out []string
	c := newChecker(&Profile{}, command)
	c.seen = func(base string) {
		if shellBuiltins[base] || base == "" || len(out) >= maxPrograms || slices.Contains(out, base) {
			return
		}
		out = append(out, base)
	}
	_ = c.script(command, 0)
	return out
}
