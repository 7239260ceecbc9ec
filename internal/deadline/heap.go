// Package deadline holds every pending deadline of the router in one min-heap.
//
// A deadline is (When, Kind, ID). Deadlines pop in time order; equal times pop in
// the order they were pushed (a sequence number breaks the tie), so the order never
// depends on map iteration. Each (Kind, ID) pair is held at most once: pushing it
// again moves it.
package deadline

import "time"

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
	// Ref is what its owner gave AddRef (nil for any other deadline): the object the
	// deadline is for, so that firing it needs no lookup by ID.
	Ref any
	seq uint64
}

// Heap is a min-heap of deadlines with O(log n) push, pop and cancel by key.
// The zero value is not ready; use New.
type Heap struct {
	items []slot
	index map[Key]*item
	seq   uint64
}

type item struct {
	d       Deadline
	pos     int32 // index in items; -1 once popped or removed
	indexed bool  // held in the key index (Set), not by a Handle (Add)
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
func (h *Heap) Add(key Key, when time.Time) Handle { return h.AddRef(key, when, nil) }

// AddRef is Add with a reference that the deadline carries (Deadline.Ref) when it
// pops: an owner that keeps its objects by pointer fires the deadline without looking
// its ID up (in a map of a million offers, that lookup's cache misses cost more than
// the pop). O(log n).
func (h *Heap) AddRef(key Key, when time.Time, ref any) Handle {
	h.seq++
	it := &item{d: Deadline{Key: key, When: when, Ref: ref, seq: h.seq}}
	h.push(it)
	return Handle{it}
}

// Entry is the storage of one deadline, for an owner that embeds it in a record of
// its own (an offer embeds its expiry's) so that scheduling the deadline allocates
// nothing: AddIn stores the deadline in it instead of in a new item. The heap refers
// to the Entry while the deadline is pending, so the owner must not copy or reuse it
// meanwhile; afterwards it may schedule it again. The zero value holds nothing.
type Entry struct{ it item }

// AddIn is AddRef with the deadline stored in e, which it returns a handle on: it
// allocates nothing. A deadline still pending in e is moved, as if removed first;
// e must not be pending in another heap. O(log n).
func (h *Heap) AddIn(e *Entry, key Key, when time.Time, ref any) Handle {
	if h.holds(&e.it) {
		h.remove(int(e.it.pos))
	}
	h.seq++
	e.it = item{d: Deadline{Key: key, When: when, Ref: ref, seq: h.seq}}
	h.push(&e.it)
	return Handle{&e.it}
}

// holds reports whether it is in the heap: its position names it. A zero item, whose
// position reads 0 though it was never pushed, is told apart by the slot's pointer.
// O(1).
func (h *Heap) holds(it *item) bool {
	return it.pos >= 0 && int(it.pos) < len(h.items) && h.items[it.pos].it == it
}

// HoldsIn reports whether the deadline stored in e by AddIn is pending in h. A zero
// Entry, or one whose deadline popped or was removed, is not. O(1).
func (h *Heap) HoldsIn(e *Entry) bool { return h.holds(&e.it) } // AddIn never indexes

// RemoveIn cancels the deadline stored in e by AddIn and reports whether it was
// pending in h: what Remove does with AddIn's handle, for an owner that keeps the
// Entry but not the handle (one word less per owner). A zero Entry is never
// pending. O(log n).
func (h *Heap) RemoveIn(e *Entry) bool {
	if !h.HoldsIn(e) {
		return false
	}
	h.remove(int(e.it.pos))
	return true
}

// Remove cancels a deadline added with Add and reports whether it was pending.
// O(log n).
func (h *Heap) Remove(x Handle) bool {
	if !x.Pending() || x.it.indexed {
		return false
	}
	h.remove(int(x.it.pos))
	return true
}

// Reserve takes the next push sequence number, exactly as Add or Set would, without
// pushing anything, and returns it. It is for a deadline its owner keeps outside the
// heap (in a list already in time order, say) and merges with the heap by Before:
// that deadline then ties with the heap's own as if it had been added at this point.
// O(1).
func (h *Heap) Reserve() uint64 {
	h.seq++
	return h.seq
}

// Outside returns a deadline held outside the heap, whose sequence number seq came
// from Reserve, so that it can be ordered against the heap's by Before. O(1).
func Outside(key Key, when time.Time, seq uint64) Deadline {
	return Deadline{Key: key, When: when, seq: seq}
}

// Before reports whether d pops before o when both are pending: the heap's own
// order, an earlier instant first (compared as Unix seconds and nanoseconds, as the
// heap compares them), then the lower sequence number. O(1).
func (d Deadline) Before(o Deadline) bool {
	a, b := slot{sec: d.When.Unix(), nsec: int32(d.When.Nanosecond()), seq: d.seq},
		slot{sec: o.When.Unix(), nsec: int32(o.When.Nanosecond()), seq: o.seq}
	return a.less(&b)
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
		h.items[it.pos] = slotOf(it)
		h.fix(int(it.pos))
		return
	}
	it := &item{d: Deadline{Key: key, When: when, seq: h.seq}, indexed: true}
	h.index[key] = it
	h.push(it)
}

