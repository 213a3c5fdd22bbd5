package knowledge

// stopWords carry no meaning in an admin instruction.
var stopWords = set("a", "an", "the", "of", "to", "in", "on", "at", "for", "and", "or", "my", "me", "i",
	"please", "with", "that", "this", "these", "those", "is", "are", "be", "it", "its", "by", "from",
	"which", "what", "can", "you", "could", "would", "should", "we", "our", "your", "there", "here",
	"some", "any", "just", "then", "into", "out", "up", "down", "do", "does", "how", "currently", "now",
	"tell", "give", "let", "know", "want", "need", "get", "all", "every", "each")

// synonyms fold the words people use for the same admin action or object
// onto one head word, which is what lets a model-free embedder match a
// paraphrase. Kept small and general on purpose.
var synonyms = groups(
	[]string{"remove", "delete", "erase", "rm", "del", "wipe", "purge", "clean", "cleanup"},
	[]string{"list", "show", "display", "print", "ls", "enumerate", "view", "see", "output"},
	[]string{"find", "search", "locate", "look", "lookup", "grep", "which"},
	[]string{"large", "big", "biggest", "largest", "huge", "heavy", "heaviest"},
	[]string{"small", "smallest", "tiny", "little"},
	[]string{"size", "sizes", "usage", "space", "du", "df", "consumption", "taking", "use", "used", "using"},
	[]string{"compress", "zip", "gzip", "archive", "tar", "pack", "gz"},
	[]string{"decompress", "unzip", "extract", "unpack", "untar", "gunzip"},
	[]string{"directory", "folder", "dir", "directories", "folders", "dirs"},
	[]string{"file", "document"},
	[]string{"process", "program", "proc", "task", "pid", "running", "procs"},
	[]string{"kill", "terminate", "stop", "end", "halt"},
	[]string{"start", "launch", "run", "execute", "begin"},
	[]string{"restart", "reload", "reboot", "bounce"},
	[]string{"memory", "ram", "mem"},
	[]string{"disk", "storage", "drive", "filesystem", "partition", "volume"},
	[]string{"cpu", "processor", "cores", "core"},
	[]string{"count", "number", "many", "total", "tally"},
	[]string{"copy", "cp", "duplicate", "backup"},
	[]string{"move", "mv", "rename", "relocate"},
	[]string{"create", "make", "new", "mkdir", "touch", "add"},
	[]string{"old", "older", "stale", "aged"},
	[]string{"recent", "newest", "latest", "new", "modified", "changed"},
	[]string{"log", "logs", "logfile", "journal"},
	[]string{"user", "users", "account", "login", "logged"},
	[]string{"network", "net", "interface", "ip", "address", "nic"},
	[]string{"port", "ports", "listening", "socket", "sockets", "open"},
	[]string{"permission", "permissions", "chmod", "mode", "rights", "access"},
	[]string{"owner", "ownership", "chown"},
	[]string{"sort", "order", "rank", "top"},
	[]string{"service", "daemon", "unit", "systemd"},
	[]string{"package", "packages", "installed", "apt", "dpkg"},
	[]string{"time", "date", "clock"},
	[]string{"uptime", "up", "since", "boot"},
	[]string{"hostname", "host", "machine", "computer", "server"},
	[]string{"line", "lines", "wc", "row", "rows"},
	[]string{"word", "words"},
	[]string{"content", "contents", "cat", "read"},
	[]string{"week", "weeks", "7", "seven"},
	[]string{"day", "days", "24h", "daily"},
	[]string{"hidden", "dotfile", "dotfiles"},
	[]string{"env", "environment", "variable", "variables"},
	[]string{"kernel", "uname", "version", "release", "os"},
	[]string{"empty", "blank", "zero"},
)

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// groups maps every word of a group to the group's first word; a word in
// two groups keeps its first.
func groups(gs ...[]string) map[string]string {
	m := map[string]string{}
	for _, g := range gs {
		for _, w := range g {
			if _, ok := m[w]; !ok {
				m[w] = g[0]
			}
		}
	}
	return m
}
