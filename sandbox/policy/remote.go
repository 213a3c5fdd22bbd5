package policy

import (
	"net"
	"strings"
)

// fetches reports a command that brings bytes in from another machine.
// rsync, scp and git clone copy locally too; they fetch only when given
// a remote (host:path, a URL).
func fetches(base string, args []word) bool {
	switch base {
	case "rsync", "scp":
		for _, a := range args {
			if !strings.HasPrefix(a.text, "-") && remoteSpec(a.text) {
				return true
			}
		}
		return false
	case "git":
		sub := gitSubcommand(args)
		return len(sub) > 0 && sub[0].text == "clone" && gitRemote(sub[1:])
	}
	return fetchers[base]
}

// gitRemote reports whether the repository of git clone or ls-remote is
// on another machine; an unknown one counts as remote.
func gitRemote(args []word) bool {
	for i := 0; i < len(args); i++ {
		t := args[i].text
		switch {
		case t == "-b" || t == "--branch" || t == "-o" || t == "--origin" || t == "--depth" || t == "-c" || t == "--config" || t == "--reference" || t == "-u" || t == "--upload-pack" || t == "--template" || t == "--separate-git-dir" || t == "-j" || t == "--jobs" || t == "--filter":
			i++
		case strings.HasPrefix(t, "-"):
		default:
			return !args[i].static || remoteSpec(t)
		}
	}
	return false
}

// remoteSpec recognises a URL other than file:// and the scp-like
// host:path form (a colon before any slash).
func remoteSpec(t string) bool {
	if i := strings.Index(t, "://"); i >= 0 {
		return t[:i] != "file"
	}
	colon := strings.IndexByte(t, ':')
	return colon > 0 && !strings.Contains(t[:colon], "/")
}

// clientValueOptions are the options of network clients that take a
// separate value, so the value is not taken for a host.
var clientValueOptions = map[string]map[string]bool{
	"curl": set("-o", "--output", "-d", "--data", "--data-raw", "--data-binary", "-H", "--header", "-X", "--request",
		"-w", "--write-out", "-u", "--user", "-A", "--user-agent", "-e", "--referer", "-m", "--max-time",
		"--connect-timeout", "-T", "--upload-file", "-F", "--form", "-b", "--cookie", "-c", "--cookie-jar", "--retry"),
	"wget":  set("-O", "-o", "-P", "--output-document", "--output-file", "-T", "--timeout", "-t", "--tries", "-U", "--user-agent"),
	"ping":  set("-c", "-i", "-W", "-w", "-s", "-t", "-I", "-l", "-Q"),
	"ping6": set("-c", "-i", "-W", "-w", "-s", "-t", "-I", "-l"),
	"nc":    set("-w", "-p", "-s", "-q", "-i", "-X", "-x"),
	"ncat":  set("-w", "-p", "-s", "-i"),
	"dig":   set("-p", "-t", "-c", "-q"),
	"http":  set(),
	"xh":    set(),
}

// loopbackOnly reports a network client whose every destination is the
// loopback address. Inside a sandbox without network that is the
// sandbox's own loopback: talking to a server the command itself started
// there (python3 -m http.server & curl 127.0.0.1:8000) is harmless.
func loopbackOnly(base string, args []word) bool {
	if base == "dig" {
		// dig asks the server named @SERVER (else the system's
		// resolver); the other words are the query: data.
		server := false
		for _, a := range args {
			if s, ok := strings.CutPrefix(a.text, "@"); ok {
				if !a.static || !loopbackHost(s) {
					return false
				}
				server = true
			}
		}
		return server
	}
	values, known := clientValueOptions[base]
	if !known {
		return false
	}
	found := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		t := a.text
		switch {
		case !a.static:
			return false
		case strings.HasPrefix(t, "-"):
			if values[t] {
				i++
			}
		case isDigits(t): // a count or a port
		case loopbackHost(t):
			found = true
		default:
			return false
		}
	}
	return found
}

// loopbackHost recognises localhost, 127.0.0.0/8 and ::1, bare or in a
// URL, with or without a port and path.
func loopbackHost(t string) bool {
	if i := strings.Index(t, "://"); i >= 0 {
		t = t[i+3:]
	}
	if i := strings.IndexAny(t, "/?#"); i >= 0 {
		t = t[:i]
	}
	if i := strings.LastIndexByte(t, '@'); i >= 0 {
		t = t[i+1:]
	}
	host := t
	if h, _, err := net.SplitHostPort(t); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
