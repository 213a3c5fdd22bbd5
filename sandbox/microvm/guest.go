//go:build linux

package microvm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// GuestSpec describes the guests a pool boots.
type GuestSpec struct {
	Image     *Image
	Launcher  Launcher
	MemoryMiB int
	CPUs      int
	// Dir is where each guest keeps its socket, console log and work
	// share (Dir/<id>/).
	Dir string
	// BootTimeout bounds a boot; zero means 2 minutes (software
	// emulation on a loaded host is that slow).
	BootTimeout time.Duration
	// Network, when set, gives each guest a NIC (see
	// MachineSpec.Network) and is called with the machine's process id
	// once it runs, to wire that process's network namespace to the
	// host. It returns the DNS server the guest is to use and a release
	// called when the guest is destroyed. Nil: guests have no NIC.
	Network func(pid int) (dns string, release func(), err error)
}

// Guest is a booted machine whose agent waits for one task.
type Guest struct {
	m    Machine
	conn net.Conn
	dir  string
	// Share is the host directory the guest mounts as its work share;
	// a task's work dir is placed in it (see Task.WorkSub).
	Share string
	// BootTime is how long the guest took from launch to ready.
	BootTime time.Duration
	// DNS is the guest's DNS server, when it has a network.
	DNS        string
	used       bool
	netRelease func()
}

// Boot starts a guest and waits until its agent is ready. The guest's
// work share is a directory of its own (Guest.Share), into which a
// task's work dir is placed.
func Boot(ctx context.Context, gs GuestSpec) (*Guest, error) {
	if err := os.MkdirAll(gs.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("microvm: make the guests dir: %w", err)
	}
	dir, err := os.MkdirTemp(gs.Dir, "vm-")
	if err != nil {
		return nil, fmt.Errorf("microvm: make the guest dir: %w", err)
	}
	share := filepath.Join(dir, "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("microvm: make the work share: %w", err)
	}
	g := &Guest{dir: dir, Share: share}
	if err := g.boot(ctx, gs); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

func (g *Guest) boot(ctx context.Context, gs GuestSpec) error {
	// A socket path is limited to 108 bytes and state dirs can be
	// deeper: the socket is named through the guest dir's descriptor,
	// and QEMU, started in that dir, connects to it by its relative name.
	dirf, err := os.Open(g.dir)
	if err != nil {
		return fmt.Errorf("microvm: open the guest dir: %w", err)
	}
	defer dirf.Close()
	sock := fmt.Sprintf("/proc/self/fd/%d/agent.sock", dirf.Fd())
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		return fmt.Errorf("microvm: listen for the agent: %w", err)
	}
	defer ln.Close()
	timeout := gs.BootTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	start := time.Now()
	var cmdline []string
	if gs.Network != nil {
		cmdline = append(cmdline, netEnv+"=1")
	}
	m, err := gs.Launcher.Launch(ctx, MachineSpec{
		Network:     gs.Network != nil,
		Cmdline:     cmdline,
		Image:       gs.Image,
		MemoryMiB:   gs.MemoryMiB,
		CPUs:        gs.CPUs,
		Dir:         g.dir,
		AgentSocket: "agent.sock",
		Console:     filepath.Join(g.dir, "console.log"),
		Shares: []Share{
			{Tag: "usr", Path: "/usr", ReadOnly: true},
			{Tag: "share", Path: g.Share},
		},
	})
	if err != nil {
		return err
	}
	g.m = m
	if gs.Network != nil {
		if g.DNS, g.netRelease, err = gs.Network(m.Pid()); err != nil {
			return fmt.Errorf("%w: wire the guest's network: %v", ErrBoot, err)
		}
	}
	// The machine connects as it starts; a machine that dies first
	// never does.
	exited := make(chan struct{})
	go func() {
		m.Wait()
		close(exited)
		ln.Close()
	}()
	ln.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	conn, err := ln.Accept()
	stop()
	if err != nil {
		return g.bootError(ctx, exited, time.Since(start), "the machine never connected its agent port")
	}
	g.conn = conn
	conn.SetDeadline(deadline)
	stop = context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	typ, b, err := readFrame(conn)
	stop()
	if err != nil {
		return g.bootError(ctx, exited, time.Since(start), "no ready message from the agent")
	}
	if typ == frameFail {
		return fmt.Errorf("%w: the agent failed to start: %s", ErrBoot, b)
	}
	if typ != frameReady {
		return fmt.Errorf("%w: the agent sent %q before ready", ErrBoot, typ)
	}
	conn.SetDeadline(time.Time{})
	g.BootTime = time.Since(start)
	return nil
}

