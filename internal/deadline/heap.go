// Package deadline holds every pending deadline of the router in one min-heap.
//
// A deadline is (When, Kind, ID). Deadlines pop in time order; equal times pop in
// the order they were pushed (a sequence number breaks the tie), so the order never
// depends on map iteration. Each (Kind, ID) pair is held at most once: pushing it
// again moves it.
package deadline

import (
	"container/heap"
	"time"
)

// Kind says what a deadline is for. The engine defines the values.
type Kind uint8

// Key names one deadline.
type Key struct {
	Kind Kind
	ID   string
}

// Deadline is one pending deadline.
type Deadline struct {
	Key
	When time.Time
	seq  uint64
}

// Heap is a min-heap of deadlines with O(log n) push, pop and cancel by key.
// The zero value is not ready; use New.
type Heap struct {
	items []*item
	index map[Key]*item
	seq   uint64
}

type item struct {
	d       Deadline
	pos     int  // index in items; -1 once popped or removed
	indexed bool // held in the key index (Set), not by a Handle (Add)
}

// Handle is a deadline added with Add. Its owner keeps it to cancel the deadline
// without the heap's key index: a deadline held by its owner (an offer's expiry, a
// job's maximum age) costs no index entry, and cancelling it no map lookup.
// The zero Handle is not pending.
type Handle struct{ it *item }

// Pending reports whether the deadline is still in the heap (not popped or removed).
// O(1).
func (x Handle) Pending() bool { return x.it != nil && x.it.pos >= 0 }

// Add schedules a deadline for key at when and returns its handle. Unlike Set it
// does not replace a deadline already held for key, and Cancel and Get do not see
// it: the handle is the only way to cancel it. It pops like any other deadline, in
// time order, equal times in the order they were set. O(log n).
func (h *Heap) Add(key Key, when time.Time) Handle {
	h.seq++
	it := &item{d: Deadline{Key: key, When: when, seq: h.seq}}
	heap.Push((*itemHeap)(h), it)
	return Handle{it}
}

// Remove cancels a deadline added with Add and reports whether it was pending.
// O(log n).
func (h *Heap) Remove(x Handle) bool {
	if !x.Pending() || x.it.indexed {
		return false
	}
	heap.Remove((*itemHeap)(h), x.it.pos)
	x.it.pos = -1
	return true
}

// New returns an empty heap.
func New() *Heap { return &Heap{index: make(map[Key]*item)} }

// Len returns the number of pending deadlines. O(1).
func (h *Heap) Len() int { return len(h.items) }

// Set schedules key at when, replacing any deadline already held for key.
// O(log n).
func (h *Heap) Set(key Key, when time.Time) {
	h.seq++
	if it, ok := h.index[key]; ok {
		it.d.When = when
		it.d.seq = h.seq
		heap.Fix((*itemHeap)(h), it.pos)
		return
	}
	it := &item{d: Deadline{Key: key, When: when, seq: h.seq}, indexed: true}
	h.index[key] = it
	heap.Push((*itemHeap)(h), it)
}

// Cancel removes the deadline for key, if any, and reports whether it was held.
// O(log n).
func (h *Heap) Cancel(key Key) bool {
	it, ok := h.index[key]
	if !ok {
		return false
	}
	heap.Remove((*itemHeap)(h), it.pos)
	it.pos = -1
	delete(h.index, key)
	return true
}

// Get returns when key is due, if it is held. O(1).
func (h *Heap) Get(key Key) (time.Time, bool) {
	it, ok := h.index[key]
	if !ok {
		return time.Time{}, false
	}
	return it.d.When, true
}

// Peek returns the earliest deadline without removing it. O(1).
func (h *Heap) Peek() (Deadline, bool) {
	if len(h.items) == 0 {
		return Deadline{}, false
	}
	return h.items[0].d, true
}

// PopDue removes and returns the earliest deadline if it is due at now (When <= now).
// O(log n).
func (h *Heap) PopDue(now time.Time) (Deadline, bool) {
	if len(h.items) == 0 || h.items[0].d.When.After(now) {
		return Deadline{}, false
	}
	it := heap.Pop((*itemHeap)(h)).(*item)
	it.pos = -1
	if it.indexed {
		delete(h.index, it.d.Key)
	}
	return it.d, true
}

type itemHeap Heap

func (h *itemHeap) Len() int { return len(h.items) }
func (h *itemHeap) Less(i, j int) bool {
	a, b := h.items[i].d, h.items[j].d
	if !a.When.Equal(b.When) {
		return a.When.Before(b.When)
	}
	return a.seq < b.seq
}
func (h *itemHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].pos = i
	h.items[j].pos = j
}
func (h *itemHeap) Push(x any) {
	it := x.(*item)
	it.pos = len(h.items)
	h.items = append(h.items, it)
}
func (h *itemHeap) Pop() any {
	n := len(h.items)
	it := h.items[n-1]
	h.items[n-1] = nil
	h.items = h.items[:n-1]
	return it
}
