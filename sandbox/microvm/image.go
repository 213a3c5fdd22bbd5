//go:build linux

package microvm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/amf-os/amf/internal/atomicfile"
)

// Image is a guest: a kernel and the initramfs whose /init is the agent.
type Image struct {
	// Kernel is the uncompressed kernel (vmlinux, unpacked from the
	// Debian bzImage) QEMU loads.
	Kernel string
	// Initrd is the assembled initramfs (cpio, uncompressed).
	Initrd string
	// Version is the kernel release, as under /lib/modules.
	Version string
}

// guestModules are the modules the agent loads, with their dependencies
// taken from modules.dep. Debian's generic kernel builds them as
// modules; its cloud kernel lacks 9p altogether. virtio_net is the NIC
// of guests with a network; the others have no NIC to bind it to.
var guestModules = []string{"virtio_mmio", "virtio_console", "9pnet_virtio", "9p", "virtio_net"}

// etcFiles are copied from the host's /etc into the guest's: what the
// dynamic linker, name lookups and alternatives need. Nothing secret:
// passwd and group are written fresh.
var etcFiles = []string{"ld.so.cache", "ld.so.conf", "nsswitch.conf", "localtime"}

// guestModDir is where the initramfs keeps the modules, numbered in
// load order.
const guestModDir = "amf/modules"

