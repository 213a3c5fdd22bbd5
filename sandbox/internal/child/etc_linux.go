package child

import (
	"fmt"
	"io"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// etcCopies are copied (or, for directories, bound read-only) from the
// host /etc; passwd, group, hosts and hostname are written fresh.
var etcCopies = []string{"resolv.conf", "nsswitch.conf", "ld.so.cache", "ld.so.conf",
	"ld.so.conf.d", "localtime", "timezone", "os-release", "debian_version", "lsb-release",
	"alternatives", "ssl", "ca-certificates", "services", "protocols", "mime.types",
	"bash.bashrc", "profile", "inputrc", "environment", "magic", "papersize", "gai.conf",
	"host.conf", "login.defs", "mke2fs.conf", "python3", "perl", "gitconfig", "vim"}

// The /etc of the minimal view is the same for every command: the runner
// fills it once into a directory of its own (a template, see EtcEntries
// and WriteEtc) and hands each init, through the spawner, a detached
// read-only, nosuid, nodev mount of it at fdEtc, with envEtc set; the
// init attaches it as its /etc instead of reading and writing some twenty
// files in every sandbox. Without it the init fills its /etc itself, the
// same way.
const (
	envEtc = "AMF_SANDBOX_ETC"
	fdEtc  = 4
)

// EtcEntry is one entry of the sandbox's /etc as read from the host's.
type EtcEntry struct {
	Name string
	// Body of a file; Link: the target of a symlink; Dir: a directory,
	// bound from the host's /etc over an empty one.
	Body []byte
	Link string
	Dir  bool
}

// EtcEntries reads the entries of etcCopies from src (the host's /etc)
// with the rights of the calling thread: what it cannot read is left
// out, as the init leaves it out when it reads them itself.
func EtcEntries(src string) []EtcEntry {
	var out []EtcEntry
	for _, name := range etcCopies {
		p := path.Join(src, name)
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		switch {
		case fi.Mode()&os.ModeSymlink != 0 && name != "resolv.conf":
			if t, err := os.Readlink(p); err == nil {
				out = append(out, EtcEntry{Name: name, Link: t})
			}
		case fi.IsDir():
			out = append(out, EtcEntry{Name: name, Dir: true})
		default:
			if b, ok := readRegular(p); ok {
				out = append(out, EtcEntry{Name: name, Body: b})
			}
		}
	}
	return out
}

// maxEtcFile bounds a file copied into the sandbox's /etc.
const maxEtcFile = 4 << 20

// readRegular reads p (following links) if it is a regular file under
// maxEtcFile. Nothing in it blocks: a FIFO or a device under a copied
// name is left out, not waited on.
func readRegular(p string) ([]byte, bool) {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() >= maxEtcFile {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(f, maxEtcFile))
	if err != nil || len(b) >= maxEtcFile {
		return nil, false
	}
	return b, true
}

// WriteEtc fills etc, an empty directory, with the sandbox's /etc:
// passwd, group, hosts and hostname written fresh, resolv.conf too when
// dns is set, and entries (directories as empty ones, see bindEtcDirs).
func WriteEtc(etc string, entries []EtcEntry, dns string) error {
	files := map[string]string{
		"passwd": "root:x:0:0:root:/root:/usr/sbin/nologin\n" +
			fmt.Sprintf("%s:x:%d:%d:sandbox:%s:/bin/bash\n", sandboxUser, sandboxUID, sandboxUID, workDirInside) +
			"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"group":    fmt.Sprintf("root:x:0:\n%s:x:%d:\nnogroup:x:65534:\n", sandboxUser, sandboxUID),
		"hosts":    "127.0.0.1\tlocalhost " + sandboxHost + "\n::1\tlocalhost ip6-localhost ip6-loopback\n",
		"hostname": sandboxHost + "\n",
	}
	if dns != "" {
		files["resolv.conf"] = resolvConf(dns)
	}
	for name, body := range files {
		if err := os.WriteFile(path.Join(etc, name), []byte(body), 0o644); err != nil {
			return fmt.Errorf("write /etc/%s: %w", name, err)
		}
	}
	for _, e := range entries {
		dst := path.Join(etc, e.Name)
		switch {
		case files[e.Name] != "":
		case e.Link != "":
			os.Symlink(e.Link, dst)
		case e.Dir:
			if err := os.Mkdir(dst, 0o755); err != nil {
				return fmt.Errorf("make %s: %w", dst, err)
			}
		default:
			os.WriteFile(dst, e.Body, 0o644)
		}
	}
	return nil
}

func resolvConf(dns string) string { return "nameserver " + dns + "\n" }

// buildEtc makes root's /etc: the runner's template bound read-only when
// it sent one, else filled here; then the host's directories bound over
// their empty ones.
func buildEtc(root, dns string) error {
	etc := path.Join(root, "etc")
	if err := os.Mkdir(etc, 0o755); err != nil {
		return fmt.Errorf("make /etc: %w", err)
	}
	if os.Getenv(envEtc) != "1" {
		if err := WriteEtc(etc, EtcEntries("/etc"), dns); err != nil {
			return err
		}
		return bindEtcDirs(etc)
	}
	err := unix.MoveMount(fdEtc, "", unix.AT_FDCWD, etc, unix.MOVE_MOUNT_F_EMPTY_PATH)
	// A handle on a host directory: gone before anything else runs here.
	unix.Close(fdEtc)
	if err != nil {
		return fmt.Errorf("attach the runner's /etc: %w", err)
	}
	conf := path.Join(etc, "resolv.conf")
	if _, err := os.Lstat(conf); err != nil && dns != "" {
		// No host resolv.conf to put the sandbox's own over (none the
		// init's ids can read): fill /etc here instead, writing it.
		if err := unix.Unmount(etc, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("detach the runner's /etc: %w", err)
		}
		if err := WriteEtc(etc, EtcEntries("/etc"), dns); err != nil {
			return err
		}
		return bindEtcDirs(etc)
	}
	if err := bindEtcDirs(etc); err != nil {
		return err
	}
	if dns == "" {
		return nil
	}
	// The template holds the host's resolv.conf; a command with a
	// network gets the sandbox's own nameserver over it, with the mode
	// an init gives the file it writes.
	return overlayFiles(path.Join(root, ".amf-etc"), 0o644, map[string][]byte{conf: []byte(resolvConf(dns))})
}

// bindEtcDirs binds, read-only, the host's directory over each empty one
// of etc that etcCopies names. One the host no longer has as a directory
// stays empty.
func bindEtcDirs(etc string) error {
	for _, name := range etcCopies {
		dst := path.Join(etc, name)
		if fi, err := os.Lstat(dst); err != nil || !fi.IsDir() {
			continue
		}
		src := path.Join("/etc", name)
		if fi, err := os.Lstat(src); err != nil || !fi.IsDir() {
			continue
		}
		if err := bind(src, dst, true); err != nil {
			return err
		}
	}
	return nil
}
