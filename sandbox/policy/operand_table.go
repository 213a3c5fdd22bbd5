package policy

import (
	"slices"
	"strings"
)

// The operand table: for the commands agents and people use most, what
// each option value and operand is. A command missing here keeps the
// conservative reading: every operand may be a path it reads (see
// pathArgs). Only options whose value is required are listed: an option
// listed by mistake would swallow the word after it unjudged, one left
// out only makes that word judged as an operand.

// Rows shared by families of commands.
var (
	readAll   = &Spec{Rest: Read}
	dataAll   = &Spec{Rest: Data}
	writeAll  = &Spec{Rest: Write}
	deleteAll = &Spec{Rest: Delete}
	shredSpec = &Spec{Rest: Delete, Opts: opts("-n --iterations -s --size --random-source", Data)}
	grepSpec  = &Spec{
		Opts: opts("-e --regexp --include --exclude --exclude-dir", Pattern,
			"-f --file --exclude-from", Read,
			"-A -B -C -m --max-count --context --after-context --before-context --label -d --directories -D --devices --binary-files", Data),
		Lead: []Kind{Pattern}, LeadFrom: []string{"-e", "--regexp", "-f", "--file"}, Rest: Read,
	}
	rgSpec = &Spec{
		Opts: opts("-e --regexp -g --glob --iglob", Pattern,
			"-f --file --ignore-file", Read,
			"-A -B -C -m --max-count --context --after-context --before-context -t --type -T --type-not -r --replace -j --threads -M --max-columns --max-depth -d --max-filesize --sort --sortr -E --encoding --type-add --field-match-separator --path-separator --pre --pre-glob --colors", Data),
		Lead: []Kind{Pattern}, LeadFrom: []string{"-e", "--regexp", "-f", "--file"}, Rest: Read,
	}
	sedSpec = &Spec{
		Opts: opts("-e --expression", Script, "-f --file", Read, "-l --line-length", Data),
		Lead: []Kind{Script}, LeadFrom: []string{"-e", "--expression", "-f", "--file"}, Rest: Read,
		Switch: map[string]Kind{"-i": Write, "--in-place": Write}, Lang: "sed",
	}
	awkSpec = &Spec{
		Opts: opts("-f --file -i --include", Read, "-F --field-separator -v --assign", Data),
		Lead: []Kind{Script}, LeadFrom: []string{"-f", "--file"}, Rest: Read, Assign: true, Lang: "awk",
	}
	copySpec = &Spec{
		Opts: opts("-t --target-directory", Write, "-S --suffix -m --mode -o --owner -g --group --sparse --no-preserve", Data),
		Rest: Read, Last: Write,
	}
	moveSpec = &Spec{
		Opts: opts("-t --target-directory", Write, "-S --suffix", Data),
		Rest: Delete, Last: Write,
	}
	modeSpec = &Spec{Opts: opts("--reference", Read), Lead: []Kind{Data}, Rest: Write}
	compress = &Spec{
		Opts:   opts("-S --suffix -T --threads", Data),
		Rest:   Write,
		Switch: map[string]Kind{"-c": Read, "--stdout": Read, "--to-stdout": Read, "-l": Read, "--list": Read, "-t": Read, "--test": Read, "-k": Read, "--keep": Read},
	}
	ccSpec = &Spec{
		Opts: opts("-o", Write, "-I -L -include -imacros -isystem -iquote -T", Read, "-x -std -D -U -l -MF -MT -MQ", Data),
		Rest: Read,
	}
	rsyncSpec = &Spec{
		Opts: opts("--files-from --exclude-from --include-from --password-file --read-batch --compare-dest --copy-dest --link-dest", Read,
			"--log-file --backup-dir -T --temp-dir --partial-dir --write-batch --only-write-batch", Write,
			"--exclude --include -f --filter", Pattern,
			"--port --bwlimit --chmod --chown --usermap --groupmap --timeout --contimeout --compress-level --max-size --min-size --rsync-path -e --rsh --out-format --log-file-format --info --debug -B --block-size --suffix -M --remote-option --iconv --protocol --modify-window --max-delete --sockopts --address --skip-compress --checksum-choice --compress-choice", Data),
		Rest: Read, Last: Write,
	}
	scpSpec = &Spec{
		Opts: opts("-i -F", Read, "-P -o -l -c -J -S -D -X", Data),
		Rest: Read, Last: Write,
	}
	editor     = &Spec{Opts: opts("-c --cmd -T", Data, "-u -i -S", Read, "-w -W", Write), Rest: Write}
	pythonSpec = &Spec{
		Opts: opts("-c", Script, "-m -W -X", Data),
		Lead: []Kind{Read}, LeadFrom: []string{"-c", "-m"}, Rest: Data,
	}
	perlSpec = &Spec{
		Opts: opts("-e -E", Script),
		Lead: []Kind{Read}, LeadFrom: []string{"-e", "-E"}, Rest: Read,
		Switch: map[string]Kind{"-i": Write},
	}
	scriptSpec = &Spec{
		Opts: opts("-e", Script),
		Lead: []Kind{Read}, LeadFrom: []string{"-e"}, Rest: Data,
	}
	shellSpec = &Spec{
		Opts: opts("-c", Script, "-o -O +o +O --rcfile --init-file", Data),
		Lead: []Kind{Read}, LeadFrom: []string{"-c"}, Rest: Data,
	}
)

