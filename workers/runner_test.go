package workers_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/amf-os/amf/sandbox"
)

// execRunner runs commands with plain fork/exec; it stands in for the
// sandbox's runner in tests of the worker's own logic.
type execRunner struct{}

func testRunner(t testing.TB) sandbox.Runner { return execRunner{} }

func (execRunner) Name() string { return "exec" }

func (execRunner) Run(ctx context.Context, spec sandbox.Spec, out sandbox.OutputFunc) (sandbox.Result, error) {
	start := time.Now()
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", spec.Command)
	if spec.WorkDir != "" {
		if err := os.MkdirAll(spec.WorkDir, 0o755); err != nil {
			return sandbox.Result{}, err
		}
		cmd.Dir = spec.WorkDir
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return sandbox.Result{}, err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	pump := func(r io.Reader, s sandbox.Stream) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			mu.Lock()
			out(s, sc.Text())
			mu.Unlock()
		}
	}
	wg.Add(2)
	go pump(stdout, sandbox.Stdout)
	go pump(stderr, sandbox.Stderr)
	wg.Wait()
	err := cmd.Wait()
	res := sandbox.Result{Duration: time.Since(start), TimedOut: errors.Is(ctx.Err(), context.DeadlineExceeded)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		res.ExitCode = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
			res.ExitCode = 128 + int(ws.Signal())
		}
		err = nil
	}
	return res, err
}