// Assemble builds the guest image for the agent binary (normally this
// very executable) into dir, or returns the one already built there for
// the same kernel and binary. kernel names a kernel release; empty means
// the newest one under /boot whose modules include 9p.
func Assemble(dir, agent, kernel string) (*Image, error) {
	ver, kpath, err := findKernel(kernel)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(agent)
	if err != nil {
		return nil, fmt.Errorf("microvm: read the agent binary: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "v1\x00%s\x00%s\x00%d\x00%d", ver, agent, st.Size(), st.ModTime().UnixNano())
	key := hex.EncodeToString(h.Sum(nil))[:16]
	out := filepath.Join(dir, "image-"+key)
	img := &Image{Kernel: filepath.Join(dir, "vmlinux-"+ver), Initrd: filepath.Join(out, "initrd.cpio"), Version: ver}
	if _, err := os.Stat(img.Kernel); err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("microvm: make the image dir: %w", err)
		}
		if err := extractVmlinux(kpath, img.Kernel); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(img.Initrd); err == nil {
		return img, nil
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("microvm: make the image dir: %w", err)
	}
	err = atomicfile.Write(img.Initrd, 0o600, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := writeInitramfs(bw, agent, ver); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return nil, fmt.Errorf("microvm: write the initramfs: %w", err)
	}
	return img, nil
}

// findKernel picks the kernel release and its image under /boot.
func findKernel(want string) (ver, path string, err error) {
	var cands []string
	if want != "" {
		cands = []string{want}
	} else {
		imgs, _ := filepath.Glob("/boot/vmlinuz-*")
		for _, p := range imgs {
			cands = append(cands, strings.TrimPrefix(filepath.Base(p), "vmlinuz-"))
		}
		sort.Sort(sort.Reverse(sort.StringSlice(cands)))
	}
	for _, v := range cands {
		k := "/boot/vmlinuz-" + v
		if _, err := os.Stat(k); err != nil {
			continue
		}
		dep, err := os.ReadFile(filepath.Join("/lib/modules", v, "modules.dep"))
		if err != nil || !bytes.Contains(dep, []byte("/9p.ko")) {
			continue
		}
		return v, k, nil
	}
	if want != "" {
		return "", "", fmt.Errorf("%w: kernel %s: need /boot/vmlinuz-%s and its modules with 9p under /lib/modules/%s (Debian package linux-image-amd64)", ErrNoKernel, want, want, want)
	}
	return "", "", fmt.Errorf("%w: no /boot/vmlinuz-* with 9p modules under /lib/modules; install the Debian package linux-image-amd64 (the cloud kernel lacks 9p)", ErrNoKernel)
}

// moduleOrder resolves the guest's modules and their dependencies from
// modules.dep into load order (dependencies first).
func moduleOrder(ver string) ([]string, error) {
	base := filepath.Join("/lib/modules", ver)
	f, err := os.Open(filepath.Join(base, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("microvm: read modules.dep: %w", err)
	}
	defer f.Close()
	deps := map[string][]string{}
	byName := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
		name := strings.TrimSuffix(filepath.Base(mod), ".ko")
		byName[strings.ReplaceAll(name, "-", "_")] = mod
	}
	var order []string
	seen := map[string]bool{}
	var visit func(m string)
	visit = func(m string) {
		if seen[m] {
			return
		}
		seen[m] = true
		for _, d := range deps[m] {
			visit(d)
		}
		order = append(order, filepath.Join(base, m))
	}
	for _, n := range guestModules {
		m, ok := byName[n]
		if !ok {
			// Built into this kernel: nothing to load.
			continue
		}
		visit(m)
	}
	return order, nil
}

func writeInitramfs(w *bufio.Writer, agent, ver string) error {
	c := &cpioWriter{w: w}
	for _, d := range []string{"proc", "sys", "dev", "tmp", "work", "usr", "etc", "root", "amf", guestModDir, "share"} {
		c.Dir(d, 0o755)
	}
	bin, err := os.ReadFile(agent)
	if err != nil {
		return fmt.Errorf("microvm: read the agent binary: %w", err)
	}
	c.File("init", 0o755, bin)
	// The agent's own shared libraries, at the paths its loader looks
	// in; the agent swaps these directories for links into the host's
	// /usr once that is mounted.
	libs, err := elfDeps(agent)
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, l := range libs {
		for d := filepath.Dir(l); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		c.Dir(strings.TrimPrefix(d, "/"), 0o755)
	}
	for _, l := range libs {
		data, err := os.ReadFile(l)
		if err != nil {
			return fmt.Errorf("microvm: read %s: %w", l, err)
		}
		c.File(strings.TrimPrefix(l, "/"), 0o755, data)
	}
	mods, err := moduleOrder(ver)
	if err != nil {
		return err
	}
	for i, m := range mods {
		data, err := os.ReadFile(m)
		if err != nil {
			return fmt.Errorf("microvm: read module %s: %w", m, err)
		}
		c.File(fmt.Sprintf("%s/%02d-%s", guestModDir, i, filepath.Base(m)), 0o644, data)
	}
	writeEtc(c)
	return c.Close()
}

func writeEtc(c *cpioWriter) {
	// passwd and group are written by the agent, which knows the
	// command's ids.
	c.File("etc/hosts", 0o644, []byte("127.0.0.1\tlocalhost amf-sandbox\n::1\tlocalhost\n"))
	c.File("etc/hostname", 0o644, []byte("amf-sandbox\n"))
	for _, n := range etcFiles {
		p := filepath.Join("/etc", n)
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			if data, err := os.ReadFile(p); err == nil {
				c.File("etc/"+n, 0o644, data)
			}
		} else if t, err := os.Readlink(p); err == nil {
			c.Symlink("etc/"+n, t)
		}
	}
	// Alternatives are links into /usr (awk → mawk); copy the links.
	if ents, err := os.ReadDir("/etc/alternatives"); err == nil {
		c.Dir("etc/alternatives", 0o755)
		for _, e := range ents {
			if t, err := os.Readlink(filepath.Join("/etc/alternatives", e.Name())); err == nil {
				c.Symlink("etc/alternatives/"+e.Name(), t)
			}
		}
	}
}

// elfDeps lists the files a dynamically linked binary loads (its
// interpreter and the libraries it needs, transitively), resolved to
// the paths the loader opens. A static binary needs none.
func elfDeps(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("microvm: read the agent binary as ELF: %w", err)
	}
	defer f.Close()
	var out []string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return nil, fmt.Errorf("microvm: read the agent's interpreter: %w", err)
			}
			out = append(out, strings.TrimRight(string(b), "\x00"))
		}
	}
	seen := map[string]bool{}
	var walk func(f *elf.File) error
	walk = func(f *elf.File) error {
		libs, _ := f.ImportedLibraries()
		for _, l := range libs {
			if seen[l] {
				continue
			}
			seen[l] = true
			p := findLib(l)
			if p == "" {
				return fmt.Errorf("microvm: the agent needs %s, which is not in the usual library directories", l)
			}
			out = append(out, p)
			lf, err := elf.Open(p)
			if err != nil {
				return fmt.Errorf("microvm: read %s: %w", p, err)
			}
			err = walk(lf)
			lf.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(f); err != nil {
		return nil, err
	}
	return out, nil
}

var libDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}

func findLib(name string) string {
	for _, d := range libDirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
