package child

import (
	"encoding/json"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The spawner protocol. Forking the worker to start an init is costly:
// an init needs a new user namespace, which rules out vfork, so every
// fork would copy the worker's page tables and leave it copy-on-write
// faults. The runner therefore starts, once and by vfork, a small copy
// of this binary as spawnerArg0 with spawnerEnv set and a SOCK_SEQPACKET
// socket at fdSpawner, and has it fork the inits instead.
//
// Each request is a spawnRequest as JSON with two descriptors attached:
// the init's end of its control socket and the runner's status socket
// for that init. On the status socket the spawner sends one spawnReport
// with the pid (and a pidfd attached) or the reason the start failed,
// then, once it has reaped the init, a second with its wait status.
// The spawner exits when the runner closes its end and every init it
// started has exited, so Close does not kill commands still running.
const (
	spawnerEnv  = "AMF_SANDBOX_SPAWNER"
	spawnerArg0 = "amf-sandbox-spawner"
	fdSpawner   = 3
)

// spawnerComm is the spawner's process name, NUL-terminated, at most 16
// bytes with it.
var spawnerComm = []byte("amf-spawner\x00")

// spawnRequest is what varies between inits; the rest of their
// SysProcAttr is fixed here.
type spawnRequest struct {
	Env        []string               `json:"env"`
	Cloneflags uintptr                `json:"clone"`
	UIDMap     []syscall.SysProcIDMap `json:"uid_map"`
	GIDMap     []syscall.SysProcIDMap `json:"gid_map"`
	Setgroups  bool                   `json:"setgroups"`
}

type spawnReport struct {
	Pid    int    `json:"pid,omitempty"`
	Err    string `json:"err,omitempty"`
	Done   bool   `json:"done,omitempty"`
	Status int    `json:"status,omitempty"` // a syscall.WaitStatus
	MaxRSS int64  `json:"maxrss,omitempty"`
}

func maybeSpawner() {
	if os.Getenv(spawnerEnv) != "1" || len(os.Args) == 0 || os.Args[0] != spawnerArg0 {
		return
	}
	// Started from a memory file by its descriptor, the process would be
	// named after the descriptor's number in ps and top.
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&spawnerComm[0])), 0, 0, 0)
	// The request socket must not reach the inits, which get fd 3 anew.
	unix.CloseOnExec(fdSpawner)
	var inits sync.WaitGroup
	buf := make([]byte, 256<<10)
	oob := make([]byte, unix.CmsgSpace(4*3)) // control, status and /etc
	for {
		n, oobn, _, _, err := unix.Recvmsg(fdSpawner, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
		fds := rights(oob[:oobn])
		var req spawnRequest
		if len(fds) < 2 || len(fds) > 3 || json.Unmarshal(buf[:n], &req) != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			continue
		}
		ctl, status := os.NewFile(uintptr(fds[0]), "sandbox-control"), os.NewFile(uintptr(fds[1]), "sandbox-status")
		var etc *os.File
		if len(fds) == 3 {
			etc = os.NewFile(uintptr(fds[2]), "sandbox-etc")
		}
		inits.Add(1)
		go func() {
			defer inits.Done()
			serveSpawn(req, ctl, status, etc)
		}()
	}
	// The inits die with this process (Pdeathsig): outlive them.
	inits.Wait()
	os.Exit(0)
}

// serveSpawn starts one init, reports it and, once reaped, its status.
// os.StartProcess, not os/exec, which would make Go initialise most of
// the program before this package (see doc.go). etc, when the runner
// sent one, is the init's /etc at fdEtc.
func serveSpawn(req spawnRequest, ctl, status, etc *os.File) {
	defer status.Close()
	if etc != nil {
		defer etc.Close()
	}
	// The init's standard descriptors are /dev/null, as os/exec's
	// would be, until the task's output replaces 1 and 2.
	null, err := os.Open(os.DevNull)
	if err != nil {
		ctl.Close()
		sendReport(status, spawnReport{Err: err.Error()}, -1)
		return
	}
	nullOut, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		null.Close()
		ctl.Close()
		sendReport(status, spawnReport{Err: err.Error()}, -1)
		return
	}
	proc, err := os.StartProcess("/proc/self/exe", []string{initArg0}, &os.ProcAttr{
		Env:   req.Env,
		Files: initFiles(null, nullOut, ctl, etc),
		Sys: &syscall.SysProcAttr{
			Cloneflags:                 req.Cloneflags,
			Credential:                 &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
			Pdeathsig:                  syscall.SIGKILL,
			Setsid:                     true,
			UidMappings:                req.UIDMap,
			GidMappings:                req.GIDMap,
			GidMappingsEnableSetgroups: req.Setgroups,
		},
	})
	null.Close()
	nullOut.Close()
	if etc != nil {
		etc.Close()
	}
	// Only the init may hold its end: the runner reads EOF when it dies.
	ctl.Close()
	if err != nil {
		sendReport(status, spawnReport{Err: err.Error()}, -1)
		return
	}
	// Not yet reaped, so the pid cannot have been reused.
	pidfd, err := unix.PidfdOpen(proc.Pid, 0)
	if err != nil {
		proc.Kill()
		proc.Wait()
		sendReport(status, spawnReport{Err: "pidfd: " + err.Error()}, -1)
		return
	}
	sendReport(status, spawnReport{Pid: proc.Pid}, pidfd)
	unix.Close(pidfd)
	state, err := proc.Wait()
	rep := spawnReport{Done: true}
	if err == nil {
		if ws, ok := state.Sys().(syscall.WaitStatus); ok {
			rep.Status = int(ws)
		}
		if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
			rep.MaxRSS = ru.Maxrss
		}
	}
	sendReport(status, rep, -1)
}

// initFiles are an init's first descriptors: standard ones, the control
// socket at fdControl and the runner's /etc, if any, at fdEtc.
func initFiles(null, nullOut, ctl, etc *os.File) []*os.File {
	files := []*os.File{null, nullOut, nullOut, ctl}
	if etc != nil {
		files = append(files, etc)
	}
	return files
}

// sendReport fails only when the runner has gone, and then nobody is
// left to tell.
func sendReport(status *os.File, rep spawnReport, fd int) {
	msg, _ := json.Marshal(rep)
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	unix.Sendmsg(int(status.Fd()), msg, oob, nil, unix.MSG_NOSIGNAL)
}

// rights returns the descriptors attached to a message.
func rights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}
