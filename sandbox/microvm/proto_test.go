package microvm

import (
	"bytes"
	"errors"
	"testing"
)

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	for _, f := range []struct {
		typ byte
		p   string
	}{{frameReady, ""}, {frameStdout, "hi\n"}, {frameExit, `{"code":3}`}} {
		if err := writeFrame(&buf, f.typ, []byte(f.p)); err != nil {
			t.Fatal(err)
		}
		typ, p, err := readFrame(&buf)
		if err != nil || typ != f.typ || string(p) != f.p {
			t.Errorf("frame %q %q came back as %q %q %v", f.typ, f.p, typ, p, err)
		}
	}
	// A length past the limit is refused before anything is allocated.
	buf.Write([]byte{frameStdout, 0xff, 0xff, 0xff, 0xff})
	if _, _, err := readFrame(&buf); !errors.Is(err, ErrAgent) {
		t.Errorf("oversized frame: %v, want ErrAgent", err)
	}
}

// FuzzReadFrame: whatever a guest sends, reading frames neither panics
// nor allocates past the frame limit.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{frameStdout, 0, 0, 0, 3, 'h', 'i', '\n'})
	f.Add([]byte{frameExit, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			_, p, err := readFrame(r)
			if err != nil {
				return
			}
			if len(p) > maxFrame {
				t.Fatalf("frame of %d bytes", len(p))
			}
		}
	})
}
