package testenv

import (
	"flag"
	"strconv"
)

// WaitingParallelism lets up to n tests marked t.Parallel run at once
// unless -test.parallel was given. Call it from TestMain before m.Run in
// a package whose tests spend their time waiting on real clocks (JetStream
// schedules tick once a second at the fastest), not computing: the
// default, GOMAXPROCS, would run them two at a time on a two-core machine.
func WaitingParallelism(n int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(n))
	}
}
