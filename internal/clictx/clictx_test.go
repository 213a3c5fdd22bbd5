package clictx

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFindOrder checks which file a client follows: the named file, else
// a named state dir's alone, else the user's choice, else the default
// state dir's.
func TestFindOrder(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	defState, named := t.TempDir(), t.TempDir()
	user, err := UserPath()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := user, filepath.Join(cfg, "amf", FileName); got != want {
		t.Fatalf("UserPath = %s, want %s", got, want)
	}
	write := func(path, url string) {
		t.Helper()
		if err := Write(path, Context{URL: url}); err != nil {
			t.Fatal(err)
		}
	}
	find := func(l Lookup) string {
		t.Helper()
		f, ok, err := l.Find()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return ""
		}
		return f.URL
	}
	l := Lookup{DefaultStateDir: defState}
	if got := find(l); got != "" {
		t.Fatalf("no file anywhere: found %q", got)
	}
	write(StatePath(defState), "nats://default")
	if got := find(l); got != "nats://default" {
		t.Fatalf("default state dir: %q", got)
	}
	write(user, "nats://user")
	if got := find(l); got != "nats://user" {
		t.Fatalf("the user's choice beats the default state dir: %q", got)
	}
	l.StateDir = named
	if got := find(l); got != "" {
		t.Fatalf("a named state dir without a context must not borrow another installation's: %q", got)
	}
	write(StatePath(named), "nats://named")
	if got := find(l); got != "nats://named" {
		t.Fatalf("named state dir: %q", got)
	}
	other := filepath.Join(t.TempDir(), "k.json")
	write(other, "nats://file")
	l.File = other
	if got := find(l); got != "nats://file" {
		t.Fatalf("--context FILE beats everything: %q", got)
	}
	l.File = filepath.Join(t.TempDir(), "missing.json")
	if _, _, err := l.Find(); !errors.Is(err, ErrNoContext) || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("a named file that does not exist: %v", err)
	}
}

// TestBadContextSaysHowToFixIt: a file that is not a context is an
// error naming it, never a dial to a zero URL.
func TestBadContextSaysHowToFixIt(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"garbage": "{not json", "no url": `{"creds":"/x"}`} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Read(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "amf context use") {
			t.Errorf("%s: %v, want an error naming %s and the fix", name, err, p)
		}
	}
	if err := Write(filepath.Join(dir, "x.json"), Context{}); err == nil {
		t.Error("Write without a URL succeeded")
	}
}

// TestWriteIsPrivate: the file names a credential.
func TestWriteIsPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", FileName)
	if err := Write(p, Context{URL: "nats://x:1", PID: os.Getpid()}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	c, err := Read(p)
	if err != nil || c.URL != "nats://x:1" {
		t.Fatalf("read back %+v %v", c, err)
	}
}

// TestGone tells a dead writer from a live one on this host only.
func TestGone(t *testing.T) {
	host, _ := os.Hostname()
	if g := (Context{PID: os.Getpid(), Host: host}).Gone(); g != "" {
		t.Fatalf("this process is alive, Gone = %q", g)
	}
	if g := (Context{PID: 1 << 30, Host: host}).Gone(); !strings.Contains(g, "gone") {
		t.Fatalf("no such pid, Gone = %q", g)
	}
	if g := (Context{PID: 1 << 30, Host: host + "-elsewhere"}).Gone(); g != "" {
		t.Fatalf("another host's pid cannot be judged, Gone = %q", g)
	}
}
