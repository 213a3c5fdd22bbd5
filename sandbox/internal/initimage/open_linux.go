package initimage

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Seals are the seals the image always has.
const Seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// ErrNoImage says no image is built for this architecture.
var ErrNoImage = errors.New("no sandbox program is built for " + runtime.GOARCH)

var (
	mu     sync.Mutex
	opened *os.File // never closed: its descriptor is in Path
)

// Path returns the path by which this process executes the image, an
// executable memory file made on the first call and kept open for the
// process's life (/proc/self/fd/<its descriptor>); the descriptor is
// this package's alone, so nothing closes it and lets another file take
// its number. The file is sealed: nothing, not even this process, can
// change it after it is written, so no command can reach the program
// that starts the next command (the way a container once could
// overwrite runc through /proc/self/exe). It is read-only and
// close-on-exec, so no started program inherits it. A failure is not
// kept: the next call tries again.
func Path() (string, error) {
	f, err := file()
	if err != nil {
		return "", err
	}
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())), nil
}

// file returns the memory file, making it on the first successful call.
func file() (*os.File, error) {
	mu.Lock()
	defer mu.Unlock()
	if opened != nil {
		return opened, nil
	}
	f, err := open()
	if err != nil {
		return nil, err
	}
	opened = f
	return f, nil
}

func open() (*os.File, error) {
	if len(compressed) == 0 {
		return nil, ErrNoImage
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("sandbox program: %w", err)
	}
	// A child forked meanwhile would hold the writable descriptor until
	// its exec, and an exec of the image would fail (ETXTBSY) until then:
	// forks wait until it is closed (syscall.ForkLock is what os/exec
	// takes around its fork).
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	// MFD_EXEC says it is meant to be executed, which a kernel set to
	// refuse executable memory files (vm.memfd_noexec) then refuses
	// here, not at the first exec; kernels before 6.3 do not know the
	// flag.
	const flags = unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err := unix.MemfdCreate("amf-sandbox", flags|unix.MFD_EXEC)
	if err == unix.EINVAL {
		fd, err = unix.MemfdCreate("amf-sandbox", flags)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox program: memfd_create: %w", err)
	}
	rw := os.NewFile(uintptr(fd), "amf-sandbox")
	defer rw.Close()
	if _, err := io.Copy(rw, zr); err != nil {
		return nil, fmt.Errorf("sandbox program: %w", err)
	}
	if err := zr.Close(); err != nil {
		return nil, fmt.Errorf("sandbox program: %w", err)
	}
	// F_SEAL_EXEC (Linux 6.3) keeps its mode too: not even its owner
	// could make it unexecutable and stop every later init.
	_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, Seals|unix.F_SEAL_EXEC)
	if err == unix.EINVAL {
		_, err = unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, Seals)
	}
	if err != nil {
		return nil, fmt.Errorf("sandbox program: seal: %w", err)
	}
	// A file open for writing cannot be executed (ETXTBSY): keep a
	// read-only descriptor of it and close the one it was written by.
	ro, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(fd), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sandbox program: %w", err)
	}
	return ro, nil
}
