package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// maxLine splits longer lines so one endless line cannot hold output back.
const maxLine = 64 << 10

// outputSink delivers lines from both streams to one OutputFunc, one call
// at a time, until the byte budget is spent; after that it drops output
// and marks the truncation once.
type outputSink struct {
	mu        sync.Mutex
	fn        OutputFunc
	left      int
	dropped   int64
	truncated bool
}

func newOutputSink(fn OutputFunc, budget int) *outputSink {
	return &outputSink{fn: fn, left: budget}
}

func (o *outputSink) line(s Stream, b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
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

// pump reads r to the end, line by line.
func (o *outputSink) pump(s Stream, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			o.line(s, bytes.TrimSuffix(b, []byte("\n")))
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return
		}
	}
}

// finish marks truncation on stderr so the reader of the stream sees it.
func (o *outputSink) finish() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.truncated && o.fn != nil {
		o.fn(Stderr, fmt.Sprintf("[amf: output truncated, %d bytes dropped]", o.dropped))
	}
	return o.truncated
}

// pipes makes the two pipes a command writes to and starts pumping them.
// The caller closes the write ends once the command has started; drained
// returns when both streams reached their end.
func (o *outputSink) pipes() (stdout, stderr *os.File, drained func(), err error) {
	var wg sync.WaitGroup
	var ends [2]*os.File
	for i, s := range []Stream{Stdout, Stderr} {
		r, w, err := os.Pipe()
		if err != nil {
			for _, e := range ends[:i] {
				e.Close()
			}
			wg.Wait()
			return nil, nil, nil, fmt.Errorf("%w: make pipe: %v", ErrStart, err)
		}
		ends[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			o.pump(s, r)
		}()
	}
	return ends[0], ends[1], wg.Wait, nil
}