var operandTable = map[string]*Spec{
	// plain data
	"echo": dataAll, "printf": {Opts: opts("-v", Data), Rest: Data}, "test": dataAll, "[": dataAll, "[[": dataAll,
	"expr": dataAll, "seq": dataAll, "sleep": dataAll, "yes": dataAll, "true": dataAll, "false": dataAll,
	"basename": dataAll, "dirname": dataAll, "which": dataAll, "whereis": dataAll, "type": dataAll,
	"kill": dataAll, "killall": {Rest: Pattern, Opts: opts("-s --signal -u --user -o --older-than -y --younger-than", Data)},
	"pkill": {Rest: Pattern, Opts: opts("-u -U -g -G -P -s -t -F --signal --euid --uid --group --parent --session --terminal --pidfile", Data)},
	"pgrep": {Rest: Pattern, Opts: opts("-u -U -g -G -P -s -t -F -d --delimiter --euid --uid --group --parent --session --terminal --pidfile", Data)},
	"ps":    dataAll, "top": dataAll, "htop": dataAll, "free": dataAll, "uptime": dataAll, "uname": dataAll,
	"id": dataAll, "whoami": dataAll, "groups": dataAll, "hostname": dataAll, "nproc": dataAll, "lscpu": dataAll,
	"df":    {Opts: opts("-t --type -x --exclude-type -B --block-size --output", Data), Rest: Data},
	"lsblk": dataAll, "findmnt": dataAll, "mount": dataAll, "ip": dataAll, "ss": dataAll, "netstat": dataAll,
	"systemctl": dataAll, "service": dataAll, "journalctl": {Opts: opts("--file -D --directory", Read), Rest: Data},
	"date": {Opts: opts("-r --reference -f --file", Read, "-d --date -s --set", Data), Rest: Data},
	"env":  dataAll, "export": dataAll, "alias": dataAll, "unalias": dataAll,
	"ping":  {Rest: Remote, Opts: opts("-c -i -w -W -s -t -I -Q -l -p", Data)},
	"ping6": {Rest: Remote, Opts: opts("-c -i -w -W -s -t -I", Data)},
	"dig":   {Rest: Remote, Opts: opts("-f", Read, "-k", Read, "-p -t -c -q -x -b -y", Data)},
	"host":  {Rest: Remote, Opts: opts("-t -c -W -R -N -m", Data)}, "nslookup": {Rest: Remote},
	"nc": {Rest: Remote, Opts: opts("-s -p -w -i -x -X -q -e -c", Data)}, "ncat": {Rest: Remote},
	"mail":     {Opts: opts("-a -A --attach", Read, "-s --subject -c -b -r -S", Data), Rest: Data},
	"mailx":    {Opts: opts("-a -A --attach", Read, "-s --subject -c -b -r -S", Data), Rest: Data},
	"sendmail": {Opts: opts("-f -F -O -B -N -R -V -X", Data), Rest: Data},
	"docker":   dataAll, "podman": dataAll,
	"kubectl": {Opts: opts("-f --filename --kubeconfig", Read, "-n --namespace -o --output -l --selector -c --container --context", Data), Rest: Data},

	// paths read
	"cd": readAll, "pushd": readAll,
	"cat": readAll, "tac": readAll, "less": readAll, "more": readAll, "wc": readAll, "nl": readAll, "rev": readAll,
	"od": {Rest: Read, Opts: opts("-A -t -N -j", Data)}, "hexdump": {Rest: Read, Opts: opts("-e -n -s", Data, "-f", Read)},
	"xxd": {Rest: Read, Last: Write, Opts: opts("-c -g -l -s -o", Data)}, "strings": {Rest: Read, Opts: opts("-n -t -e", Data)},
	"head":     {Rest: Read, Opts: opts("-n -c --lines --bytes", Data)},
	"tail":     {Rest: Read, Opts: opts("-n -c -s --lines --bytes --pid --sleep-interval --max-unchanged-stats", Data)},
	"file":     {Rest: Read, Opts: opts("-m --magic-file -f --files-from", Read, "-F --separator -e --exclude -P", Data)},
	"stat":     {Rest: Read, Opts: opts("-c --format --printf", Data)},
	"ls":       {Rest: Read, Opts: opts("-I --ignore --hide", Pattern, "-w --width -T --tabsize --sort --time-style --format --block-size --indicator-style --quoting-style", Data)},
	"du":       {Rest: Read, Opts: opts("--exclude", Pattern, "-X --exclude-from --files0-from", Read, "-d --max-depth -t --threshold -B --block-size --time-style", Data)},
	"tree":     {Rest: Read, Opts: opts("-P -I", Pattern, "-L --filelimit --charset --sort", Data, "-o", Write)},
	"readlink": readAll, "realpath": {Rest: Read, Opts: opts("--relative-to --relative-base", Read)},
	"md5sum": readAll, "sha1sum": readAll, "sha256sum": readAll, "sha512sum": readAll, "b2sum": readAll, "cksum": readAll, "sum": readAll,
	"cmp":  {Rest: Read, Opts: opts("-i -n --ignore-initial --bytes", Data)},
	"diff": {Rest: Read, Opts: opts("-x --exclude -I --ignore-matching-lines", Pattern, "-X --exclude-from --from-file --to-file", Read, "--output", Write, "-U -C --label -L -W --width --line-format --new-line-format --old-line-format --unchanged-line-format", Data)},
	"comm": readAll, "paste": {Rest: Read, Opts: opts("-d --delimiters", Data)},
	"join": {Rest: Read, Opts: opts("-t -j -1 -2 -o -e -a -v", Data)},
	"cut":  {Rest: Read, Opts: opts("-d --delimiter -f --fields -c --characters -b --bytes --output-delimiter", Data)},
	"tr":   dataAll, "column": {Rest: Read, Opts: opts("-s --separator -c --output-width -o --output-separator -N --table-columns -R --table-right", Data)},
	"fold": {Rest: Read, Opts: opts("-w --width", Data)}, "fmt": {Rest: Read, Opts: opts("-w --width -p --prefix", Data)},
	"expand": {Rest: Read, Opts: opts("-t --tabs", Data)}, "unexpand": {Rest: Read, Opts: opts("-t --tabs", Data)},
	"base64": {Rest: Read, Opts: opts("-w --wrap", Data)}, "base32": {Rest: Read, Opts: opts("-w --wrap", Data)},
	"zcat": readAll, "bzcat": readAll, "xzcat": readAll, "zless": readAll, "zmore": readAll,
	"grep": grepSpec, "egrep": grepSpec, "fgrep": grepSpec, "zgrep": grepSpec, "rg": rgSpec,
	"sort": {Rest: Read, Opts: opts("-o --output", Write, "-T --temporary-directory", Write, "--files0-from", Read,
		"-k --key -t --field-separator -S --buffer-size --parallel --batch-size --compress-program --sort --random-source", Data)},
	"uniq":    {Rest: Read, Last: Write, Opts: opts("-f -s -w --skip-fields --skip-chars --check-chars", Data)},
	"split":   {Lead: []Kind{Read}, Rest: Write, Opts: opts("-b -l -n -C -a --bytes --lines --number --line-bytes --suffix-length --additional-suffix --filter -t --separator", Data)},
	"csplit":  {Lead: []Kind{Read}, Rest: Data, Opts: opts("-f --prefix", Write, "-b --suffix-format -n --digits", Data)},
	"iconv":   {Rest: Read, Opts: opts("-f --from-code -t --to-code", Data, "-o --output", Write)},
	"ffmpeg":  {Opts: opts("-i", Read), Rest: Data, Last: Write},
	"convert": {Rest: Read, Last: Write}, "magick": {Rest: Read, Last: Write},
	"xargs": {Opts: opts("-a --arg-file", Read)},

	// scripts
	"sed": sedSpec, "gsed": sedSpec,
	"awk": awkSpec, "gawk": awkSpec, "mawk": awkSpec, "nawk": awkSpec,
	"perl": perlSpec, "python": pythonSpec, "python3": pythonSpec, "python2": pythonSpec, "ruby": scriptSpec, "node": scriptSpec, "php": {Opts: opts("-r", Script, "-f", Read, "-d -c", Data), Rest: Read},
	"sqlite3": {Lead: []Kind{Write}, Rest: Script, Lang: "sql", Opts: opts("-cmd -separator -newline -nullvalue", Data, "-init", Read)},

	// paths written or removed
	"cp": copySpec, "install": copySpec, "ln": {Opts: opts("-t --target-directory", Write, "-S --suffix", Data), Rest: Read, Last: Write},
	"link": {Lead: []Kind{Read}, Rest: Write}, "mv": moveSpec,
	"rm": deleteAll, "rmdir": deleteAll, "unlink": deleteAll, "shred": shredSpec, "srm": shredSpec,
	"touch":    {Rest: Write, Opts: opts("-r --reference", Read, "-d --date -t", Data)},
	"mkdir":    {Rest: Write, Opts: opts("-m --mode", Data)},
	"mkfifo":   {Rest: Write, Opts: opts("-m --mode", Data)},
	"mknod":    {Lead: []Kind{Write}, Rest: Data, Opts: opts("-m --mode", Data)},
	"truncate": {Rest: Write, Opts: opts("-s --size", Data, "-r --reference", Read)},
	"tee":      writeAll, "chmod": modeSpec, "chown": modeSpec, "chgrp": modeSpec, "chattr": modeSpec,
	"setfacl": {Rest: Write, Opts: opts("-m -x --modify --remove -M -X --modify-file --remove-file --set --set-file", Data)},
	"dd":      {Rest: Data, KeyVal: map[string]Kind{"if": Read, "of": Write}},
	"patch":   {Lead: []Kind{Write, Read}, Opts: opts("-i --input", Read, "-o --output -r --reject-file -d --directory", Write, "-p --strip -B --prefix -F --fuzz -z --suffix", Data)},
	"gzip":    compress, "gunzip": compress, "bzip2": compress, "bunzip2": compress, "xz": compress, "unxz": compress,
	"zstd": compress, "unzstd": compress, "lz4": compress, "lzma": compress, "pigz": compress,
	"zip":   {Lead: []Kind{Write}, Rest: Read, Opts: opts("-x --exclude -i --include", Pattern, "-b --temp-path", Write, "-P --password -n --suffixes -Z --compression-method -s --split-size", Data)},
	"unzip": {Lead: []Kind{Read}, Rest: Pattern, Opts: opts("-d", Write, "-x", Pattern, "-P", Data)},
	"cpio":  {Rest: Data, Opts: opts("-F --file -O", Write, "-I -E --pattern-file", Read, "-D --directory", Write, "-H --format -R --owner -C --io-size -M --message", Data), Switch: map[string]Kind{"-p": Write, "--pass-through": Write}},
	"tar":   {Fn: tarOperands}, "gtar": {Fn: tarOperands}, "bsdtar": {Fn: tarOperands},
	"find":  {Fn: findOperands},
	"rsync": rsyncSpec, "scp": scpSpec,
	"ssh":  {Opts: opts("-i -F -S", Read, "-E", Write, "-p -o -l -L -R -D -J -W -b -c -e -m -O -Q -w -B", Data), Lead: []Kind{Remote}, Rest: Data},
	"curl": {Rest: Remote, Opts: opts("-o --output -c --cookie-jar -D --dump-header --trace --trace-ascii --stderr --output-dir", Write, "-T --upload-file -K --config --cacert --cert --key --capath --netrc-file", Read, "-d --data --data-raw --data-binary --data-urlencode -H --header -u --user -X --request -e --referer -A --user-agent -b --cookie -F --form -x --proxy -w --write-out -m --max-time -r --range --connect-timeout --retry -E --json --resolve --connect-to -z --time-cond -U --proxy-user --limit-rate -Y -y --speed-limit --speed-time", Data)},
	"wget": {Rest: Remote, Opts: opts("-O --output-document -o --output-file -a --append-output -P --directory-prefix", Write, "-i --input-file --load-cookies --ca-certificate --certificate --private-key", Read, "--user --password --http-user --http-password -U --user-agent --header -e --execute -t --tries -T --timeout -l --level -A --accept -R --reject -w --wait --limit-rate --post-data -Q --quota", Data)},
	"git":  {Fn: gitOperands},
	"make": {Opts: opts("-C --directory", Write, "-f --file --makefile -I --include-dir", Read, "-o --old-file -W --what-if", Data), Rest: Data, Assign: true},
	"vim":  editor, "vi": editor, "nvim": editor, "nano": editor, "emacs": editor, "ed": editor,
	"crontab": {Opts: opts("-u", Data), Rest: Read},
	// programs that create a data directory or repository where told
	"initdb":        {Opts: opts("-D --pgdata -X --waldir", Write, "-U --username -E --encoding --locale --auth -A", Data), Rest: Write},
	"pg_basebackup": {Opts: opts("-D --pgdata", Write, "-h --host -p --port -U --username -F --format -X --wal-method", Data)},
	"restic":        {Opts: opts("-r --repo --cache-dir", Write, "--password-file --files-from -p", Read, "--tag --host --exclude -e --iexclude", Data), Rest: Read},
	"rustic":        {Opts: opts("-r --repository --cache-dir", Write, "--password-file", Read, "--tag --host --glob", Data), Rest: Read},
	"ssh-keygen":    {Opts: opts("-f", Write, "-s", Read, "-t -b -C -N -P -E -a -m -Z -I -n -V -z -O -F -R -r", Data), Rest: Data},
	"gpg":           {Opts: opts("-o --output", Write, "-r --recipient -u --local-user --default-key --passphrase --cipher-algo --homedir", Data), Rest: Read},
	"openssl": {Opts: opts("-in -key -config -CAfile -CA -CAkey -inkey -signkey -certfile -kfile -passfile -infiles", Read,
		"-out -keyout -CAserial", Write, "-passin -passout -pass -subj -days -newkey -md -name -connect -servername -k -nameopt -digest -sigopt -pkeyopt -algorithm -cipher -iter -set_serial -extensions -reqexts -addext", Data, "-extfile", Read),
		Lead: []Kind{Data}, Rest: Read},
	// programs that write where an option says
	"shuf":   {Rest: Read, Opts: opts("-o --output", Write, "--random-source", Read, "-n --head-count -i --input-range", Data)},
	"sponge": writeAll,
	"gcc":    ccSpec, "cc": ccSpec, "g++": ccSpec, "c++": ccSpec, "clang": ccSpec, "clang++": ccSpec,
	"strip":  {Rest: Write, Opts: opts("-o", Write, "-R --remove-section -K --keep-symbol -N --strip-symbol", Data)},
	"script": {Rest: Write, Opts: opts("-c --command", Script, "-E --echo -I --log-in -O --log-out -B --log-io -T --log-timing", Write)},
	"cmake":  {Rest: Read, Opts: opts("-B", Write, "-S -C -P", Read, "-G -T -A -D -U --target -j --parallel --config", Data)},
	"7z":     {Rest: Read, Opts: opts("-o -w", Write)},
	"go":     {Rest: Read, Opts: opts("-o -C", Write, "-modfile -overlay -pgo", Read)}, "7za": {Rest: Read, Opts: opts("-o -w", Write)},
	"history": {Rest: Data, Switch: map[string]Kind{"-w": Write, "-a": Write, "-r": Read, "-n": Read}},
	"bash":    shellSpec, "sh": shellSpec, "dash": shellSpec, "zsh": shellSpec,
	"source": {Lead: []Kind{Read}, Rest: Data}, ".": {Lead: []Kind{Read}, Rest: Data},
}

