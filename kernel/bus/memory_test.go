package bus

import (
	"errors"
	"testing"
)

func TestMemoryIDIgnoresCaseAndSpacingOfTheInstruction(t *testing.T) {
	a := MemoryID("List  the Files", "ls -la")
	if b := MemoryID("list the files", " ls -la "); a != b {
		t.Fatalf("%s != %s", a, b)
	}
	if c := MemoryID("list the files", "ls -l"); a == c {
		t.Fatal("different commands share an id")
	}
}

func TestDecodeLearnedRejectsClearly(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     `{`,
		"no command":   `{"instruction":"x"}`,
		"failure":      `{"instruction":"x","command":"false","exit_code":1}`,
		"forged id":    `{"id":"0000","instruction":"x","command":"y"}`,
		"wrong type":   `{"instruction":5,"command":"y"}`,
		"empty object": `{}`,
	} {
		if _, err := DecodeLearned([]byte(in)); !errors.Is(err, ErrInvalidMemory) {
			t.Errorf("%s: %v, want ErrInvalidMemory", name, err)
		}
	}
	l, err := DecodeLearned([]byte(`{"instruction":" list files ","command":"ls","host":{"os":"linux","tools":["ls"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if l.ID != MemoryID("list files", "ls") || l.TS.IsZero() || l.Instruction != "list files" {
		t.Fatalf("normalised record: %+v", l)
	}
}

func FuzzDecodeLearned(f *testing.F) {
	f.Add([]byte(`{"instruction":"list files","command":"ls"}`))
	f.Add([]byte(`{"instruction":"","command":""}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := DecodeLearned(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidMemory) {
				t.Fatalf("error %v does not wrap ErrInvalidMemory", err)
			}
			return
		}
		if l.ID != MemoryID(l.Instruction, l.Command) || l.Instruction == "" || l.Command == "" {
			t.Fatalf("accepted a bad record: %+v", l)
		}
	})
}
