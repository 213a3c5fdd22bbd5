package status

// SetProjectStreaming makes p fold streaming events too, as the projector
// did before it skipped them: the baseline of BenchmarkProjectorWrites.
func SetProjectStreaming(p *StatusProjector, on bool) { p.projectStreaming = on }
