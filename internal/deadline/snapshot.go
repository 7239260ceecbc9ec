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

// Sort sorts deadlines as All returns them, in the order the heap fires them
// (Deadline.Before: wall-clock time, equal times in the order they were set or
// reserved). O(n log n).
func Sort(ds []Deadline) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Before(ds[j]) })
}
