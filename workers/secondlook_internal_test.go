package workers

import (
	"errors"
	"testing"
)

func TestParseLook(t *testing.T) {
	for _, c := range []struct {
		in   string
		same bool
		err  bool
	}{
		{`{"same": true}`, true, false},
		{` {"same":false} `, false, false},
		{"Yes.", true, false},
		{"no, it lists instead", false, false},
		{"**No**", false, false},
		{`{"same": "yes"}`, false, true},
		{`{"command": "rm -rf ~"}`, false, true},
		{"", false, true},
		{"maybe", false, true},
	} {
		same, err := parseLook(c.in)
		if (err != nil) != c.err || same != c.same {
			t.Errorf("parseLook(%q) = %v, %v; want %v, error %v", c.in, same, err, c.same, c.err)
		}
		if err != nil && !errors.Is(err, errNoYesNo) {
			t.Errorf("parseLook(%q): %v does not wrap errNoYesNo", c.in, err)
		}
	}
}

// FuzzParseLook: any reply is read as yes, no or an error, never a
// panic, and only a reply starting with yes/true or holding same:true is
// a yes.
func FuzzParseLook(f *testing.F) {
	for _, s := range []string{`{"same": true}`, "yes", "No.", "", "\x00{", `{"same":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		same, err := parseLook(s)
		if err != nil && same {
			t.Fatalf("parseLook(%q) = yes with an error", s)
		}
	})
}
