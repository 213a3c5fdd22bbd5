package sandbox

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Each work dir is a tmpfs whose size= is its share of the runner's
// WorkDirTotal; the shares always sum to at most the total, so what all
// work dirs hold together stays within it at every moment: the kernel
// refuses the write that would pass a share. Shares move as work dirs
// come, go, start and end commands (rebalance): an idle work dir keeps
// exactly what it holds (nothing writes there), and the rest is shared
// among the work dirs with a running command, max-min fair (the smallest
// first, each up to WorkDirBytes). Sizes only ever change by reconfiguring
// a tmpfs, and one never shrinks below what it holds.

// workShare is one work dir's tmpfs as the shares see it.
type workShare interface {
	busy() bool     // a command uses it now
	held() int64    // bytes its blocks in use hold
	sizeNow() int64 // its size= now
	setSize(int64) error
}

// pageSize is the unit of a tmpfs's size: the kernel rounds size= up to
// pages, so every share is a whole number of them.
var pageSize = int64(os.Getpagesize())

// rebalance gives every work dir of h its share of lim.WorkDirTotal;
// called with h's lock held whenever a work dir is made, freed, or starts
// or ends a command. Shrinks come first and a grow takes only what is
// free after them, so the sizes sum to at most the total at every moment,
// even when a command writes into the slack being taken back (that
// shrink fails, and the grows are smaller until the next rebalance).
func rebalance(h workDirHolder, lim Limits) {
	if lim.WorkDirTotal <= 0 {
		return
	}
	s := h.shares()
	if int64(len(s))*lim.WorkDirBytes <= lim.WorkDirTotal {
		for _, d := range s { // every work dir fits whole
			if d.sizeNow() != lim.WorkDirBytes {
				_ = d.setSize(lim.WorkDirBytes)
			}
		}
		return
	}
	busy := make([]bool, len(s))
	held := make([]int64, len(s))
	for i, d := range s {
		busy[i], held[i] = d.busy(), d.held()
	}
	want := allot(lim, busy, held)
	var sum int64
	for i, d := range s {
		if want[i] < d.sizeNow() {
			_ = d.setSize(want[i]) // fails when it holds more by now: it keeps its size
		}
		sum += d.sizeNow()
	}
	for i, d := range s {
		grow := min(want[i]-d.sizeNow(), lim.WorkDirTotal-sum)
		if grow > 0 && d.setSize(d.sizeNow()+grow) == nil {
			sum += grow
		}
	}
}

// allot is the size each work dir should have: what it holds (at least a
// page: a tmpfs of size 0 is unbounded) and, for a busy one, up to an
// equal level of the rest of lim.WorkDirTotal, at most lim.WorkDirBytes.
func allot(lim Limits, busy []bool, held []int64) []int64 {
	want := make([]int64, len(held))
	free := lim.WorkDirTotal
	for i, h := range held {
		want[i] = max(pageUp(h), pageSize)
		free -= want[i]
	}
	limit := pageDown(lim.WorkDirBytes)
	// The level L is the highest at which raising every busy work dir
	// below it to L takes no more than what is free.
	need := func(level int64) int64 {
		var n int64
		for i, w := range want {
			if busy[i] && w < level {
				n += level - w
			}
		}
		return n
	}
	lo, hi := int64(0), limit
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if need(mid) <= free {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	level := pageDown(lo)
	for i := range want {
		if busy[i] && want[i] < level {
			want[i] = level
		}
	}
	return want
}

func pageDown(n int64) int64 { return n / pageSize * pageSize }
func pageUp(n int64) int64   { return (n + pageSize - 1) / pageSize * pageSize }

// resizeTmpfs sets the size= of the tmpfs at (dirfd, path) by
// reconfiguring its superblock, which every clone of its mount shares.
// The kernel refuses a size below what it holds (EINVAL).
func resizeTmpfs(dirfd int, path string, flags int, size int64) error {
	fd, err := unix.Fspick(dirfd, path, flags|unix.FSPICK_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open the work dir file system to resize it: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.FsconfigSetString(fd, "size", strconv.FormatInt(size, 10)); err != nil {
		return fmt.Errorf("work dir file system size=%d: %w", size, err)
	}
	if err := unix.FsconfigReconfigure(fd); err != nil {
		return fmt.Errorf("resize the work dir file system to %d bytes: %w", size, err)
	}
	return nil
}
