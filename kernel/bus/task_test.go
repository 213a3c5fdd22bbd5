package bus_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/amf-os/amf/kernel/bus"
)

func TestDecodeTask(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		wantErr error
		check   func(t *testing.T, task bus.Task)
	}{
		{name: "instruction with defaults", in: `{"instruction":"  list files  "}`, check: func(t *testing.T, task bus.Task) {
			if task.Instruction != "list files" || task.Pool != "default" || task.MaxAttempts != 3 || task.ID == "" || task.Timeout.D() != bus.DefaultTimeout {
				t.Fatalf("defaults not applied: %+v", task)
			}
		}},
		{name: "timeout as string", in: `{"command":"ls","timeout":"90s"}`, check: func(t *testing.T, task bus.Task) {
			if task.Timeout.D() != 90*time.Second {
				t.Fatalf("timeout %v", task.Timeout.D())
			}
		}},
		{name: "timeout as seconds", in: `{"command":"ls","timeout":2.5}`, check: func(t *testing.T, task bus.Task) {
			if task.Timeout.D() != 2500*time.Millisecond {
				t.Fatalf("timeout %v", task.Timeout.D())
			}
		}},
		{name: "explicit id kept", in: `{"id":"abc_1-2","command":"ls"}`, check: func(t *testing.T, task bus.Task) {
			if task.ID != "abc_1-2" {
				t.Fatalf("id %q", task.ID)
			}
		}},
		{name: "unknown field", in: `{"command":"ls","nope":1}`, wantErr: bus.ErrInvalidTask},
		{name: "field name in another case", in: `{"Command":"true"}`, wantErr: bus.ErrInvalidTask},
		{name: "nested field name in another case", in: `{"command":"true","ID":"x"}`, wantErr: bus.ErrInvalidTask},
		{name: "duplicate key", in: `{"command":"true","command":"rm -rf x"}`, wantErr: bus.ErrInvalidTask},
		{name: "duplicate key escaped", in: `{"command":"true","comm\u0061nd":"rm -rf x"}`, wantErr: bus.ErrInvalidTask},
		{name: "duplicate env key", in: `{"command":"true","env":{"A":"1","A":"2"}}`, wantErr: bus.ErrInvalidTask},
		{name: "duplicate model option", in: `{"instruction":"x","model_options":{"seed":1,"seed":2}}`, wantErr: bus.ErrInvalidTask},
		{name: "neither", in: `{"pool":"x"}`, wantErr: bus.ErrInvalidTask},
		{name: "both", in: `{"command":"ls","instruction":"x"}`, wantErr: bus.ErrInvalidTask},
		{name: "id with a dot", in: `{"id":"a.b","command":"ls"}`, wantErr: bus.ErrInvalidTask},
		{name: "pool with wildcard", in: `{"pool":">","command":"ls"}`, wantErr: bus.ErrInvalidTask},
		{name: "attempts too many", in: `{"command":"ls","max_attempts":11}`, wantErr: bus.ErrInvalidTask},
		{name: "negative timeout", in: `{"command":"ls","timeout":-1}`, wantErr: bus.ErrInvalidTask},
		{name: "env with =", in: `{"command":"ls","env":{"A=B":"c"}}`, wantErr: bus.ErrInvalidTask},
		{name: "wrong type", in: `{"command":5}`, wantErr: bus.ErrInvalidTask},
		{name: "array", in: `[]`, wantErr: bus.ErrInvalidTask},
		{name: "null", in: `null`, wantErr: bus.ErrInvalidTask},
		{name: "two objects", in: `{"command":"ls"}{"command":"ls"}`, wantErr: bus.ErrInvalidTask},
		{name: "NUL in command", in: `{"command":"echo a\u0000b"}`, wantErr: bus.ErrInvalidTask},
		{name: "invalid utf8", in: "{\"command\":\"\xc3\x28\"}", wantErr: bus.ErrInvalidTask},
		{name: "too large", in: `{"command":"` + strings.Repeat("x", bus.MaxTaskBytes) + `"}`, wantErr: bus.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task, err := bus.DecodeTask([]byte(c.in))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, task)
		})
	}
}

