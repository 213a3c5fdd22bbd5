package policy

import (
	"slices"
	"testing"
)

// "~/" in a mask stands for every home the host's passwd names, not only
// /root and /home/*: a service account's home outside /home holds
// credentials too.
func TestPasswdHomesCoverHomesOutsideHome(t *testing.T) {
	got := passwdHomes([]byte(`root:x:0:0:root:/root:/bin/bash
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
svc:x:999:999::/srv/svc/:/bin/sh
ann:x:1000:1000::/home/ann:/bin/bash
odd:x:5:5::/:/bin/sh
rel:x:7:7::relative:/bin/sh
short:x:8
`))
	want := []string{"/root", "/home/*", "/srv/svc", "/var/cache/man"}
	if !slices.Equal(got, want) {
		t.Fatalf("passwdHomes = %q, want %q", got, want)
	}
	m := ExpandMasks(DefaultMasks)
	for _, p := range []string{"/home/bob/.config/gh/hosts.yml", "/root/.vault-token", "/home/bob/.cargo/credentials.toml", "/home/bob/.password-store/x.gpg"} {
		if !Masked(p, m) {
			t.Errorf("%s is not masked by the default masks", p)
		}
	}
}

// A home that /etc/passwd names with a glob metacharacter in its path is
// still a home: its credentials are masked like any other's. Today one
// holding '*', '?' or '[' is left out of "~/" altogether, and one holding
// '\\' becomes a pattern that names another directory.
func TestPasswdHomeWithMetaIsMasked(t *testing.T) {
	for _, home := range []string{"/srv/app[1]", `/srv/app\x`, "/srv/app*", "/opt/svc?"} {
		roots := passwdHomes([]byte("svc:x:999:999::" + home + ":/bin/sh\n"))
		secret := home + "/.ssh/id_ed25519"
		masked := false
		for _, r := range roots {
			if Masked(secret, []string{r + "/.ssh"}) {
				masked = true
			}
		}
		if !masked {
			t.Errorf("home %q: %s is not masked by ~/.ssh (home roots %q)", home, secret, roots)
		}
	}
}
