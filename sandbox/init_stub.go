package sandbox

// MaybeInit runs the sandbox init when this process was started as one and
// then exits; otherwise it returns at once. Every binary that runs
// confined commands calls it first thing in main (and test binaries in
// TestMain), because confinement re-executes the binary itself.
func MaybeInit() {}