// tarOperands reads tar's command line: the mode (c, x, t, r, u, in the
// first word or as options) decides whether the archive is read or
// written and whether the member operands are files read or names
// matched; -C DIR is where extraction writes.
func tarOperands(args []word) []operand {
	mode := byte('t')
	setMode := func(letters string) {
		for i := 0; i < len(letters); i++ {
			switch letters[i] {
			case 'c', 'x', 't', 'r', 'u', 'A', 'd':
				mode = letters[i]
			}
		}
	}
	var out []operand
	var pending []byte
	first := true
	var operands []word
	for i := 0; i < len(args); i++ {
		a := args[i]
		t := a.text
		switch {
		case len(pending) > 0:
			out = append(out, operand{a, tarOptKind(pending[0], &mode)})
			pending = pending[1:]
			continue
		case first && t != "" && t[0] != '-':
			first = false
			setMode(t)
			for j := 0; j < len(t); j++ {
				if tarArgLetter(t[j]) {
					pending = append(pending, t[j])
				}
			}
			out = append(out, operand{a, Data})
			continue
		}
		first = false
		switch {
		case strings.HasPrefix(t, "--"):
			name, val, hasVal := strings.Cut(t, "=")
			k, takes := tarLong(name, &mode)
			if takes && !hasVal && i+1 < len(args) {
				out = append(out, operand{a, Data})
				i++
				out = append(out, operand{args[i], k})
			} else {
				v := a
				v.text = val
				out = append(out, operand{a, Data})
				if hasVal {
					out = append(out, operand{v, k})
				}
			}
		case strings.HasPrefix(t, "-") && len(t) > 1:
			out = append(out, operand{a, Data})
			// Mode letters end where an option's value starts: in
			// -C/etc, "/etc" is -C's value, not the modes t and c.
			letters := t[1:]
			for j := 1; j < len(t); j++ {
				if tarArgLetter(t[j]) {
					letters = t[1 : j+1]
					break
				}
			}
			setMode(letters)
			for j := 1; j < len(t); j++ {
				if !tarArgLetter(t[j]) {
					continue
				}
				v := a
				v.text = t[j+1:]
				if v.text == "" && i+1 < len(args) {
					i++
					v = args[i]
				}
				out = append(out, operand{v, tarOptKind(t[j], &mode)})
				break
			}
		default:
			operands = append(operands, a)
		}
	}
	for _, a := range operands {
		k := Read
		if mode == 'x' || mode == 't' || mode == 'd' {
			k = Pattern // members of the archive to extract or list
		}
		out = append(out, operand{a, k})
	}
	// The archive's and -C's kinds depend on the mode, known only at
	// the end: an archive created is written, a directory extracted
	// into is written.
	for i := range out {
		switch out[i].kind {
		case archiveMark:
			out[i].kind = Read
			if mode == 'c' || mode == 'r' || mode == 'u' || mode == 'A' || mode == 'd' {
				out[i].kind = Write
			}
		case dirMark:
			out[i].kind = Read
			if mode == 'x' {
				out[i].kind = Write
			}
		}
	}
	return out
}

