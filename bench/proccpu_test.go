package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc/PID/stat's times: USER_HZ, 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// treeCPU is the CPU time (user + system) spent so far by process pid and
// every process below it, including their children already reaped: the
// cost of one `amf up` with its spawner, sandboxes and commands. Unlike a
// rate it hardly moves when other work shares the machine, so it says
// whether a build does more work per task, not just whether it was
// unlucky. Zero when /proc cannot be read.
func treeCPU(pid int) time.Duration {
	type proc struct{ ppid, ticks int }
	procs := map[int]proc{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range dirs {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // it ended since the glob
		}
		// comm (field 2) may hold spaces: the fields that follow start
		// after its closing parenthesis.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fs := strings.Fields(s[i+1:])
		if len(fs) < 15 {
			continue
		}
		p, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
		ppid, _ := strconv.Atoi(fs[1])
		ticks := 0
		for _, k := range fs[11:15] { // utime stime cutime cstime
			n, _ := strconv.Atoi(k)
			ticks += n
		}
		procs[p] = proc{ppid, ticks}
	}
	var total int
	for p, pr := range procs {
		for q := p; q > 1; q = procs[q].ppid {
			if q == pid {
				total += pr.ticks
				break
			}
			if _, ok := procs[q]; !ok {
				break
			}
		}
	}
	return time.Duration(total) * clockTick
}

// childrenCPU is the CPU time (user + system) of this process's children
// reaped so far, with theirs.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
