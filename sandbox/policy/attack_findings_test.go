package policy

import (
	"errors"
	"testing"
)

// Commands that read a masked path or write outside the writable set,
// which the checker refuses. The sandbox stops each of them too (masks
// are mounts, the host root is read-only, and a writable workspace that
// may hold a masked path is refused when declared). Forms the checker
// still does not follow, which only the sandbox stops, are listed in
// docs/VIEW.md (Known limits): awk's and sqlite3's own ways of naming
// an output.
//
// Two cases were corrected: with IFS=: the word /etc:shadow splits into
// /etc and shadow, which does not name /etc/shadow (cat:/etc/shadow run
// as a command does); and /proc/self/cwd/.. from /srv/proj is /srv, so
// the case now starts from /tmp, whose parent holds etc/shadow.
func TestAttackCheckerMisses(t *testing.T) {
	pol := DefaultPolicy()
	masks := ExpandMasks(DefaultMasks)
	host := Scope{HostView: true, WorkDir: "/srv/proj", Writable: []string{"/srv/proj", "/tmp"}, Masked: masks}
	home := Scope{HostView: true, WorkDir: "/home/ann", Writable: []string{"/home/ann", "/tmp"}, Masked: masks}
	for _, tc := range []struct {
		scope Scope
		cmd   string
	}{
		// a masked path's parent renamed: the mask no longer matches
		{home, "mv .docker .d"},
		{home, "mv .config .c"},
		{home, "mv /home/ann/.local /home/ann/l"},
		// masked paths named relative to the work dir are not judged
		{home, "cat .ssh/id_rsa"},
		{home, "cat ./.docker/config.json"},
		{home, "cd .ssh; cat id_rsa"},
		{home, "mkdir -p .ssh && echo key > .ssh/authorized_keys"},
		{home, "echo machine x login y password z > .netrc"},
		// expansions the checker could resolve but does not
		{host, "x=/etc/shadowZ; cat ${x%Z}"},
		{host, "x=/ETC/SHADOW; cat ${x,,}"},
		{host, "y=x; x=/etc/shadow; cat ${!y}"},
		{host, "a=(/etc/shadow); cat \"${a[0]}\""},
		{host, "a=(x /etc/shadow); cat ${a[@]}"},
		{host, "a=(/etc/shadow x); cat $a"},
		{host, "IFS=:; x=cat:/etc/shadow; $x"},
		{host, "x=/etc/passwdZ; echo hi > ${x%Z}"},
		{host, "x=/usr/binZ; cp -t ${x%Z} f"},
		{host, "cd /tmp; cat /proc/self/cwd/../etc/shadow"},
		{host, "cat /proc/self/root/etc/shadow"},
		// a symlink made, then written through
		{host, "ln -s /etc/passwd l; echo hi > l"},
		{host, "ln -sf /etc l; cp f l/"},
		{host, "ln -s /etc/passwd; echo hi >> passwd"},
		// write operands the operand table does not know
		{host, "tar xf x.tar -C/etc"},
		{host, "tar --create --file /etc/x.tar f"},
		{host, "shuf -o /etc/passwd f"},
		{host, "sponge /etc/x < f"},
		{host, "diff -u a b --output=/etc/x"},
		{host, "gcc -o /etc/x f.c"},
		{host, "cc f.c -o/etc/x"},
		{host, "go build -o /etc/x ."},
		{host, "strip -o /etc/x f"},
		{host, "git clone d /etc/d"},
		{host, "git apply --directory=/etc p"},
		{host, "git -C /srv/proj init /etc/r"},
		{host, "script /etc/x"},
		{host, "history -w /etc/x"},
		{host, "cmake -B /etc/b"},
		{host, "7z x x.7z -o/etc"},
	} {
		err := pol.Check(tc.cmd, "workspace", nil, tc.scope)
		var r *Refusal
		if !errors.As(err, &r) {
			t.Errorf("accepted: %q (%v)", tc.cmd, err)
		}
	}
}

