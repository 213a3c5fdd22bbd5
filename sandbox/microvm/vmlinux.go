//go:build linux

package microvm

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"

	"github.com/amf-os/amf/internal/atomicfile"
)

// extractVmlinux writes the uncompressed kernel (an ELF with a PVH
// entry point) held in a bzImage to dst, as the kernel tree's
// scripts/extract-vmlinux does: find the compressed payload by its
// magic and decompress it. An emulated guest that boots the bzImage
// spends seconds decompressing itself; the ELF boots directly. Debian
// compresses its kernels with xz (with the x86 BCJ filter, which only
// the xz tool reads), so the xz command (Debian xz-utils) does it.
func extractVmlinux(bzImage, dst string) error {
	data, err := os.ReadFile(bzImage)
	if err != nil {
		return fmt.Errorf("microvm: read the kernel: %w", err)
	}
	magic := []byte("\xfd7zXZ\x00")
	xz, err := exec.LookPath("xz")
	if err != nil {
		return fmt.Errorf("microvm: unpacking the guest kernel needs the xz command; install the Debian package xz-utils")
	}
	for off := 0; ; {
		i := bytes.Index(data[off:], magic)
		if i < 0 {
			return fmt.Errorf("microvm: %s holds no xz-compressed kernel this can unpack", bzImage)
		}
		off += i
		cmd := exec.Command(xz, "-dcq")
		cmd.Stdin = bytes.NewReader(data[off:])
		// Trailing bytes after the stream make xz complain; what it
		// wrote before is the whole kernel when it parses as an ELF.
		out, _ := cmd.Output()
		if f, err := elf.NewFile(bytes.NewReader(out)); err == nil {
			f.Close()
			if err := atomicfile.WriteFile(dst, out, 0o644); err != nil {
				return fmt.Errorf("microvm: write the kernel: %w", err)
			}
			return nil
		}
		off += len(magic)
	}
}
