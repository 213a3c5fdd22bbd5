package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// outputFlag binds -o, the output format of every command that prints
// records: table for people (the default), wide for more columns, json
// for programs (the shapes the HTTP API answers). It also takes the
// --json of earlier releases, as -o json, hidden from help and completion.
func outputFlag(f flags, p *string, formats ...string) {
	f.str(p, "o", "", "", "output format: table (the default) or "+strings.Join(formats, " or "))
	f.meta("o", "table|"+strings.Join(formats, "|"))
	if slices.Contains(formats, "json") {
		f.Var(jsonAlias{p}, "json", "deprecated: the same as -o json")
		f.hide("json")
	}
}

// jsonAlias is --json, which sets the output format to json.
type jsonAlias struct{ p *string }

func (j jsonAlias) String() string {
	if j.p != nil && *j.p == "json" {
		return "true"
	}
	return "false"
}

func (j jsonAlias) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("--json takes no value; say -o json")
	}
	if b {
		*j.p = "json"
	}
	return nil
}

func (jsonAlias) IsBoolFlag() bool { return true }

// checkOutput refuses a format the command does not print.
func checkOutput(o string, formats ...string) error {
	if o == "" || o == "table" || slices.Contains(formats, o) {
		return nil
	}
	return fmt.Errorf("-o %q: say table, %s", o, strings.Join(formats, " or "))
}

// writeJSON prints v indented, as the HTTP API would answer it.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under a header, columns aligned.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			// A tab or a newline in a cell would break the columns;
			// -o json has each value as it is.
			cells[i] = shown(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