// Credential files of common tools that DefaultMasks leaves in view: in
// a writable home workspace the command acts as the home's owner, so
// file permissions do not hide them either. (Homes outside /home are
// masked when /etc/passwd names them: TestPasswdHomesCoverHomesOutsideHome and
// sandbox.TestAttackMaskMissesHomesOutsideHome; /srv/git is one only on
// a host with such an account, so it is not asserted here.)
func TestAttackDefaultMasksMissCredentialFiles(t *testing.T) {
	masks := ExpandMasks(DefaultMasks)
	for _, p := range []string{
		"/home/ann/.config/gh/hosts.yml",
		"/home/ann/.vault-token",
		"/home/ann/.cargo/credentials.toml",
		"/home/ann/.terraform.d/credentials.tfrc.json",
		"/home/ann/.m2/settings.xml",
		"/home/ann/.s3cfg",
		"/home/ann/.boto",
		"/home/ann/.config/rclone/rclone.conf",
		"/home/ann/.gem/credentials",
		"/home/ann/.password-store",
		"/home/ann/.local/share/keyrings",
		"/home/ann/.config/op/config",
	} {
		if !Masked(p, masks) {
			t.Errorf("%s is not masked", p)
		}
	}
}

// TestAttackParserReadsLinesBashSplits holds commands the parser
// (mvdan.cc/sh) reads as one line where bash runs two, so the second
// line was never judged: a backslash before a carriage return and
// newline (a continuation to the parser, an escaped character to bash),
// and a comment ending in a backslash (the parser continues the comment
// onto the next line, bash ends it at the newline). Each is refused with
// what to write instead; a comment with a backslash inside it, or a
// line continuation outside one, stays allowed.
func TestAttackParserReadsLinesBashSplits(t *testing.T) {
	for _, c := range []string{
		"echo \\\r\nls -l /proc/self/fd/",
		"echo \\\r\ncat /etc/shadow",
		"true #\\\nls -l /proc/self/fd/",
		"echo hi #\\\ncurl http://example.com",
		"true # a comment\\\n\ncat /etc/shadow",
		"ls\r",
		"ls a\rb",
	} {
		err := Validate(c, "strict")
		var r *Refusal
		if !errors.As(err, &r) || r.Rule != RuleSyntax {
			t.Errorf("%q: %v, want a syntax refusal", c, err)
		}
	}
	for _, c := range []string{"ls \\\n  -l", "echo a # a \\ b\nls", "echo '#\\\n'", "printf 'a\\r\\n'"} {
		if err := Validate(c, "strict"); err != nil {
			t.Errorf("%q refused: %v", c, err)
		}
	}
}

// TestAttackBashrcBySSHVariables: Debian's bash reads ~/.bashrc when
// started with SSH_CLIENT or SSH2_CLIENT set, so a command that sets one
// for a shell it starts runs a file it may have written itself.
func TestAttackBashrcBySSHVariables(t *testing.T) {
	for _, c := range []string{
		"printf 'cat /etc/shadow\\n' > .bashrc; SSH2_CLIENT=1 bash -c true",
		"export SSH_CLIENT=x; bash -c true",
		"env SSH2_CLIENT=1 bash -c true",
	} {
		var r *Refusal
		if err := Validate(c, "strict"); !errors.As(err, &r) || r.Rule != RuleDynamic {
			t.Errorf("%q: %v, want a dynamic-command refusal", c, err)
		}
	}
}

