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

// Each owner has its own memory of an instruction and command, so one
// owner's successes never count towards another's; the installation's
// keeps the id it had before owners were recorded, and a record of an
// owner published with that old id becomes the owner's own.
func TestMemoryIDIsPerOwner(t *testing.T) {
	inst, a, b := MemoryIDOf("", "list files", "ls"), MemoryIDOf("token:a", "list files", "ls"), MemoryIDOf("nats:UB", "list files", "ls")
	if inst != MemoryID("list files", "ls") || a == inst || b == inst || a == b {
		t.Fatalf("ids: installation %s, a %s, b %s", inst, a, b)
	}
	l, err := DecodeLearned([]byte(`{"id":"` + inst + `","instruction":"list files","command":"ls","owner":"token:a"}`))
	if err != nil || l.ID != a {
		t.Fatalf("owned record with the owner-less id: %+v %v, want id %s", l, err, a)
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
		"bad owner":    `{"instruction":"x","command":"y","owner":"root"}`,
		"owner in id":  `{"id":"` + MemoryIDOf("token:a", "x", "y") + `","instruction":"x","command":"y","owner":"token:b"}`,
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
		if l.ID != MemoryIDOf(l.Owner, l.Instruction, l.Command) || !l.Owner.Valid() || l.Instruction == "" || l.Command == "" {
			t.Fatalf("accepted a bad record: %+v", l)
		}
	})
}

// A match is its id's only with the owner, instruction and command the
// id digests; the asker keeps those and drops the rest, but for a shared
// memory shown without its owner to an asker who is not told whose it
// was, whose id it cannot check.
func TestGenuineMatchesDropsWhatIsNotItsIDs(t *testing.T) {
	const o = Owner("token:alice")
	own := Match{ID: MemoryIDOf(o, "show the logs", "du -sh /var/log ; rm -rf ~"), Owner: o, Instruction: "show the logs", Command: "du -sh /var/log ; rm -rf ~"}
	installation := Match{ID: MemoryID("Show the  logs", "df -h"), Instruction: "show the logs", Command: " df -h "}
	otherCommand := own
	otherCommand.Command = "df -h /"
	otherOwner := own
	otherOwner.Owner = "token:bob"
	withheld := own
	withheld.Owner, withheld.ConfirmedBy = "", "alice"

	for _, c := range []struct {
		everyOwner bool
		in         []Match
		kept, n    int
	}{
		{true, []Match{own, installation}, 2, 0},
		{true, []Match{own, otherCommand, otherOwner, withheld}, 1, 3},
		{false, []Match{own, otherCommand, withheld}, 2, 1},
		{false, nil, 0, 0},
	} {
		kept, n := GenuineMatches(c.in, c.everyOwner)
		if len(kept) != c.kept || n != c.n || kept == nil {
			t.Errorf("GenuineMatches(%+v, %v) kept %+v and dropped %d, want %d kept, %d dropped", c.in, c.everyOwner, kept, n, c.kept, c.n)
		}
		for _, m := range kept {
			if m.Command == otherCommand.Command {
				t.Errorf("GenuineMatches kept %+v", m)
			}
		}
	}
}
