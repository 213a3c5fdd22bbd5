package policy

import "strings"

// Kind says what a command does with one of its operands. The rules
// read it from the operand table instead of guessing from an operand's
// shape: the pattern of grep, the script of sed and the message of echo
// are not paths, the last operand of cp is written, the operands of rm
// are deleted.
type Kind uint8

// Operand kinds.
const (
	unset   Kind = iota
	Data         // plain data: a message, a number, a name, a mode
	Read         // a path the command reads
	Write        // a path the command creates or changes
	Delete       // a path the command removes
	Pattern      // a regular expression or glob matched against text or names
	Script       // program text (Spec.Lang names the language)
	Run          // a command to run, with its own arguments
	Remote       // another machine: host:path, user@host, a URL
)

var kindNames = [...]string{"unset", "data", "read", "write", "delete", "pattern", "script", "run", "remote"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// Spec is one command's row of the operand table.
type Spec struct {
	// Opts are the options that take a value (-o FILE, -oFILE,
	// --output FILE, --output=FILE) and what the value is. An option not
	// listed takes no value.
	Opts map[string]Kind
	// Lead are the kinds of the first operands, in order (grep's
	// pattern, sed's script, chmod's mode), unless one of LeadFrom is
	// given: then the options supply them and every operand is Rest.
	Lead     []Kind
	LeadFrom []string
	// Rest is the kind of the other operands; Last, when set, of the
	// final one when there are at least two (cp SRC… DST).
	Rest, Last Kind
	// Switch lists flags that change what Rest is: sed -i edits its
	// files in place (Write).
	Switch map[string]Kind
	// KeyVal are operands spelled KEY=VALUE (dd if=, of=) and what the
	// value is; Assign makes every other NAME=value operand Data (awk,
	// make).
	KeyVal map[string]Kind
	Assign bool
	// Lang is the language of Script operands.
	Lang string
	// Fn reads the operands of commands whose grammar the fields above
	// cannot say (find's expression, tar's modes); it replaces them.
	Fn func(args []word) []operand
}

// operand is one argument with what it is.
type operand struct {
	w    word
	kind Kind
}

// opts builds a Spec.Opts: names (space-separated) followed by their
// kind, repeated.
func opts(pairs ...any) map[string]Kind {
	m := map[string]Kind{}
	for i := 0; i+1 < len(pairs); i += 2 {
		for _, n := range strings.Fields(pairs[i].(string)) {
			m[n] = pairs[i+1].(Kind)
		}
	}
	return m
}

// operands classifies args by the spec: options and their values, then
// the operands in order.
func (s *Spec) operands(args []word) []operand {
	if s.Fn != nil {
		return s.Fn(args)
	}
	out := make([]operand, 0, len(args))
	var pos []word
	rest := s.Rest
	leadGiven := false
	endOpts := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		t := a.text
		switch {
		case endOpts || t == "-" || !strings.HasPrefix(t, "-"):
			pos = append(pos, a)
			continue
		case t == "--":
			endOpts = true
			out = append(out, operand{a, Data})
			continue
		}
		name, val, hasVal := t, "", false
		if strings.HasPrefix(t, "--") {
			name, val, hasVal = strings.Cut(t, "=")
		}
		if k, ok := s.switchKind(name); ok {
			rest = k
		}
		if s.leadFrom(name) {
			leadGiven = true
		}
		k, takes := s.option(name)
		switch {
		case strings.HasPrefix(t, "--") && hasVal:
			if !takes {
				k = Read // an option we do not know: its value may be a path
			}
			v := a
			v.text = val
			out = append(out, operand{a, Data}, operand{v, k})
		case takes:
			out = append(out, operand{a, Data})
			if i+1 < len(args) {
				i++
				out = append(out, operand{args[i], k})
			}
		case !strings.HasPrefix(t, "--") && len(t) > 2:
			// A cluster of short options: -rf, -tDIR, -i.bak, -ofile.
			out = append(out, operand{a, Data})
			for j := 1; j < len(t); j++ {
				f := "-" + t[j:j+1]
				if k, ok := s.Switch[f]; ok {
					rest = k
				}
				if slicesContains(s.LeadFrom, f) {
					leadGiven = true
				}
				if k, ok := s.Opts[f]; ok {
					v := a
					v.text = t[j+1:]
					if v.text == "" && i+1 < len(args) {
						i++
						v = args[i]
					}
					out = append(out, operand{v, k})
					break
				}
			}
		default:
			out = append(out, operand{a, Data})
		}
	}
	lead := s.Lead
	if leadGiven {
		lead = nil
	}
	for i, a := range pos {
		k := rest
		switch {
		case i < len(lead):
			k = lead[i]
		case s.Last != unset && i == len(pos)-1 && len(pos)-len(lead) >= 2:
			k = s.Last
		}
		if s.KeyVal != nil || s.Assign {
			if key, v, ok := strings.Cut(a.text, "="); ok && isName(key) {
				vk, known := s.KeyVal[key]
				if !known {
					vk = Data
				}
				w := a
				w.text = v
				out = append(out, operand{w, vk})
				continue
			}
		}
		out = append(out, operand{a, k})
	}
	return out
}

// option returns the kind of an option's value. A long option may be
// abbreviated to any unambiguous prefix (GNU getopt_long: --out=F is
// --output=F), so a prefix of known options counts as the most severe of
// them: a write hidden in an abbreviation is still a write.
func (s *Spec) option(name string) (Kind, bool) {
	if k, ok := s.Opts[name]; ok {
		return k, true
	}
	if !strings.HasPrefix(name, "--") || len(name) < 3 {
		return unset, false
	}
	best, found := unset, false
	for o, k := range s.Opts {
		if strings.HasPrefix(o, name) {
			if !found || severity(k) > severity(best) {
				best = k
			}
			found = true
		}
	}
	if severity(best) == 0 {
		// --time may be a flag of its own as well as the start of
		// --time-style: only a prefix of a path option takes the next
		// word, which is then still judged as a path.
		return unset, false
	}
	return best, found
}

// switchKind is what Rest becomes after the flag name, abbreviations
// of long flags included (sed --in-pl is --in-place).
func (s *Spec) switchKind(name string) (Kind, bool) {
	if k, ok := s.Switch[name]; ok {
		return k, true
	}
	if strings.HasPrefix(name, "--") && len(name) > 3 {
		for o, k := range s.Switch {
			if strings.HasPrefix(o, name) {
				return k, true
			}
		}
	}
	return unset, false
}

// leadFrom reports an option that supplies the leading operands (grep
// -e, --reg=), abbreviations of long options included.
func (s *Spec) leadFrom(name string) bool {
	for _, o := range s.LeadFrom {
		if o == name || strings.HasPrefix(name, "--") && len(name) > 3 && strings.HasPrefix(o, name) {
			return true
		}
	}
	return false
}

// severity orders kinds for an ambiguous option: a write or delete
// outranks a read, which outranks the rest.
func severity(k Kind) int {
	switch k {
	case Write, Delete:
		return 2
	case Read:
		return 1
	}
	return 0
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// specFor returns the operand table's row for a program, or nil.
func specFor(base string) *Spec {
	if s, ok := operandTable[base]; ok {
		return s
	}
	return nil
}