func TestTaskRoundTrip(t *testing.T) {
	in := bus.Task{ID: "x1", Command: "ls", Pool: "gpu", Timeout: bus.Duration(time.Minute), Env: map[string]string{"A": "b"}}
	if err := in.Normalize(); err != nil {
		t.Fatal(err)
	}
	out, err := bus.DecodeTask(in.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if out.ID != in.ID || out.Pool != in.Pool || out.Timeout != in.Timeout || out.Env["A"] != "b" {
		t.Fatalf("round trip: %+v != %+v", out, in)
	}
}

func TestStatusFoldsEvents(t *testing.T) {
	task := bus.Task{ID: "s1", Instruction: "x", Pool: "default"}
	code := 0
	var st bus.Status
	for _, e := range []bus.Event{
		{TaskID: "s1", Type: bus.EventAccepted, Task: &task, Seq: 1},
		{TaskID: "s1", Type: bus.EventCancelRequested, Seq: 2},
		{TaskID: "s1", Type: bus.EventAssigned, Worker: "w1", Seq: 3},
		{TaskID: "s1", Type: bus.EventCommand, Command: "ls", Attempt: 1, Seq: 4},
		{TaskID: "s1", Type: bus.EventDone, Exec: &bus.ExecResult{ExitCode: code}, Answer: "fine", Seq: 5},
		{TaskID: "s1", Type: bus.EventStdout, Seq: 6}, // after the end: ignored
	} {
		st.Apply(e)
	}
	if st.State != bus.StateDone || st.Worker != "w1" || st.Command != "ls" || st.Answer != "fine" || st.LastSeq != 5 || st.Instruction != "x" {
		t.Fatalf("status %+v", st)
	}
}

func FuzzDecodeTask(f *testing.F) {
	for _, s := range []string{`{"instruction":"x"}`, `{"command":"ls","timeout":"1s"}`, `{"id":"a","env":{"A":"b"}}`, `[`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		task, err := bus.DecodeTask(data)
		if err != nil {
			if !errors.Is(err, bus.ErrInvalidTask) && !errors.Is(err, bus.ErrTooLarge) {
				t.Fatalf("error does not wrap a sentinel: %v", err)
			}
			return
		}
		// Whatever decodes must be valid and survive a round trip.
		if !bus.ValidToken(task.ID) || !bus.ValidToken(task.Pool) || (task.Instruction == "") == (task.Command == "") {
			t.Fatalf("accepted an invalid task: %+v", task)
		}
		if _, err := bus.DecodeTask(task.Encode()); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func TestDecodeTaskMsgIDRule(t *testing.T) {
	hdr := func(id string) nats.Header { return nats.Header{bus.HeaderMsgID: []string{id}} }
	cases := []struct {
		name    string
		body    string
		h       nats.Header
		seq     uint64
		wantID  string
		wantErr error
	}{
		{name: "body id first", body: `{"id":"body","command":"ls"}`, h: hdr("header"), seq: 7, wantID: "body"},
		{name: "header next", body: `{"command":"ls"}`, h: hdr("header"), seq: 7, wantID: "header"},
		{name: "stream sequence last", body: `{"command":"ls"}`, seq: 7, wantID: "t-seq7"},
		{name: "undecodable keeps the body id", body: `{"id":"broken","command":5}`, seq: 7, wantID: "broken", wantErr: bus.ErrInvalidTask},
		{name: "undecodable without id", body: `not json`, h: hdr("header"), seq: 7, wantID: "header", wantErr: bus.ErrInvalidTask},
		{name: "invalid body id reported under the fallback", body: `{"id":"a.b","command":"ls"}`, seq: 7, wantID: "t-seq7", wantErr: bus.ErrInvalidTask},
		{name: "invalid header", body: `{"command":"ls"}`, h: hdr("a b"), seq: 7, wantID: "t-seq7", wantErr: bus.ErrInvalidTask},
		{name: "too large keeps its id", body: `{"id":"big","command":"` + strings.Repeat("x", bus.MaxTaskBytes) + `"}`, seq: 7, wantID: "big", wantErr: bus.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			task, err := bus.DecodeTaskMsg([]byte(c.body), c.h, c.seq)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if got := task.ID; got != c.wantID {
				t.Fatalf("id = %q, want %q", got, c.wantID)
			}
			if err == nil && !task.Normalized() {
				t.Fatal("a decoded task is not marked normalized")
			}
		})
	}
}

func TestHugeTimeoutSaysWhy(t *testing.T) {
	_, err := bus.DecodeTask([]byte(`{"command":"ls","timeout":1e300}`))
	if !errors.Is(err, bus.ErrInvalidTask) {
		t.Fatalf("err = %v, want invalid task", err)
	}
	if msg := err.Error(); strings.Contains(msg, "-") || !strings.Contains(msg, "1e300") || !strings.Contains(msg, "24h") {
		t.Fatalf("message %q should name the value and the limit, with no overflowed duration", msg)
	}
}

// Every message gets a usable id, decodable or not, so its failure can be
// reported on its own event subject.
func FuzzDecodeTaskMsg(f *testing.F) {
	for _, s := range []struct{ body, header string }{
		{`{"command":"ls"}`, ""}, {`{"id":"x","command":"ls"}`, "y"}, {`{"command":5}`, "h"}, {`{"id":"a.b"}`, "a b"}, {"\xff", ""},
	} {
		f.Add([]byte(s.body), s.header, uint64(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, header string, seq uint64) {
		task, err := bus.DecodeTaskMsg(data, nats.Header{bus.HeaderMsgID: []string{header}}, seq)
		if !bus.ValidToken(task.ID) {
			t.Fatalf("id %q is not a subject token (err %v)", task.ID, err)
		}
		if err != nil && !errors.Is(err, bus.ErrInvalidTask) && !errors.Is(err, bus.ErrTooLarge) {
			t.Fatalf("error does not wrap a sentinel: %v", err)
		}
	})
}

// The error names what went wrong and how to write it instead.
func TestDecodeTaskSaysHowToFixKeys(t *testing.T) {
	for in, want := range map[string]string{
		`{"Command":"true"}`:                         `unknown field "Command": field names are case-sensitive; write "command"`,
		`{"command":"true","command":"false"}`:       `key "command" appears twice`,
		`{"command":"true","env":{"A":"1","A":"2"}}`: `key "env.A" appears twice`,
	} {
		_, err := bus.DecodeTask([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeTask(%s) = %v, want it to say %q", in, err, want)
		}
	}
}

// A body nested as deep as its size allows is refused at once, with
// what was wrong, at a cost that does not grow with its depth: the key
// check kept a path per level, so 80 KB of '[' took a kernel past 4 GB.
func TestDeeplyNestedTaskIsRefusedCheaply(t *testing.T) {
	for _, body := range []string{
		strings.Repeat("[", bus.MaxTaskBytes),
		`{"command":"true","env":` + strings.Repeat(`{"a":`, bus.MaxTaskBytes/6),
		`{"model_options":{"stop":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}}",
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := bus.DecodeTask([]byte(body))
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), "nests deeper than") {
			t.Errorf("DecodeTask(%.40s…) = %v, want it refused for its depth", body, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("DecodeTask(%.40s…) allocated %d MB", body, alloc>>20)
		}
	}
}

// Nor does a long key over many keys: each key under it repeated the
// whole path, so one body of a 512 KB key over 60,000 short ones kept
// the decoder 14 s. The refusal repeats the key cut short.
func TestLongKeyOverManyKeysIsRefusedCheaply(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"instruction":"x","` + strings.Repeat("A", bus.MaxTaskBytes/2) + `":{`)
	for i := 0; b.Len() < bus.MaxTaskBytes-32; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%x":0`, i)
	}
	b.WriteString("}}")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := bus.DecodeTask([]byte(b.String()))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Fatalf("DecodeTask = %v, want the unknown field refused", err)
	}
	if len(err.Error()) > 2<<10 {
		t.Errorf("the refusal is %d bytes: it repeats the body", len(err.Error()))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("DecodeTask allocated %d MB for a %d-byte body", alloc>>20, b.Len())
	}
}
