package tokens

// Applied counts the watch updates the verifier has handled.
func (v *Verifier) Applied() uint64 { return v.applied.Load() }
