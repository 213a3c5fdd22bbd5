package sandbox

import (
	"slices"
	"strings"
	"sync"
)

// expandedMasks memoises ExpandMasks for a runner's masks: every check of
// a command and every sandbox start needs its profile's list, and
// expanding it (each "~/" pattern for every home, then a sort of a few
// hundred paths) cost more than the rest of a host-backend task's
// validation. The inputs are a runner's config and a profile's mask list,
// which change only when the profiles are loaded again, so the key is the
// inputs themselves: a reloaded profile with other masks gets its own
// entry, never a stale one. Callers only read the list; it is clipped so
// an append copies it.
var expandedMasks sync.Map // key: masksKey → []string

func memoMasks(lists ...[]string) []string {
	key := masksKey(lists)
	if v, ok := expandedMasks.Load(key); ok {
		return v.([]string)
	}
	out := slices.Clip(ExpandMasks(lists...))
	expandedMasks.Store(key, out)
	return out
}

// masksKey joins the lists with separators no path holds (NUL), so two
// different inputs never share a key.
func masksKey(lists [][]string) string {
	var b strings.Builder
	for _, l := range lists {
		for _, p := range l {
			b.WriteString(p)
			b.WriteByte(0)
		}
		b.WriteString("\x00\x01")
	}
	return b.String()
}
