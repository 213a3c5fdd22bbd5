package bus_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/amf-os/amf/kernel/bus"
)

// TestEveryRefusedEnvName submits a task setting each refused name (a
// prefix gets a suffix) and expects an invalid task naming it.
func TestEveryRefusedEnvName(t *testing.T) {
	names := bus.RefusedEnvNames()
	if len(names) < 60 {
		t.Fatalf("only %d refused names: the list lost entries", len(names))
	}
	for _, n := range append(names, "BASH_FUNC_ls%%", "LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "AMF_TOKEN", "NATS_URL", "GIT_SSH_COMMAND", "MALLOC_CHECK_") {
		if strings.HasSuffix(n, "_") && n != "_JAVA_OPTIONS" && n != "MALLOC_CHECK_" {
			n += "X"
		}
		t.Run(n, func(t *testing.T) {
			_, err := bus.DecodeTask([]byte(`{"command":"ls","env":{` + quote(n) + `:"() { id; }"}}`))
			if !errors.Is(err, bus.ErrInvalidTask) {
				t.Fatalf("env %s accepted (err %v)", n, err)
			}
			if !strings.Contains(err.Error(), n) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("error %q should name %s and say it is refused", err, n)
			}
		})
	}
}

// TestToolHookEnvRefused covers the variables found to make a validated
// command run other code or read a planted configuration: each, in the
// case tools read it, is refused with its name in the error.
func TestToolHookEnvRefused(t *testing.T) {
	for _, n := range []string{
		"TAR_OPTIONS", "LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "OPENSSL_CONF", "OPENSSL_MODULES",
		"PYTHONWARNINGS", "PYTHONBREAKPOINT", "PYTHONUSERBASE", "PIP_CONFIG_FILE", "PIP_INDEX_URL",
		"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ftp_proxy", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
		"WGETRC", "CURL_HOME", "CURL_CA_BUNDLE", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CONFIG_DIRS", "XDG_CACHE_HOME",
		"TERMINFO", "TERMINFO_DIRS", "FPATH", "GREP_OPTIONS", "SSLKEYLOGFILE",
		"GIT_SSH", "GIT_SSH_COMMAND", "GIT_CONFIG_GLOBAL", "SSH_AUTH_SOCK", "RUBYOPT", "RUBYLIB", "PERL5OPT", "PERL_MM_OPT",
		"NODE_OPTIONS", "NODE_EXTRA_CA_CERTS", "npm_config_script_shell", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_HOME",
		"LESS", "LESSKEY", "LESSOPEN", "PAGER", "EDITOR", "VISUAL", "MANPAGER", "BROWSER", "HOME", "home", "path", "Bash_Env",
		"MAKEFLAGS", "MAKEFILES", "GOFLAGS", "CARGO_BUILD_RUSTC_WRAPPER", "RUSTC_WRAPPER", "RSYNC_RSH", "AWKLIBPATH",
		"VIMINIT", "EXINIT", "ZDOTDIR", "GZIP", "XZ_OPT",
		"SYSTEMD_PAGER", "PSQL_PAGER", "SVN_EDITOR", "SUDO_ASKPASS", "CVS_RSH", "MAVEN_OPTS", "ANT_OPTS", "SBT_OPTS",
		"CFLAGS", "LDFLAGS", "CLASSPATH", "QT_PLUGIN_PATH", "GST_PLUGIN_PATH", "GRADLE_USER_HOME", "socks5_server",
		"SSH_CLIENT", "SSH2_CLIENT", "IRBRC", "MAILRC", "MYSQL_HOME", "DENO_DIR", "PGSERVICEFILE", "PGPASSFILE", "GNUTLS_SYSTEM_PRIORITY_FILE", "NETRC", "INPUTRC",
	} {
		t.Run(n, func(t *testing.T) {
			err := bus.ValidateEnv(map[string]string{n: "x"})
			if !errors.Is(err, bus.ErrInvalidTask) {
				t.Fatalf("env %s accepted (err %v)", n, err)
			}
			if !strings.Contains(err.Error(), n) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("error %q should name %s and say it is refused", err, n)
			}
		})
	}
	// Formatting and a task's own names stay allowed.
	if err := bus.ValidateEnv(map[string]string{"LANG": "C", "LC_ALL": "C", "LC_NUMERIC": "C", "TZ": "UTC", "TMPDIR": "/tmp", "GREETING": "hi", "INPUT_FILE": "a"}); err != nil {
		t.Fatalf("ordinary env refused: %v", err)
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func TestEnvNamesAndLimits(t *testing.T) {
	big := strings.Repeat("x", bus.MaxEnvValueBytes+1)
	many := map[string]string{}
	for i := 0; i <= bus.MaxEnvVars; i++ {
		many["V"+strings.Repeat("A", i)] = "1"
	}
	wide := map[string]string{}
	for i := 0; i < 5; i++ {
		wide["W"+strings.Repeat("A", i)] = big[:bus.MaxEnvValueBytes]
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // "" means accepted
	}{
		{"ordinary", map[string]string{"GREETING": "hi", "_x1": "", "LANG": "C.UTF-8", "TZ": "UTC"}, ""},
		{"empty name", map[string]string{"": "x"}, `env name ""`},
		{"leading digit", map[string]string{"1X": "x"}, `"1X" is not a portable name`},
		{"dash", map[string]string{"A-B": "x"}, `"A-B" is not a portable name`},
		{"equals", map[string]string{"A=B": "x"}, `"A=B" is not a portable name`},
		{"space", map[string]string{"A B": "x"}, `"A B" is not a portable name`},
		{"unicode", map[string]string{"É": "x"}, `is not a portable name`},
		{"long name", map[string]string{strings.Repeat("N", bus.MaxEnvNameBytes+1): "x"}, "longer than"},
		{"NUL value", map[string]string{"A": "a\x00b"}, "env A contains a NUL byte"},
		{"big value", map[string]string{"BIG": big}, "env BIG is 16385 bytes"},
		{"too many", many, "the limit is 64"},
		{"too much", wide, "env holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := bus.ValidateEnv(tc.env)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want %q", tc.want)
			case tc.want != "" && (!errors.Is(err, bus.ErrInvalidTask) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %q, want one wrapping ErrInvalidTask with %q", err, tc.want)
			}
		})
	}
}

func FuzzValidateEnv(f *testing.F) {
	f.Add("GREETING", "hi")
	f.Add("BASH_FUNC_ls%%", "() { id; }")
	f.Add("LD_PRELOAD", "/tmp/x.so")
	f.Fuzz(func(t *testing.T, k, v string) {
		err := bus.ValidateEnv(map[string]string{k: v})
		if err == nil && (strings.HasPrefix(k, "LD_") || strings.HasPrefix(k, "BASH_FUNC_") || strings.ContainsAny(k, "=%\x00") || k == "" || strings.IndexByte(v, 0) >= 0) {
			t.Fatalf("accepted %q=%q", k, v)
		}
	})
}