// archiveMark and dirMark stand for tar's archive and -C operands until
// the mode is known.
const (
	archiveMark Kind = 255
	dirMark     Kind = 254
)

func tarArgLetter(b byte) bool { return strings.IndexByte(tarArgLetters, b) >= 0 }

// tarOptKind is what the value of a short tar option is.
func tarOptKind(letter byte, mode *byte) Kind {
	switch letter {
	case 'f':
		return archiveMark
	case 'C':
		return dirMark
	case 'T', 'X':
		return Read
	case 'g', 'V':
		return Write
	}
	return Data
}

// tarLong is what the value of a long tar option is, and whether it
// takes one.
func tarLong(name string, mode *byte) (Kind, bool) {
	// GNU tar takes any unambiguous prefix of a long option; a whole
	// name is itself (--file, not --files-from).
	longs := []string{"--directory", "--file", "--files-from", "--exclude-from", "--listed-incremental", "--index-file", "--volno-file", "--create", "--extract", "--list", "--append", "--update"}
	for _, full := range longs {
		if slices.Contains(longs, name) {
			break
		}
		if len(name) > 3 && strings.HasPrefix(full, name) {
			name = full
			break
		}
	}
	switch name {
	case "--file":
		return archiveMark, true
	case "--directory":
		return dirMark, true
	case "--files-from", "--exclude-from":
		return Read, true
	case "--listed-incremental", "--index-file", "--volno-file":
		return Write, true
	case "--exclude", "--wildcards":
		return Pattern, true
	case "--create":
		*mode = 'c'
	case "--extract", "--get":
		*mode = 'x'
	case "--list":
		*mode = 't'
	case "--append":
		*mode = 'r'
	case "--update":
		*mode = 'u'
	}
	for _, o := range tarArgLong {
		if o == name {
			return Data, true
		}
	}
	return Data, false
}

