//go:build linux

package microvm

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// QEMU launches guests as QEMU microvm machines: no PCI, no firmware
// beyond qboot, virtio-mmio devices only. Accel is "kvm" or "tcg".
type QEMU struct {
	// Binary is qemu-system-x86_64's path; empty looks it up in PATH.
	Binary string
	// Accel is "kvm" or "tcg" (software emulation).
	Accel string
}

var _ Launcher = (*QEMU)(nil)

// FindQEMU returns the path of qemu-system-x86_64 or ErrNoQEMU.
func FindQEMU() (string, error) {
	p, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return "", ErrNoQEMU
	}
	return p, nil
}

// Name implements Launcher.
func (q *QEMU) Name() string { return "qemu-" + q.Accel }

// Launch implements Launcher.
func (q *QEMU) Launch(ctx context.Context, m MachineSpec) (Machine, error) {
	bin := q.Binary
	if bin == "" {
		var err error
		if bin, err = FindQEMU(); err != nil {
			return nil, err
		}
	}
	console, err := os.OpenFile(m.Console, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("microvm: open the console log: %w", err)
	}
	defer console.Close()
	cmd := exec.Command(bin, q.args(m)...)
	cmd.Stdout, cmd.Stderr = console, console
	cmd.Dir = m.Dir
	// The machine dies with the process that owns it, even if that one
	// is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if m.Network {
		// The new network namespace is made by the kernel as the child
		// is cloned, before QEMU runs: no Go thread of ours ever
		// changes namespace (setns on a locked thread would need that
		// thread never to run anything else), and QEMU's user-mode
		// network opens its sockets only in that namespace, whose
		// loopback is its own and empty. The caller wires the
		// namespace to the host by the process's id after the start;
		// until then it has no route, so nothing leaves early.
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("microvm: start %s: %w", bin, err)
	}
	qm := &qemuMachine{cmd: cmd, done: make(chan struct{})}
	go func() {
		qm.err = cmd.Wait()
		close(qm.done)
	}()
	return qm, nil
}

func (q *QEMU) args(m MachineSpec) []string {
	cmdline := append([]string{
		"console=ttyS0", "quiet", "loglevel=4", "panic=-1", "reboot=t",
		// Without it the kernel calibrates the TSC against a timer that
		// emulation makes erratic, and some boots hang at "Marking TSC
		// unstable".
		"tsc_early_khz=" + strconv.Itoa(hostTSCkHz()),
		"8250.nr_uarts=1",
		guestEnv + "=1",
	}, m.Cmdline...)
	// Debian builds virtio_mmio without command-line devices: the guest
	// finds them in the ACPI tables, which also give it a power button.
	machine := "microvm,x-option-roms=off,rtc=on,pcie=off,acpi=on,auto-kernel-cmdline=off"
	cpu := "max"
	if q.Accel == "kvm" {
		cpu = "host"
	}
	accel := q.Accel
	if accel == AccelTCG {
		// The translation cache grows to 1 GiB by default; a guest that
		// runs one command needs a fraction of it.
		accel += ",tb-size=64"
	}
	args := []string{
		"-M", machine, "-accel", accel, "-cpu", cpu,
		"-m", strconv.Itoa(m.MemoryMiB), "-smp", strconv.Itoa(max(m.CPUs, 1)),
		"-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
		"-serial", "stdio",
		"-kernel", m.Image.Kernel, "-initrd", m.Image.Initrd,
		"-append", strings.Join(cmdline, " "),
		// QEMU's own seccomp filter: no new processes, no privilege
		// changes, no obsolete system calls.
		"-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
		"-device", "virtio-serial-device",
		"-chardev", "socket,id=amfagent,path=" + m.AgentSocket,
		"-device", "virtserialport,chardev=amfagent,name=" + agentPort,
	}
	if m.Network {
		// User-mode NAT with no host forwarding (hostfwd), no guest
		// forwarding (guestfwd), no SMB and no TFTP: none is given.
		// The guest's traffic leaves from sockets of the machine's
		// process in its own network namespace, where 10.0.2.2 (the
		// "host" of user-mode networking) is that namespace's loopback.
		args = append(args, "-netdev", "user,id=net0,ipv6=off",
			"-device", "virtio-net-device,netdev=net0")
	}
	for i, s := range m.Shares {
		id := "fs" + strconv.Itoa(i)
		// A comma inside an option value is written twice.
		fsdev := "local,id=" + id + ",path=" + strings.ReplaceAll(s.Path, ",", ",,") + ",security_model=passthrough"
		if s.ReadOnly {
			fsdev += ",readonly=on"
		}
		args = append(args, "-fsdev", fsdev, "-device", "virtio-9p-device,fsdev="+id+",mount_tag="+s.Tag)
	}
	return args
}

type qemuMachine struct {
	cmd  *exec.Cmd
	once sync.Once
	done chan struct{}
	err  error
}

func (m *qemuMachine) Kill() {
	m.once.Do(func() { m.cmd.Process.Kill() })
}

func (m *qemuMachine) Wait() error { <-m.done; return m.err }

func (m *qemuMachine) Pid() int { return m.cmd.Process.Pid }

// hostTSCkHz is the host's TSC frequency, which an emulated guest's TSC
// follows. It is read from the kernel's "cpu MHz"; 2 GHz when unknown.
var hostTSCkHz = sync.OnceValue(func() int {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 2000000
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "cpu MHz" {
			if mhz, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && mhz > 0 {
				return int(mhz * 1000)
			}
		}
	}
	return 2000000
})
