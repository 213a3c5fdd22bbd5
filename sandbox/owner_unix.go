//go:build unix

package sandbox

import (
	"os"
	"syscall"
)

// ownerOf returns the uid and gid that own a file, as the host sees them.
func ownerOf(fi os.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}
