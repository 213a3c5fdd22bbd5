package policy

import (
	"errors"
	"testing"
)

// noValueFlags are flags that take no value (or only an attached,
// optional one). Written before a secret, each must leave the secret an
// operand the command reads: an operand table that let such a flag
// swallow the next word would let the command read it unchecked.
var noValueFlags = map[string][]string{
	"grep":    {"-E", "-F", "-P", "-r", "-R", "-i", "-v", "-l", "-L", "-n", "-c", "-o", "-w", "-x", "-H", "-h", "-T", "-z", "-s", "-q", "--color", "--colour", "-a", "-I", "-U"},
	"rg":      {"-l", "-i", "-n", "-z", "-u", "-uu", "-S", "-F", "-w", "-v", "-c", "--hidden"},
	"cat":     {"-n", "-A", "-v", "-e", "-t", "-s", "-b"},
	"head":    {"-q", "-v"},
	"tail":    {"-f", "-F", "-q", "-v"},
	"wc":      {"-l", "-c", "-w", "-m", "-L"},
	"sort":    {"-n", "-r", "-u", "-h", "-V", "-f", "-b", "-d", "-g", "-M", "-R", "-s", "-z", "-c"},
	"uniq":    {"-c", "-d", "-u", "-i", "-z", "--group", "--all-repeated"},
	"column":  {"-t", "-x", "-n", "-e", "-J"},
	"stat":    {"-t", "-L", "-f"},
	"od":      {"-w", "-v", "-c", "-x", "-b", "-d"},
	"xxd":     {"-C", "-p", "-b", "-e", "-i", "-u", "-r"},
	"diff":    {"--color", "-u", "-c", "-q", "-r", "-N", "-a", "-w", "-B", "-y", "-i", "-b"},
	"ls":      {"--color", "-l", "-a", "-R", "-d", "-h", "-t", "-S", "-1", "-i"},
	"du":      {"--time", "-s", "-h", "-a", "-c", "-b", "-k", "-m", "-L", "-x"},
	"cp":      {"--backup", "--preserve", "--reflink", "-a", "-r", "-p", "-f", "-i", "-n", "-u", "-v", "-L", "-P", "-d", "-l", "-s", "-b"},
	"mv":      {"--backup", "-f", "-i", "-n", "-u", "-v", "-b"},
	"ln":      {"--backup", "-s", "-f", "-n", "-r", "-v", "-b"},
	"gzip":    {"-c", "-d", "-k", "-f", "-l", "-t", "-v", "-1", "-9", "-L", "-r"},
	"rsync":   {"-P", "-o", "-l", "-c", "-S", "-i", "-a", "-v", "-z", "-r", "-n", "-u", "-H", "-A", "-X", "-t", "-g", "-p", "-D", "-W", "-x", "-q", "-h"},
	"scp":     {"-r", "-p", "-q", "-v", "-C", "-3", "-4", "-6", "-B", "-O", "-T"},
	"sh":      {"-x", "-e", "-u", "-v", "-n"},
	"bash":    {"-x", "-e", "-u", "-v", "-l", "-r", "--norc", "--noprofile", "--posix"},
	"perl":    {"-l", "-w", "-n", "-p", "-a", "-s", "-T", "-t", "-W", "-X", "-c"},
	"python3": {"-I", "-x", "-u", "-B", "-b", "-d", "-E", "-O", "-q", "-s", "-S", "-v"},
	"file":    {"-b", "-i", "-L", "-z", "-k", "-s"},
	"md5sum":  {"-b", "-t", "-c"},
	"tar":     {"-v", "-z", "-j", "-J", "-p", "-h", "--totals", "-W", "-k"},
	"zip":     {"-e", "-r", "-q", "-9", "-j", "-m", "-u", "-y"},
	"tee":     {"-a", "-i", "-p"},
}

func TestFlagsDoNotSwallowOperands(t *testing.T) {
	for cmd, flags := range noValueFlags {
		for _, f := range flags {
			line := cmd + " " + f + " /etc/shadow"
			switch cmd {
			case "grep", "rg":
				line = cmd + " " + f + " root /etc/shadow"
			case "cp", "mv", "ln", "rsync", "scp":
				line = cmd + " " + f + " /etc/shadow x"
			case "tar":
				line = "tar -c " + f + " -f out.tar /etc/shadow"
			case "zip":
				line = "zip " + f + " out.zip /etc/shadow"
			case "tee":
				line = "echo x | tee " + f + " /etc/shadow"
			}
			err := Validate(line, "network") // scp needs a network to be judged on its files
			var r *Refusal
			if !errors.As(err, &r) || r.Rule != RuleLocalFile {
				t.Errorf("%s: %v; want a refusal by %s (the flag must not take /etc/shadow as its value)", line, err, RuleLocalFile)
			}
		}
	}
}
