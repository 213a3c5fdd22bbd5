// Package redistest runs a real redis-server for tests: on a free
// 127.0.0.1 port, with its files in a temporary directory, stopped by
// t.Cleanup. Tests can kill and restart it to exercise outages.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amf-os/amf/internal/testenv"
)

// Server is one redis-server process (or none, while killed).
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Start runs redis-server, or skips (fails under AMF_REQUIRE_ALL=1) when
// it is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: testenv.NeedBinary(t, "redis-server"), dir: t.TempDir(), port: testenv.FreePort(t)}
	t.Cleanup(s.Kill)
	s.Restart()
	return s
}

// URL is the redis:// address of the server.
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Kill stops the server at once (SIGKILL), losing its memory as a crash
// would; safe to call when already stopped.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port, empty, and waits
// until it answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatalf("redistest: already running")
	}
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning")
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
	// Drain its output so it never blocks on a full pipe; the reader
	// ends when the process exits.
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
		}
	}()
	s.cmd = cmd // from here Kill stops it, even if it never answers
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.Addr()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("redistest: redis-server on %s did not answer PING within 10s", s.Addr())
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
