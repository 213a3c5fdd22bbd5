package policy

import (
	"errors"
	"testing"
)

// Commands whose meaning bash decides by the order it runs them in,
// which is not the order of the text the checker walks: a loop's body
// again, a function where it is called, a subshell's assignment lost, a
// branch not taken, unset and ${x:=v}; declarations through builtin or
// command, which the parser reads as plain commands; "--" before the
// text a builtin runs; a callback glued to its option. Each ran su (or
// unshare, or set a hook variable) in bash while the checker accepted it.
func TestAttackCommandsTheWalkOrderHid(t *testing.T) {
	for _, cmd := range []string{
		// a variable given two values
		"x=su; (x=ls); $x -c id",
		"x=su; echo $(x=ls); $x -c id",
		"x=su; x=ls | true; $x -c id",
		"x=su; x=ls true; $x -c id",
		"x=su; f() { local x=ls; }; f; $x -c id",
		"x=su; if false; then x=ls; fi; $x -c id",
		"x=su; false && x=ls; $x -c id",
		"x=ls; for i in 1 2; do $x -c id; x=su; done",
		"x=ls; for i in 1 2; do $x -c id; eval 'x=su'; done",
		"x=ls; f() { $x -c id; }; x=su; f",
		"x=ls; unset x; ${x-su} -c id",
		"x=; : ${x:=su}; $x -c id",
		"x=ls; while :; do $x -c id; (( x++ )); done",
		"bash -c 'x=ls; for i in 1 2; do $x -c id; x=su; done'",
		// a name glued to its option, and variables bash sets itself
		"x=ls; printf -vx su; $x -c id",
		"x=ls; printf -v\"x\" su; $x -c id",
		"x=ls; command printf -vx su; $x -c id",
		"OPTARG=ls; getopts s: o -s su; $OPTARG -c id",
		"REPLY=ls; read <<< su; $REPLY -c id",
		"MAPFILE=ls; mapfile <<< su; $MAPFILE -c id",
		"_=ls; : su; $_ -c id",
		"BASH_REMATCH=ls; [[ su =~ .* ]]; $BASH_REMATCH -c id",
		// declarations through builtin or command
		"x=ls; builtin export x=su; $x -c id",
		"x=ls; command declare x=su; $x -c id",
		"y=ls; builtin declare -n r=y; r=su; $y -c id",
		"builtin declare \"BASH_CMDS[ls]=/usr/bin/unshare\"; ls -r id",
		"command export BASH_ENV=./e; bash -c :",
		"builtin readonly PS4='$(id)'; set -x; :",
		// "--" before the text
		"trap -- 'su -c id' EXIT",
		"eval -- 'su -c id'",
		"source -- /dev/stdin <<< 'su -c id'",
		// callbacks
		"mapfile -tC 'su -c id' -c1 a <<< x",
		"mapfile -C'su -c id' -c1 a <<< x",
		"compgen -C 'su -c id' x",
		"x='$(su -c id >&2)'; PS4='${x@P}'; set -x; :",
	} {
		for _, profile := range []string{ProfileStrict, ProfileNetwork} {
			var r *Refusal
			if err := Validate(cmd, profile); !errors.As(err, &r) {
				t.Errorf("%s: %q accepted", profile, cmd)
			}
		}
	}
	// What a variable given one value, however often, still names.
	for _, cmd := range []string{
		"x=ls; $x -la",
		"x=ls; x=ls; $x -la",
		"x=ls; f() { $x -la; }; f",
		"for f in a b; do cat \"$f\"; done",
		"d=/tmp; ls $d; d=/work; ls $d",
		"declare -a list=(a b); echo \"${list[@]}\"",
		"trap -- 'rm -f /tmp/x' EXIT",
	} {
		if err := Validate(cmd, ProfileStrict); err != nil {
			t.Errorf("%q refused: %v", cmd, err)
		}
	}
}
