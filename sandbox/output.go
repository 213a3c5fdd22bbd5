package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// maxLine splits longer lines so one endless line cannot hold output back.
const maxLine = 64 << 10

// outputGrace is how long output is still read, and counted as dropped,
// once a command's process tree is gone while a write end of its pipes
// is still open: held by a process outside the tree, such as another
// sandbox the descriptor was passed to. It never delays a run whose
// pipes close with its tree.
const outputGrace = 250 * time.Millisecond

// outputSink delivers lines from both streams to one OutputFunc, one call
// at a time, until the byte budget is spent; after that it drops output
// and marks the truncation once. Once the streams are cut (see pipes),
// whatever still arrives is dropped and counted as late.
type outputSink struct {
	mu        sync.Mutex
	fn        OutputFunc
	left      int
	dropped   int64
	truncated bool
	cut       bool
	late      int64
	onCut     func() // tests: called when the streams are cut
}

func newOutputSink(fn OutputFunc, budget int) *outputSink {
	return &outputSink{fn: fn, left: budget}
}

func (o *outputSink) line(s Stream, b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cut {
		o.late += int64(len(b))
		return
	}
	if o.left <= 0 {
		o.dropped += int64(len(b))
		if !o.truncated {
			o.truncated = true
		}
		return
	}
	if len(b) > o.left {
		o.dropped += int64(len(b) - o.left)
		b = b[:o.left]
		o.truncated = true
	}
	o.left -= len(b)
	if o.fn != nil {
		o.fn(s, string(b))
	}
}

// stream is one of a command's output pipes, read end.
type stream struct {
	s     Stream
	r     *os.File
	carry []byte // a partial line read when a pump was stopped
	eof   bool
}

// lineReaders keeps pump's readers between commands: each holds a
// maxLine buffer, and two made for every command were an eighth of all
// the bytes a loaded worker allocated.
var lineReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, maxLine) }}

// pump reads the stream line by line until its end or, once a read
// deadline is set, until the deadline; a partial line then stays in
// carry. Nothing read stays in the reader when it returns (a read's
// error returns what it buffered), and line copies what it keeps.
func (o *outputSink) pump(st *stream) {
	br := lineReaders.Get().(*bufio.Reader)
	br.Reset(st.r)
	defer func() {
		br.Reset(nil)
		lineReaders.Put(br)
	}()
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, os.ErrDeadlineExceeded) {
			st.carry = append(st.carry, b...)
			return
		}
		if len(b) > 0 {
			o.line(st.s, bytes.TrimSuffix(b, []byte("\n")))
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			st.eof = true
			return
		}
	}
}

// rest reads what the pipe holds now without waiting, delivers it and
// reports whether the write end is closed. Once the command's processes
// are gone, everything they wrote is in the pipe; anything that comes
// after was written by someone else.
func (o *outputSink) rest(st *stream) (eof bool) {
	rc, err := st.r.SyscallConn()
	if err != nil {
		return true
	}
	buf := st.carry
	st.carry = nil
	rc.Control(func(fd uintptr) {
		pending, _ := unix.IoctlGetInt(int(fd), unix.TIOCINQ)
		chunk := make([]byte, 64<<10)
		for pending > 0 {
			n, err := unix.Read(int(fd), chunk[:min(pending, len(chunk))])
			if n <= 0 || err != nil {
				break
			}
			buf = append(buf, chunk[:n]...)
			pending -= n
		}
		// One more read tells whether the write end is still open.
		n, err := unix.Read(int(fd), chunk[:1])
		switch {
		case n == 0 && err == nil:
			eof = true
		case n > 0:
			o.mu.Lock()
			o.late += int64(n)
			o.mu.Unlock()
		}
	})
	for len(buf) > 0 {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			o.line(st.s, buf)
			break
		}
		o.line(st.s, buf[:i])
		buf = buf[i+1:]
	}
	return eof
}

// note adds a line of the runner's own to stderr.
func (o *outputSink) note(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fn != nil {
		o.fn(Stderr, line)
	}
}

// finish marks truncation and late output on stderr so the reader of the
// stream sees them, and returns whether output was truncated and how
// many bytes came after the command had ended.
func (o *outputSink) finish() (truncated bool, late int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.truncated && o.fn != nil {
		o.fn(Stderr, fmt.Sprintf("[amf: output truncated, %d bytes dropped]", o.dropped))
	}
	if o.late > 0 && o.fn != nil {
		o.fn(Stderr, fmt.Sprintf("[amf: %d bytes of output arrived after the command had ended and were dropped]", o.late))
	}
	return o.truncated, o.late
}

// pipes makes the two pipes a command writes to and starts pumping them.
// The caller closes the write ends once the command has started, and
// calls drain once the command's process tree is gone. drain delivers
// what the tree wrote and returns; if a write end is still open (held
// by a process outside the tree, such as another sandbox it was passed
// to), the streams are cut: what arrives within grace is dropped and
// counted, and the pipes are closed.
func (o *outputSink) pipes() (stdout, stderr *os.File, drain func(grace time.Duration), err error) {
	var wg sync.WaitGroup
	var ends [2]*os.File
	var streams [2]*stream
	for i, s := range []Stream{Stdout, Stderr} {
		r, w, err := os.Pipe()
		if err != nil {
			for j := range i {
				ends[j].Close()
				streams[j].r.Close()
			}
			wg.Wait()
			return nil, nil, nil, fmt.Errorf("%w: make pipe: %v", ErrStart, err)
		}
		st := &stream{s: s, r: r}
		ends[i], streams[i] = w, st
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.pump(st)
		}()
	}
	drain = func(grace time.Duration) {
		for _, st := range streams {
			st.r.SetReadDeadline(time.Now())
		}
		wg.Wait()
		held := false
		for _, st := range streams {
			if !st.eof && !o.rest(st) {
				held = true
			}
		}
		if held {
			o.mu.Lock()
			o.cut = true
			o.mu.Unlock()
			if o.onCut != nil {
				o.onCut()
			}
			for _, st := range streams {
				if st.eof {
					continue
				}
				st.r.SetReadDeadline(time.Now().Add(grace))
				wg.Add(1)
				go func() {
					defer wg.Done()
					o.pump(st)
					o.mu.Lock()
					o.late += int64(len(st.carry))
					o.mu.Unlock()
				}()
			}
			wg.Wait()
		}
		for _, st := range streams {
			st.r.Close()
		}
	}
	return ends[0], ends[1], drain, nil
}