func (g *Guest) bootError(ctx context.Context, exited chan struct{}, took time.Duration, what string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %v", ErrBoot, ctx.Err())
	}
	why := "timed out"
	// The agent's socket closes as the machine exits; give the exit a
	// moment to be seen, for the message.
	select {
	case <-exited:
		why = "the machine exited"
	case <-time.After(500 * time.Millisecond):
	}
	return fmt.Errorf("%w after %v: %s (%s); console: %s", ErrBoot, took.Round(time.Millisecond), what, why, g.consoleTail())
}

// consoleTail is the end of the guest's console, for errors.
func (g *Guest) consoleTail() string {
	b, _ := os.ReadFile(filepath.Join(g.dir, "console.log"))
	b = bytes.TrimSpace(b)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	if len(b) == 0 {
		return "(empty)"
	}
	return strings.ReplaceAll(string(b), "\n", " | ")
}

// Run hands the guest its one task, streams the command's output to out
// as it arrives and returns how it ended. Ending ctx kills the guest.
// A guest runs one task; Close it afterwards.
func (g *Guest) Run(ctx context.Context, t Task, out func(stdout bool, chunk []byte)) (Exit, error) {
	if g.used {
		return Exit{}, fmt.Errorf("%w: a guest runs one task", ErrAgent)
	}
	g.used = true
	stop := context.AfterFunc(ctx, g.m.Kill)
	defer stop()
	b, err := json.Marshal(t)
	if err != nil {
		return Exit{}, fmt.Errorf("microvm: encode task: %w", err)
	}
	if err := writeFrame(g.conn, frameTask, b); err != nil {
		return Exit{}, g.runError(ctx, fmt.Errorf("send task: %w", err))
	}
	for {
		typ, b, err := readFrame(g.conn)
		if err != nil {
			return Exit{}, g.runError(ctx, err)
		}
		switch typ {
		case frameStdout, frameStderr:
			out(typ == frameStdout, b)
		case frameExit:
			var ex Exit
			if err := json.Unmarshal(b, &ex); err != nil {
				return Exit{}, fmt.Errorf("%w: decode exit: %v", ErrAgent, err)
			}
			return ex, nil
		case frameFail:
			return Exit{}, fmt.Errorf("%w: %s", ErrAgent, b)
		default:
			return Exit{}, fmt.Errorf("%w: unexpected frame %q", ErrAgent, typ)
		}
	}
}

func (g *Guest) runError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ErrAgent) {
		return err
	}
	return fmt.Errorf("%w: %v; console: %s", ErrAgent, err, g.consoleTail())
}

// Pid is the host process of the guest's machine.
func (g *Guest) Pid() int { return g.m.Pid() }

// Close destroys the guest and removes its files. Nothing is removed
// recursively: a task's work dir may still be bound into the share, and
// it is not the guest's to delete.
func (g *Guest) Close() {
	if g.m != nil {
		g.m.Kill()
		g.m.Wait()
	}
	if g.conn != nil {
		g.conn.Close()
	}
	if g.netRelease != nil {
		g.netRelease()
		g.netRelease = nil
	}
	for _, p := range []string{"agent.sock", "console.log", "share/w", "share", ""} {
		os.Remove(filepath.Join(g.dir, p))
	}
}
