package deadline

import "sort"

// All returns every pending deadline, earliest first (equal times in the order they
// were set, as they would fire). It is for tests and simulators that check the heap
// against what should be pending; the heap is unchanged. O(n log n).
func (h *Heap) All() []Deadline {
	out := make([]Deadline, len(h.items))
	for i, it := range h.items {
		out[i] = it.it.d
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.When.Equal(b.When) {
			return a.When.Before(b.When)
		}
		return a.seq < b.seq
	})
	return out
}
