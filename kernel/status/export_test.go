package status

// SetProjectStreaming makes p fold streaming events too, as the projector
// did before it skipped them: the baseline of BenchmarkProjectorWrites.
func SetProjectStreaming(p *StatusProjector, on bool) { p.projectStreaming = on }

// Remembered is how many statuses p holds in full, and how many tasks it
// remembers at all.
func Remembered(p *StatusProjector) (full, tasks int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.known {
		if s != nil {
			full++
		}
	}
	return full, len(p.known)
}