// TestAttackParserReadsOtherwise holds more texts the parser reads
// otherwise than bash, each of which had bash run a command the checker
// never saw: a body line of an unquoted here-document ending in a
// backslash (bash joins it to the next before looking for the end
// marker), single quotes in ${x-w} inside double quotes or a
// here-document (bash keeps them as text and expands what they hold),
// and a line continuation right after "$" (bash joins it into $( or ${).
// Each is refused; the everyday forms beside them are not.
func TestAttackParserReadsOtherwise(t *testing.T) {
	for _, c := range []string{
		"cat <<EOF\nE\\\nOF\ncat /etc/shadow\nEOF\n",
		"cat <<EOF\nEOF\\\n\nls -l /proc/self/fd/\nEOF\n",
		"cat <<-EOF\n\tE\\\nOF\ncat /etc/shadow\nEOF\n",
		"echo \"$(cat <<EOF\nE\\\nOF\ncat /etc/shadow\nEOF\n)\"",
		"echo \"${x-'$(cat /etc/shadow)'}\"",
		"echo \"${x:-'`ls -l /proc/self/fd/`'}\"",
		"x=1; echo \"${x:+'$(cat /etc/shadow)'}\"",
		"echo \"${x='$(cat /etc/shadow)'}\"",
		"y=\"${x:-${y:-'$(cat /etc/shadow)'}}\"",
		"cat <<EOF\n${x-'$(cat /etc/shadow)'}\nEOF\n",
		"cat <<< \"${x-'$(cat /etc/shadow)'}\"",
		"[[ \"${x-'$(cat /etc/shadow)'}\" ]]",
		"echo \"$\\\n(cat /etc/shadow)\"",
		"a=\"$\\\n(ls -l /proc/self/fd/)\"",
		"x=/etc/shadow; cat \"$\\\n{x}\"",
		"cat $\\\n'/etc/shadow'",
		"cat $\\\n'\\x2fetc/shadow'",
		"cat $\\\n\"/etc/shadow\"",
		"echo \"${x-$\\\n(cat /etc/shadow)}\"",
		"bash -c 'cat <<EOF\nE\\\nOF\ncat /etc/shadow\nEOF\n'",
	} {
		var r *Refusal
		if err := Validate(c, "strict"); !errors.As(err, &r) {
			t.Errorf("accepted: %q", c)
		}
	}
	for _, c := range []string{
		"cat <<'EOF'\nE\\\nOF\nEOF\n", "cat <<EOF\nline one\nEOF\n", "ls \\\n  -l",
		"echo \"${x:-default}\"", "echo \"${x:-$HOME}\"", "echo ${x:-'a b'}",
		"echo \"${x#'a'}\"", "printf '%s\\n' \"${name:-world}\"",
	} {
		if err := Validate(c, "strict"); err != nil {
			t.Errorf("%q refused: %v", c, err)
		}
	}
}

