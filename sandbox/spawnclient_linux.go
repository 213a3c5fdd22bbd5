package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// spawner is the runner's side of the spawner process (see
// maybeSpawner).
type spawner struct {
	path   string     // the program started as the spawner (see startSpawning)
	mu     sync.Mutex // serialises sends, restarts and Close
	fd     int        // request socket, -1 when there is no spawner
	pid    int
	gen    int  // counts launches: an init outlives no relaunch
	exited bool // the spawner of generation gen has exited
	closed bool
	// reapers wait for spawner processes; close waits for them (bounded)
	// so no goroutine outlives the runner.
	reapers sync.WaitGroup
}

// startSpawner starts the spawner process from the program at path; the
// spawner starts its inits from the same program.
func startSpawner(path string) (*spawner, error) {
	s := &spawner{path: path, fd: -1}
	if err := s.launch(); err != nil {
		return nil, err
	}
	return s, nil
}

// launch starts a spawner process, with no namespace flags so the
// worker is vforked, not copied. Called with mu held or before s is
// shared.
func (s *spawner) launch() error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("spawner socket: %w", err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "sandbox-spawner")
	cmd := &exec.Cmd{
		Path:        s.path,
		Args:        []string{spawnerArg0},
		Env:         append(raceEnv(), spawnerEnv+"=1"),
		Stderr:      os.Stderr, // a crash of the spawner must be seen
		ExtraFiles:  []*os.File{theirs},
		SysProcAttr: &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		unix.Close(fds[0])
		return fmt.Errorf("start spawner: %w", err)
	}
	s.fd, s.pid = fds[0], cmd.Process.Pid
	s.gen++
	gen := s.gen
	// Reaps the spawner, which outlives Close until the commands it
	// started have finished; ends when it exits.
	s.reapers.Add(1)
	go func() {
		defer s.reapers.Done()
		_ = cmd.Wait()
		s.mu.Lock()
		if s.gen == gen {
			s.exited = true
		}
		s.mu.Unlock()
	}()
	return nil
}

// send hands a request to the spawner, starting a new one if the last
// has died: its inits died with it, but later commands need not.
// It returns the generation of the spawner that took the request.
func (s *spawner) send(msg []byte, fds []int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	relaunched := false
	for {
		if s.closed {
			return 0, errors.New("runner closed")
		}
		if s.fd >= 0 && s.exited {
			unix.Close(s.fd)
			s.fd = -1
		}
		if s.fd < 0 {
			s.exited = false
			if err := s.launch(); err != nil {
				return 0, err
			}
			relaunched = true
		}
		err := unix.Sendmsg(s.fd, msg, unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL)
		switch {
		case err == unix.EINTR:
			continue
		case relaunched || err != unix.EPIPE && err != unix.ECONNRESET:
			return s.gen, err
		}
		unix.Close(s.fd)
		s.fd = -1
	}
}

// start asks the spawner for an init whose control socket is ctl and,
// when etc is a descriptor, whose /etc is that directory (see
// etcTemplate).
func (s *spawner) start(req spawnRequest, ctl *os.File, etc int) (*initProc, error) {
	msg, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	status := os.NewFile(uintptr(fds[0]), "sandbox-status")
	pass := []int{int(ctl.Fd()), fds[1]}
	if etc >= 0 {
		pass = append(pass, etc)
	}
	gen, err := s.send(msg, pass)
	unix.Close(fds[1])
	if err != nil {
		status.Close()
		return nil, fmt.Errorf("ask spawner: %w", err)
	}
	rep, pidfd, err := readReport(status)
	if err == nil && rep.Err != "" {
		err = errors.New(rep.Err)
	}
	if err == nil && (pidfd < 0 || rep.Pid <= 0) {
		err = errors.New("spawner reply lacks the init")
	}
	if err != nil {
		if pidfd >= 0 {
			unix.Close(pidfd)
		}
		status.Close()
		return nil, err
	}
	return &initProc{pid: rep.Pid, pidfd: pidfd, status: status, gen: gen}, nil
}

// current reports whether the spawner that started an init of
// generation gen is still the one running: a warm init whose spawner died
// cannot be reaped or reported, and must not get a task.
func (s *spawner) current(gen int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fd >= 0 && s.gen == gen && !s.exited
}

// close lets the spawner exit once its inits have.
func (s *spawner) close() {
	s.mu.Lock()
	s.closed = true
	if s.fd >= 0 {
		unix.Close(s.fd)
		s.fd = -1
	}
	s.mu.Unlock()
	// The spawner exits once its socket is closed and its last command
	// has ended; a command still running keeps it (and this wait, for at
	// most spawnerExitWait) so that closing never kills a command.
	done := make(chan struct{})
	go func() { s.reapers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(spawnerExitWait):
	}
}

// spawnerExitWait bounds how long Close waits for the spawner to exit.
const spawnerExitWait = 5 * time.Second

func readReport(status *os.File) (spawnReport, int, error) {
	var rep spawnReport
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(status.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return rep, -1, fmt.Errorf("spawner: %w", err)
		}
		fd := -1
		if got := rights(oob[:oobn]); len(got) > 0 {
			fd = got[0]
			for _, extra := range got[1:] {
				unix.Close(extra)
			}
		}
		if n == 0 {
			if fd >= 0 {
				unix.Close(fd)
			}
			return rep, -1, errors.New("spawner gone")
		}
		if err := json.Unmarshal(buf[:n], &rep); err != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			return rep, -1, fmt.Errorf("spawner reply: %w", err)
		}
		return rep, fd, nil
	}
}

// kill stops the init and everything in its pid namespace. The pidfd
// cannot reach a reused pid.
func (p *initProc) kill() {
	unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0)
}

// wait returns the init's exit as the spawner reaped it.
func (p *initProc) wait() (syscall.WaitStatus, int64, error) {
	rep, fd, err := readReport(p.status)
	if fd >= 0 {
		unix.Close(fd)
	}
	if err == nil && !rep.Done {
		err = errors.New("spawner: unexpected report")
	}
	return syscall.WaitStatus(rep.Status), rep.MaxRSS, err
}

// release closes the descriptors of an init that has been waited for.
func (p *initProc) release() {
	p.status.Close()
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
}

// raceEnv carries GORACE to the spawner and the inits, which are this
// binary again where the sandbox's own program cannot run: a
// race-enabled build otherwise sleeps a second at every exit. It never reaches a command, whose environment is built anew.
func raceEnv() []string {
	if v, ok := os.LookupEnv("GORACE"); ok {
		return []string{"GORACE=" + v}
	}
	return nil
}
