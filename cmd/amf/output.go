package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// outputFlag binds -o, the output format of a listing command: a table
// for people, wide for more columns, json for programs (the same shapes
// the HTTP API answers).
func outputFlag(f flags, p *string, formats ...string) {
	f.str(p, "o", "", "", "output format: "+strings.Join(formats, " or ")+" (default: a table)")
	f.meta("o", strings.Join(formats, "|"))
}

// checkOutput refuses a format the command does not print.
func checkOutput(o string, formats ...string) error {
	if o == "" || slices.Contains(formats, o) {
		return nil
	}
	return fmt.Errorf("-o %q: say %s, or leave it out for a table", o, strings.Join(formats, " or "))
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
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
