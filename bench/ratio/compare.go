package main

import (
	"bufio"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Results holds every value seen per benchmark and unit, one per round.
type Results map[string]map[string][]float64

// Row is one metric of one benchmark on both sides.
type Row struct {
	Bench, Unit string
	Ref, Cur    float64 // medians
	Ratio       float64 // above 1: the build under test is better
}

// procs is the -N suffix go test adds to a benchmark's name; it differs
// between machines, not between builds, so it is dropped.
var procs = regexp.MustCompile(`-\d+$`)

// Parse reads `go test -bench` output: lines "BenchmarkX-2  N  V unit
// V unit …". Other lines are ignored.
func Parse(r io.Reader) (Results, error) {
	res := Results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procs.ReplaceAllString(f[0], "")
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			if res[name] == nil {
				res[name] = map[string][]float64{}
			}
			res[name][f[i+1]] = append(res[name][f[i+1]], v)
		}
	}
	return res, sc.Err()
}

// Compare pairs the medians of ref and cur; missing lists the metrics
// that appear on one side only.
func Compare(ref, cur Results) (rows []Row, missing []string) {
	for bench, units := range ref {
		for unit, rv := range units {
			cv, ok := cur[bench][unit]
			if !ok {
				missing = append(missing, bench+" "+unit+" (ref)")
				continue
			}
			r, c := median(rv), median(cv)
			rows = append(rows, Row{Bench: bench, Unit: unit, Ref: r, Cur: c, Ratio: ratio(unit, r, c)})
		}
	}
	for bench, units := range cur {
		for unit := range units {
			if _, ok := ref[bench][unit]; !ok {
				missing = append(missing, bench+" "+unit+" (cur)")
			}
		}
	}
	sort.Strings(missing)
	return rows, missing
}

// higherIsBetter says which way a unit points: rates (x/s) grow when
// things get better, everything else (times, sizes) shrinks.
func higherIsBetter(unit string) bool { return strings.HasSuffix(unit, "/s") }

func ratio(unit string, ref, cur float64) float64 {
	switch {
	case ref == cur:
		return 1
	case higherIsBetter(unit) && ref != 0:
		return cur / ref
	case !higherIsBetter(unit) && cur != 0:
		return ref / cur
	}
	return math.Inf(1)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