// Cancel removes the deadline for key, if any, and reports whether it was held.
// O(log n).
func (h *Heap) Cancel(key Key) bool {
	it, ok := h.index[key]
	if !ok {
		return false
	}
	h.remove(int(it.pos))
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
	return h.items[0].it.d, true
}

// PeekWhen returns when the earliest deadline falls due, without copying the
// deadline out: what a caller checking whether anything is due needs. O(1).
func (h *Heap) PeekWhen() (time.Time, bool) {
	if len(h.items) == 0 {
		return time.Time{}, false
	}
	return h.items[0].it.d.When, true
}

// PopDue removes and returns the earliest deadline if it is due at now (When <= now).
// O(log n).
func (h *Heap) PopDue(now time.Time) (Deadline, bool) {
	if len(h.items) == 0 || h.items[0].it.d.When.After(now) {
		return Deadline{}, false
	}
	it := h.remove(0)
	if it.indexed {
		delete(h.index, it.d.Key)
	}
	return it.d, true
}

// slot is one heap entry: the item's order inline (When as seconds and nanoseconds,
// valid for every year, and the push sequence), so that sifting compares slots in
// the heap's own array instead of following a pointer per comparison.
type slot struct {
	sec  int64
	nsec int32
	seq  uint64
	it   *item
}

func slotOf(it *item) slot {
	return slot{sec: it.d.When.Unix(), nsec: int32(it.d.When.Nanosecond()), seq: it.d.seq, it: it}
}

func (a *slot) less(b *slot) bool {
	if a.sec != b.sec {
		return a.sec < b.sec
	}
	if a.nsec != b.nsec {
		return a.nsec < b.nsec
	}
	return a.seq < b.seq
}

// The heap is 4-ary: half the depth of a binary heap, and a node's four children
// share a cache line or two.
const arity = 4

func (h *Heap) push(it *item) {
	it.pos = int32(len(h.items))
	h.items = append(h.items, slotOf(it))
	h.up(len(h.items) - 1)
}

// remove takes out the slot at i. O(log n).
func (h *Heap) remove(i int) *item {
	it := h.items[i].it
	last := len(h.items) - 1
	if i != last {
		h.items[i] = h.items[last]
		h.items[i].it.pos = int32(i)
	}
	h.items[last] = slot{}
	h.items = h.items[:last]
	if i != last {
		h.fix(i)
	}
	it.pos = -1
	return it
}

// fix restores the order after the slot at i changed. O(log n).
func (h *Heap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *Heap) up(i int) {
	s := h.items[i]
	for i > 0 {
		p := (i - 1) / arity
		if !s.less(&h.items[p]) {
			break
		}
		h.items[i] = h.items[p]
		h.items[i].it.pos = int32(i)
		i = p
	}
	h.items[i] = s
	s.it.pos = int32(i)
}

// down sifts the slot at i towards the leaves and reports whether it moved.
func (h *Heap) down(i int) bool {
	s := h.items[i]
	start, n := i, len(h.items)
	for {
		c := arity*i + 1
		if c >= n {
			break
		}
		best := c
		for k := c + 1; k < c+arity && k < n; k++ {
			if h.items[k].less(&h.items[best]) {
				best = k
			}
		}
		if !h.items[best].less(&s) {
			break
		}
		h.items[i] = h.items[best]
		h.items[i].it.pos = int32(i)
		i = best
	}
	h.items[i] = s
	s.it.pos = int32(i)
	return i > start
}
