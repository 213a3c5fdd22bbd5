package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Controllers the sandbox limits with.
var cgroupControllers = []string{"memory", "pids", "cpu"}

// cgroups knows, per controller, the directory under which task cgroups
// are made: a child "amf-sandbox" of this process's own cgroup, in the
// unified (v2) hierarchy when the controller is enabled there, otherwise
// in the controller's v1 hierarchy. Hybrid hosts use both.
type cgroups struct {
	parents map[string]string // controller → parent dir
	v2      map[string]bool   // controller → parent is in the v2 hierarchy
	missing []string          // controllers with no usable hierarchy
}

type mountInfo struct {
	root, point, fstype string
	super               []string
}

func readMountInfo() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountInfo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 > len(fields) || len(fields) < 5 {
			continue
		}
		out = append(out, mountInfo{root: fields[3], point: fields[4], fstype: fields[sep+1], super: strings.Split(fields[sep+3], ",")})
	}
	return out, sc.Err()
}

// ownCgroups maps hierarchy keys ("" for v2, else a controller name) to
// this process's path in that hierarchy.
func ownCgroups() (map[string]string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, nil
}

func hierarchyDir(m mountInfo, own string) string {
	rel := own
	if m.root != "/" {
		rel = strings.TrimPrefix(own, m.root)
	}
	return filepath.Join(m.point, rel)
}

func newCgroups() *cgroups {
	cg := &cgroups{parents: map[string]string{}, v2: map[string]bool{}}
	mounts, err := readMountInfo()
	own, err2 := ownCgroups()
	if err != nil || err2 != nil {
		cg.missing = cgroupControllers
		return cg
	}
	// Unified hierarchy first.
	for _, m := range mounts {
		if m.fstype != "cgroup2" {
			continue
		}
		path, ok := own[""]
		if !ok {
			break
		}
		dir := hierarchyDir(m, path)
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
		if err != nil {
			break
		}
		avail := strings.Fields(string(b))
		var want []string
		for _, c := range cgroupControllers {
			for _, a := range avail {
				if a == c {
					want = append(want, c)
				}
			}
		}
		if len(want) == 0 {
			break
		}
		parent := filepath.Join(dir, "amf-sandbox")
		if enableV2(dir, parent, want) == nil {
			for _, c := range want {
				cg.parents[c] = parent
				cg.v2[c] = true
			}
		}
		break
	}
	defer cg.sweep()
	for _, c := range cgroupControllers {
		if cg.parents[c] != "" {
			continue
		}
		for _, m := range mounts {
			if m.fstype != "cgroup" || !contains(m.super, c) {
				continue
			}
			path, ok := own[c]
			if !ok {
				continue
			}
			parent := filepath.Join(hierarchyDir(m, path), "amf-sandbox")
			if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
				continue
			}
			cg.parents[c] = parent
			break
		}
		if cg.parents[c] == "" {
			cg.missing = append(cg.missing, c)
		}
	}
	return cg
}

// staleAfter is how old an empty task cgroup must be before a new runner
// removes it: one left behind by a runner that exited before cleaning up.
const staleAfter = time.Minute

// sweep removes stale task cgroups. rmdir fails on a cgroup that still
// has processes, so a live command's cgroup is never touched.
func (cg *cgroups) sweep() {
	seen := map[string]bool{}
	for _, parent := range cg.parents {
		if seen[parent] {
			continue
		}
		seen[parent] = true
		entries, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleAfter {
				os.Remove(filepath.Join(parent, e.Name()))
			}
		}
	}
}

// enableV2 makes parent under dir with the controllers delegated to its
// children. The no-internal-processes rule forbids enabling controllers
// for the children of a cgroup that holds processes, which is where a
// service usually runs (systemd's Delegate=yes); then the processes of dir
// move to a "worker" leaf beside parent first, as container runtimes do.
func enableV2(dir, parent string, want []string) error {
	var plus []string
	for _, c := range want {
		plus = append(plus, "+"+c)
	}
	ctl := strings.Join(plus, " ")
	subtree := filepath.Join(dir, "cgroup.subtree_control")
	if err := os.WriteFile(subtree, []byte(ctl), 0); err != nil {
		if !errors.Is(err, syscall.EBUSY) {
			return err
		}
		if err := evacuate(dir, filepath.Join(dir, "worker")); err != nil {
			return err
		}
		if err := os.WriteFile(subtree, []byte(ctl), 0); err != nil {
			return err
		}
	}
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte(ctl), 0)
}