// findPatterns are find's tests whose value is matched against names.
var findPatterns = set("-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename",
	"-regex", "-iregex", "-lname", "-ilname")

// findValues are find's tests and options whose value is plain data.
var findValues = set("-type", "-xtype", "-perm", "-size", "-mtime", "-mmin", "-atime", "-amin",
	"-ctime", "-cmin", "-user", "-group", "-uid", "-gid", "-maxdepth", "-mindepth", "-links",
	"-inum", "-used", "-fstype", "-printf", "-regextype", "-context", "-newermt", "-newerat", "-newerct", "-D", "-O")

// findFiles are find's tests and actions whose value is a file: read
// (-newer REF) or written (-fprint FILE).
var findFiles = map[string]Kind{"-newer": Read, "-anewer": Read, "-cnewer": Read, "-samefile": Read,
	"-fprint": Write, "-fprint0": Write, "-fls": Write, "-fprintf": Write, "-files0-from": Read}

// findOperands reads find's command line: the starting points (read,
// or deleted with -delete), then the expression, whose tests take
// patterns and data and whose -exec/-ok commands are judged as commands
// of their own (findExec).
func findOperands(args []word) []operand {
	var out []operand
	var starts []int
	i := 0
	for ; i < len(args); i++ {
		t := args[i].text
		if t == "-H" || t == "-L" || t == "-P" {
			out = append(out, operand{args[i], Data})
			continue
		}
		if t == "-D" || t == "-O" || strings.HasPrefix(t, "-O") {
			out = append(out, operand{args[i], Data})
			if t == "-D" && i+1 < len(args) {
				i++
				out = append(out, operand{args[i], Data})
			}
			continue
		}
		if strings.HasPrefix(t, "-") || t == "(" || t == "!" || t == ")" || t == "," {
			break
		}
		starts = append(starts, len(out))
		out = append(out, operand{args[i], Read})
	}
	del := false
	for ; i < len(args); i++ {
		t := args[i].text
		switch {
		case t == "-delete":
			del = true
			out = append(out, operand{args[i], Data})
		case t == "-exec" || t == "-execdir" || t == "-ok" || t == "-okdir":
			// The command is judged on its own (findExec); its words are
			// not find's operands.
			for i < len(args) && args[i].text != ";" && args[i].text != "+" {
				out = append(out, operand{args[i], Run})
				i++
			}
			if i < len(args) {
				out = append(out, operand{args[i], Data})
			}
		case findPatterns[t] && i+1 < len(args):
			out = append(out, operand{args[i], Data}, operand{args[i+1], Pattern})
			i++
		case findValues[t] && i+1 < len(args):
			out = append(out, operand{args[i], Data}, operand{args[i+1], Data})
			i++
		case strings.HasPrefix(t, "-newer") && len(t) == 8 && i+1 < len(args):
			out = append(out, operand{args[i], Data}, operand{args[i+1], Data})
			i++
		case findFiles[t] != unset && i+1 < len(args):
			out = append(out, operand{args[i], Data}, operand{args[i+1], findFiles[t]})
			i++
			if t == "-fprintf" && i+1 < len(args) {
				i++
				out = append(out, operand{args[i], Data})
			}
		default:
			out = append(out, operand{args[i], Data})
		}
	}
	if len(starts) == 0 {
		return out
	}
	if del {
		for _, s := range starts {
			out[s].kind = Delete
		}
	}
	return out
}

