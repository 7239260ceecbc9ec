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
	Sort(out)
	return out
}

// Sort sorts deadlines as All returns them: earliest first, equal times in the order
// they were set (or reserved, for deadlines made by Outside). O(n log n).
func Sort(ds []Deadline) {
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if !a.When.Equal(b.When) {
			return a.When.Before(b.When)
		}
		return a.seq < b.seq
	})
}