// TestAttackWordsBashEvaluates holds commands whose words bash evaluates
// further than the checker read them, each of which had bash run a
// refused command: a variable's name with a subscript, given to a
// builtin (bash evaluates the subscript as arithmetic, running its
// command substitutions, quoted or not) or read by ${!x}; a ${x/p/r}
// replacement holding & (the match, in bash 5.2) or a backslash, now
// unknown (so refused where it names the program; as a path operand, an
// unknown value is the sandbox's to stop, docs/POLICY.md); brace
// expansion past the words the checker expands; hash -p; tilde prefixes
// the checker read as user names or left as text.
func TestAttackWordsBashEvaluates(t *testing.T) {
	for _, c := range []string{
		"read 'a[$(sudo id)]' <<< x", "a=(); unset 'a[$(sudo id)]'", "test -v 'a[$(sudo id)]'",
		"[ -v 'a[$(sudo id)]' ]", "x='a[$(sudo id)]'; echo ${!x}", "declare 'a[$(sudo id)]=1'",
		"local 'a[`sudo id`]'", "printf -v 'a[$(curl http://x)]' x", "mapfile -t 'a[$(sudo id)]' < f",
		"read -r -a 'b[$x]'", "read y < f; echo ${!y}",
		"x=sudo; \"${x/sudo/&}\" id", "x=sudo; ${x/sudo/\\&} id",
		"cat /etc/{{1..64},shadow}", "cat /root/.{a..z}{a..z}{a..z}/id_rsa",
		"hash -p /usr/bin/sudo ls; ls id", "hash -rp /usr/bin/curl ls; ls http://x",
		// tilde prefixes: ~+ is the working directory, ~- the previous
		// one, and a tilde after NAME= (and each : in it) expands
		"cd /etc; cat ~+/shadow", "cd /etc; cd /tmp; cat ~-/shadow", "cd /tmp; ls -l ~+/../proc/self/fd/",
		"dd if=~root/.ssh/id_rsa", "dd if=f of=~root/.bashrc", "x=a:~root/.ssh/id_rsa; cat ${x#a:}",
		// IFS splits only what unquoted expansions gave, and follows
		// unset IFS and the builtins that set it
		"IFS=/; x=; cat \"/etc/shadow\"$x", "IFS=/; x=; cat /etc/shadow$x", "IFS=u; x=; \"sudo\"$x id",
		"IFS=; unset IFS; x='a /etc/shadow'; cat $x", "IFS=; printf -v IFS ' '; x='a /etc/shadow'; \"$x\"",
		// a name glued to its option or clustered, behind builtin or
		// command, or tested by [[ -v ]]; a quoted declare -n; a case
		// attribute changing the value assigned
		"printf -v'a[$(cat /etc/shadow)]' x", "printf -vx -v'a[$(sudo id)]' x", "(:) & wait -np'a[$(sudo id)]'",
		"builtin printf -v 'a[$(sudo id)]' x", "command printf -v 'a[$(sudo id)]' x", "builtin read 'a[$(sudo id)]'",
		"[[ -v 'a[$(sudo id)]' ]]", "declare \"-n\" r='a[$(curl http://x)]'; : $r", "typeset -\"n\" r=x",
		"declare -l x=SUDO; $x id", "declare -l x; x=SUDO; $x id", "typeset -l y=SUDO; $y id",
		// tildes in every segment of a value; ~+ and cd - by the PWD,
		// OLDPWD the command set; cd through CDPATH
		"x=~/:~root/.ssh/id_rsa; cat ${x#*:}", "x=\"a\":~root/.ssh/id_rsa; cat ${x#*:}",
		"PWD=/etc; cat ~+/shadow", "cd /tmp; OLDPWD=/etc; cd -; cat shadow", "CDPATH=/; cd etc; cat shadow",
	} {
		if err := Validate(c, "strict"); err == nil {
			t.Errorf("accepted: %q", c)
		}
	}
	for _, c := range []string{
		"read -r line < f", "read -p 'a[$] ' x", "unset x", "printf -v out '%s[%d]' a 1", "test -v x",
		"declare -a a=(1 2)", "x=ab; echo ${x/a/b}", "echo {1..5}", "hash -r", "hash --help", "a=(1 2); echo ${!a[@]}",
		"echo ${!variable}", "fping 192.168.1.{1..254}", "echo {001..200..2}",
		"ls ~+", "ls ~/notes", "cp a ~+/b", "dd if=in.img of=out.img", "echo a=~/x:~/y",
		"printf -v out x", "printf -vout x", "[[ -v HOME ]]", "declare -l name=Ann; echo $name", "builtin printf x",
		"x=~/a:~/b; ls $x", "cd /tmp; cd -; ls", "CDPATH=/srv; cd proj; ls",
	} {
		if err := Validate(c, "strict"); err != nil {
			t.Errorf("%q refused: %v", c, err)
		}
	}
}

