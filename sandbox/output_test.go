package sandbox

import (
	"strings"
	"testing"
	"time"
)

// A write end held open after the command is gone must not keep the run
// open, and what it writes afterwards is dropped and counted.
func TestOutputHeldWriteEnd(t *testing.T) {
	var c collector
	sink := newOutputSink(c.out, 1<<20)
	stdout, stderr, drain, err := sink.pipes()
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr.Close()
	stdout.WriteString("from the command\npartial")
	stop := make(chan struct{})
	sink.onCut = func() {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := stdout.WriteString("FORGED\n"); err != nil {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	drain(300 * time.Millisecond)
	close(stop)
	_, late := sink.finish()
	out := c.text()
	t.Logf("late %d\n%s", late, out)
	if !strings.Contains(out, "stdout: from the command\nstdout: partial") {
		t.Errorf("the command's own output was not delivered whole")
	}
	if strings.Contains(out, "stdout: FORGED") {
		t.Errorf("output written after the command ended was delivered")
	}
	if late == 0 || !strings.Contains(out, "arrived after the command had ended") {
		t.Errorf("late output was not counted (%d bytes)", late)
	}
}
