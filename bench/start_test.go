package bench

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
	"golang.org/x/sys/unix"
)

// BenchmarkStart measures what it costs to start the `amf` binary, N times
// in a row (AMF_BENCH_STARTS, 100): `help`, the whole program's start
// (`amf --help`: every command line pays it, and every build has it), and
// `sandbox-init`, the binary re-executed
// as a sandboxed command's init, as the sandbox's spawner starts one for
// every command where it has no program of its own to start (new user,
// mount, pid, ipc, uts and network namespaces), until it reports its root
// built, then released (it exits on EOF). The embedded sandbox program
// a runner starts instead (sandbox/internal/initimage) is measured beside
// this path by `go test -run '^$' -bench 'SpawnTrue/sandbox-cold' ./sandbox`.
// Reported per start: cpu-ms/start (user + system, the process's own),
// minflt/start (page faults), wall-ms/start.
//
//	go test -run '^$' -bench Start -benchtime 1x ./bench
//
// The init's side of this is the sandbox's own protocol (see
// sandbox/internal/child): its names are repeated here because a
// benchmark that runs older builds cannot import them.
func BenchmarkStart(b *testing.B) {
	n := envInt("AMF_BENCH_STARTS", 100)
	bin := amfBin(b)
	b.Run("help", func(b *testing.B) {
		starts(b, n, func() (*os.ProcessState, error) {
			cmd := exec.Command(bin, "--help")
			err := cmd.Run()
			return cmd.ProcessState, err
		})
	})
	b.Run("sandbox-init", func(b *testing.B) {
		testenv.NeedRoot(b)
		starts(b, n, func() (*os.ProcessState, error) { return startInit(bin) })
	})
}

// starts runs start n times per round and reports its costs per start.
func starts(b *testing.B, n int, start func() (*os.ProcessState, error)) {
	var cpu, wall time.Duration
	var flt int64
	for b.Loop() {
		cpu, wall, flt = 0, 0, 0
		for range n {
			t0 := time.Now()
			st, err := start()
			if err != nil {
				b.Fatal(err)
			}
			wall += time.Since(t0)
			cpu += st.UserTime() + st.SystemTime()
			if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
				flt += ru.Minflt
			}
		}
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/start")
	b.ReportMetric(float64(flt)/float64(n), "minflt/start")
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(n), "wall-ms/start")
}

// startInit starts bin as a sandbox init and waits for it to report
// ready, then closes its control socket, which ends it.
func startInit(bin string) (*os.ProcessState, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "control"), os.NewFile(uintptr(fds[1]), "control")
	defer ours.Close()
	// Started by its descriptor, as the spawner starts /proc/self/exe:
	// the init's user may not search the directory bin is in.
	exe, err := os.Open(bin)
	if err != nil {
		theirs.Close()
		return nil, err
	}
	defer exe.Close()
	// Ids 0–65535 inside map to a range no user of this host has.
	idmap := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 3_000_000_000, Size: 65536}}
	cmd := &exec.Cmd{
		Path:       "/proc/self/fd/4",
		Args:       []string{"amf-sandbox-init"},
		Env:        []string{"AMF_SANDBOX_INIT=1"},
		ExtraFiles: []*os.File{theirs, exe},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
				syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNET,
			Credential:                 &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
			Pdeathsig:                  syscall.SIGKILL,
			UidMappings:                idmap,
			GidMappings:                idmap,
			GidMappingsEnableSetgroups: true,
		},
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4096)
	k, err := ours.Read(buf)
	if err != nil || k != 1 || buf[0] != 0 {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("sandbox init did not report ready: %q, %v", buf[:max(k, 0)], err)
	}
	ours.Close()
	if err := cmd.Wait(); err != nil {
		return nil, err
	}
	return cmd.ProcessState, nil
}