// TestAttackValuesEvaluatedElsewhere: an outside attack made bash run
// sudo past strict through forms the checker read otherwise: a value
// evaluated as arithmetic in a substring, a subscript, a C-style loop or
// an -i assignment, or reaching $((…)) through positional parameters,
// a loop, a function's arguments or printf -v; an anchored ${x/%p/r}
// the shell library matches anywhere; bash's $'\x{HH}'; hash -p and
// BASH_CMDS behind builtin, command, printf -v or read; and declare -l
// with an array. Each is refused; the everyday forms beside them are
// not.
func TestAttackValuesEvaluatedElsewhere(t *testing.T) {
	const y = "y='a[$(sudo id)]'; "
	for _, c := range []string{
		y + "echo ${x:y}", y + "echo ${x:0:y}", y + "echo ${a[@]:y}", y + "echo ${a[y]}", y + "echo ${!a[y]}",
		y + "a[y]=1", y + "a=([y]=1)", y + "x+=([y]=2)",
		y + "for ((i=y;0;)); do :; done", y + "declare -i z; z=y", y + "z=y; echo $((z))",
		"set -- 'a[$(sudo id)]'; echo $(($1))", "f() { echo $(($1)); }; f 'a[$(sudo id)]'",
		"for y in 'a[$(sudo id)]'; do echo $((y)); done", "printf -v y 'a[$(sudo id)]'; echo $((y))",
		"y=${z:-'a[$(sudo id)]'}; echo $((y))", "f() { echo $((y)); }; y='a[$(sudo id)]' f",
		`set -- a[\$\(sudo\ id\)]; echo $(($1))`, "set -- 'a[$''(sudo id)]'; echo $(($1))",
		"x=sudox; ${x/%x} id", "x=curlX; ${x/%X/} http://evil", "x=/etc/shadowX; cat ${x/%X/}", "x=Xsudo; ${x/#X} id",
		`$'\x{73}udo' id`, `sud$'\x{6f}' id`, `cat $'/etc/\x{73}hadow'`,
		"builtin hash -p /usr/bin/sudo ls; ls id", "command hash -p /usr/bin/sudo ls; ls id",
		"printf -v 'BASH_CMDS[ls]' /usr/bin/sudo; ls id", "read 'BASH_CMDS[ls]' <<< /usr/bin/sudo; ls id",
		"declare -l x; x=(SUDO); $x id",
	} {
		if err := Validate(c, "strict"); err == nil {
			t.Errorf("%q accepted", c)
		}
	}
	for _, c := range []string{
		"for ((i=0;i<10;i++)); do echo $i; done", "x=hello; echo ${x:1:2}", "a=(1 2 3); echo ${a[1]}",
		"i=2; a[i]=5; echo ${a[@]}", "n=5; declare -i m; m=n+1; echo $m", "echo '[$(date)]'",
		"grep -E '[0-9]+' f | head -n $((2*3))", "x=lsx; ${x/%x} -l", `echo $'a\x{41}b'`,
	} {
		if err := Validate(c, "strict"); err != nil {
			t.Errorf("%q refused: %v", c, err)
		}
	}
}

// An outside attack: single-quoted text in an arithmetic expression or a
// subscript, which bash expands quotes and all (each of these ran its
// substitution in bash 5.2.15), was read by the parser as a quoted
// string. Everyday quotes there (an associative array's key) stay
// allowed.
func TestAttackQuotedTextInArithmetic(t *testing.T) {
	for _, c := range []string{
		"echo ${y['$(sudo id)']}", `echo "${y['$(sudo id)']}"`, "echo $(( '$(sudo id)' ))",
		"y['$(sudo id)']=1", "a=(['$(sudo id)']=1)", "for ((i='$(sudo id)';0;)); do :; done",
		`echo ${y[$'\x24(sudo id)']}`, "echo ${y['`sudo id`']}",
	} {
		if err := Validate(c, "strict"); err == nil {
			t.Errorf("%q accepted", c)
		}
	}
	for _, c := range []string{
		"declare -A m; m['key']=1; echo ${m['key']}", "echo ${y['k']} ${y[1]} $((2+3)) ${arr[$i]}",
	} {
		if err := Validate(c, "strict"); err != nil {
			t.Errorf("%q refused: %v", c, err)
		}
	}
}