// evacuate moves every process of dir into the leaf cgroup.
func evacuate(dir, leaf string) error {
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return err
	}
	for _, pid := range strings.Fields(string(b)) {
		if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(pid), 0); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("move %s to %s: %w", pid, leaf, err)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// taskCgroup is one command's cgroups, one per controller.
type taskCgroup struct {
	cg   *cgroups
	dirs map[string]string
}

// create makes the task's cgroups and writes the limits; what cannot be
// made is returned by name.
func (cg *cgroups) create(id string, lim Limits) (*taskCgroup, []string) {
	t := &taskCgroup{cg: cg, dirs: map[string]string{}}
	missing := append([]string(nil), cg.missing...)
	for _, c := range cgroupControllers {
		parent := cg.parents[c]
		if parent == "" {
			continue
		}
		dir := filepath.Join(parent, id)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			missing = append(missing, c)
			continue
		}
		if err := writeLimit(c, dir, cg.v2[c], lim); err != nil {
			missing = append(missing, c)
			continue
		}
		t.dirs[c] = dir
	}
	return t, missing
}

func writeLimit(c, dir string, v2 bool, lim Limits) error {
	w := func(file, val string) error { return os.WriteFile(filepath.Join(dir, file), []byte(val), 0) }
	switch {
	case c == "memory" && v2:
		if err := w("memory.max", strconv.FormatInt(lim.Memory, 10)); err != nil {
			return err
		}
		w("memory.swap.max", "0")
	case c == "memory":
		if err := w("memory.limit_in_bytes", strconv.FormatInt(lim.Memory, 10)); err != nil {
			return err
		}
		w("memory.memsw.limit_in_bytes", strconv.FormatInt(lim.Memory, 10))
	case c == "pids":
		return w("pids.max", strconv.FormatInt(lim.Processes, 10))
	case c == "cpu" && v2:
		return w("cpu.max", fmt.Sprintf("%d 100000", int64(lim.CPUs*100000)))
	case c == "cpu":
		if err := w("cpu.cfs_period_us", "100000"); err != nil {
			return err
		}
		return w("cpu.cfs_quota_us", strconv.FormatInt(int64(lim.CPUs*100000), 10))
	}
	return nil
}

// add moves a process into every task cgroup.
func (t *taskCgroup) add(pid int) error {
	var errs []error
	for c, dir := range t.dirs {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c, err))
		}
	}
	return errors.Join(errs...)
}

// resetPeak forgets the memory the init used while it waited, so the
// peak reported is the command's (v1 only; v2 has no global reset).
func (t *taskCgroup) resetPeak() {
	if dir, ok := t.dirs["memory"]; ok && !t.cg.v2["memory"] {
		os.WriteFile(filepath.Join(dir, "memory.max_usage_in_bytes"), []byte("0"), 0)
	}
}

// usage reads peak memory and which limits the command ran into.
func (t *taskCgroup) usage() (peakKB int64, hit []string) {
	read := func(c, file string) string {
		b, _ := os.ReadFile(filepath.Join(t.dirs[c], file))
		return string(b)
	}
	if _, ok := t.dirs["memory"]; ok {
		if t.cg.v2["memory"] {
			peakKB = atoi64(read("memory", "memory.peak")) / 1024
			if keyed(read("memory", "memory.events"), "oom_kill") > 0 {
				hit = append(hit, "memory")
			}
		} else {
			peakKB = atoi64(read("memory", "memory.max_usage_in_bytes")) / 1024
			if keyed(read("memory", "memory.oom_control"), "oom_kill") > 0 || atoi64(read("memory", "memory.failcnt")) > 0 {
				hit = append(hit, "memory")
			}
		}
	}
	if _, ok := t.dirs["pids"]; ok && keyed(read("pids", "pids.events"), "max") > 0 {
		hit = append(hit, "pids")
	}
	return peakKB, hit
}

// remove deletes the task cgroups once their processes are gone; a pid
// namespace's processes die right after its init, so a few retries cover
// the moment the kernel takes to reap them.
func (t *taskCgroup) remove() {
	for _, dir := range t.dirs {
		for i := 0; i < 50; i++ {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) || !errors.Is(err, syscall.EBUSY) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

func keyed(s, key string) int64 {
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			return atoi64(v)
		}
	}
	return 0
}
