// Command ratio compares two sets of `go test -bench` results — the same
// benchmarks run on a reference build and on the build under test, in one
// run — and prints, per benchmark and metric, the median of each side and
// their ratio oriented so that above 1 is better (a rate that grew, a
// time that shrank). With -fail-under it exits 1 when a gated metric's
// ratio is below the margin: ratios, never absolute times, so a slow or
// busy machine slows both sides alike and does not fail it.
//
//	go run ./bench/ratio -fail-under 0.7 ref.txt cur.txt
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
)

func main() {
	failUnder := flag.Float64("fail-under", 0, "exit 1 when a gated metric's ratio is below this (0: never)")
	gate := flag.String("gate", defaultGate, "regexp of the \"BENCHMARK METRIC\" pairs -fail-under applies to")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: ratio [-fail-under R] [-gate RE] REF.txt CUR.txt")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	gateRE, err := regexp.Compile(*gate)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratio: -gate:", err)
		os.Exit(2)
	}
	ref, err := readFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratio:", err)
		os.Exit(2)
	}
	cur, err := readFile(flag.Arg(1))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ratio:", err)
		os.Exit(2)
	}
	rows, missing := Compare(ref, cur)
	if len(rows) == 0 {
		fmt.Fprintln(os.Stderr, "ratio: no benchmark appears on both sides")
		os.Exit(2)
	}
	failed := print(os.Stdout, rows, gateRE, *failUnder)
	for _, m := range missing {
		fmt.Printf("only on one side: %s\n", m)
	}
	if failed > 0 {
		fmt.Printf("%d gated metric(s) below %.2f\n", failed, *failUnder)
		os.Exit(1)
	}
}

// defaultGate names what a build is held to: AMF's own rates, the CPU
// a task costs (which load from other work moves far less than a rate),
// the CPU each sandbox's init costs to start, and time to first token. Baselines measured in the same run
// (bubblewrap, the model read directly) only vary with the machine, so
// they are not gated.
const defaultGate = `^BenchmarkDispatch/(namespace|host)[^ ]* (tasks/s|amf-cpu-ms/task)$|^BenchmarkTTFT amf-p50-ms$|^BenchmarkTokenRelay tokens/s$|^BenchmarkStart/sandbox-init cpu-ms/start$`

func readFile(path string) (Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}

// print writes the table and returns how many gated rows fell below
// failUnder.
func print(w io.Writer, rows []Row, gate *regexp.Regexp, failUnder float64) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tmetric\tref\tcur\tratio\t\t")
	failed := 0
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Bench != rows[j].Bench {
			return rows[i].Bench < rows[j].Bench
		}
		return rows[i].Unit < rows[j].Unit
	})
	for _, r := range rows {
		mark := ""
		if gate.MatchString(r.Bench + " " + r.Unit) {
			mark = "gated"
			if failUnder > 0 && r.Ratio < failUnder {
				mark, failed = "BELOW "+fmt.Sprintf("%.2f", failUnder), failed+1
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.4g\t%.2f\t%s\t\n", r.Bench, r.Unit, r.Ref, r.Cur, r.Ratio, strings.TrimSpace(mark))
	}
	tw.Flush()
	return failed
}
