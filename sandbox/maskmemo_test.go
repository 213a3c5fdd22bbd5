package sandbox

import (
	"slices"
	"testing"
)

func TestMemoMasksIsExpandMasks(t *testing.T) {
	a := []string{"/srv/secret", "~/.token"}
	b := []string{"/srv/other"}
	for _, lists := range [][][]string{
		{DefaultMasks, {"/state"}, nil, a},
		{DefaultMasks, {"/state"}, nil, b},
		{DefaultMasks, {"/state"}, a, nil}, // the same paths from another list
		{DefaultMasks, {"/state"}, nil, a}, // again: from the memo
	} {
		if got, want := memoMasks(lists...), ExpandMasks(lists...); !slices.Equal(got, want) {
			t.Fatalf("memoMasks(%q) = %q, want %q", lists[1:], got, want)
		}
	}
	if slices.Contains(memoMasks(DefaultMasks, []string{"/state"}, nil, b), "/srv/secret") {
		t.Fatal("a profile's masks leaked into another profile's list")
	}
	// A caller appending to the list must not change what the next one gets.
	first := memoMasks(DefaultMasks, nil, nil, b)
	_ = append(first, "/appended")
	if slices.Contains(memoMasks(DefaultMasks, nil, nil, b), "/appended") {
		t.Fatal("an append to a memoised list changed the memo")
	}
}

func BenchmarkScopeMasks(b *testing.B) {
	extra := []string{"/srv/secret", "~/.token"}
	b.Run("expand", func(b *testing.B) {
		for b.Loop() {
			_ = ExpandMasks(DefaultMasks, []string{"/state"}, nil, extra)
		}
	})
	b.Run("memo", func(b *testing.B) {
		for b.Loop() {
			_ = memoMasks(DefaultMasks, []string{"/state"}, nil, extra)
		}
	})
}