// gitSubs are git subcommands that create or change files where an
// operand or option says, read as their own commands; any other keeps
// git's row (operands are data: refs, remotes, pathspecs).
var gitSubs = map[string]*Spec{
	"clone":    {Opts: opts("--separate-git-dir --reference --template", Write, "-o --origin -b --branch -u --upload-pack --depth --shallow-since --shallow-exclude -c --config --filter -j --jobs --bundle-uri", Data), Lead: []Kind{Data}, Rest: Write},
	"init":     {Opts: opts("--separate-git-dir --template", Write, "-b --initial-branch --shared --object-format", Data), Rest: Write},
	"apply":    {Opts: opts("--directory", Write, "-p --exclude --include -C --whitespace --build-fake-ancestor", Data), Rest: Read},
	"archive":  {Opts: opts("-o --output", Write, "--prefix --format --remote --exec", Data), Rest: Data},
	"bundle":   {Lead: []Kind{Data, Write}, Rest: Data},
	"worktree": {Opts: opts("-b -B --reason", Data), Lead: []Kind{Data, Write}, Rest: Data},
}

// gitOperands reads git's global options (-C DIR writes there) and then
// its subcommand's own operands.
func gitOperands(args []word) []operand {
	var out []operand
	for i := 0; i < len(args); i++ {
		t := args[i].text
		switch {
		case t == "-C" && i+1 < len(args):
			out = append(out, operand{args[i], Data}, operand{args[i+1], Write})
			i++
		case (t == "-c" || t == "--git-dir" || t == "--work-tree" || t == "--namespace") && i+1 < len(args):
			out = append(out, operand{args[i], Data}, operand{args[i+1], Data})
			i++
		case strings.HasPrefix(t, "-"):
			out = append(out, operand{args[i], Data})
		default:
			out = append(out, operand{args[i], Data})
			if sub := gitSubs[t]; sub != nil {
				return append(out, sub.operands(args[i+1:])...)
			}
			for _, a := range args[i+1:] {
				out = append(out, operand{a, Data})
			}
			return out
		}
	}
	return out
}
