// Package spares keeps records that their owner has finished with, for the next one
// it needs, up to a bound: a router that ends an offer and issues another, or a
// queue that empties a chunk and fills another, then allocates neither. The bound
// keeps a router that once held a million offers, or a subscriber that was once far
// behind, from keeping all their records for good. It is not safe for concurrent
// use: each List belongs to one owner, under that owner's lock.
package spares

// List is a bounded list of spare records of type T. The zero value is empty.
type List[T any] struct {
	free []*T
}

// Get returns a kept record when there is one, else a new zero record. A kept record
// is as Put or Keep left it. O(1).
func (l *List[T]) Get() *T {
	n := len(l.free)
	if n == 0 {
		return new(T)
	}
	x := l.free[n-1]
	l.free[n-1] = nil
	l.free = l.free[:n-1]
	return x
}

// Put clears x, which nothing may refer to any more, and keeps it unless max
// records are kept already. Cleared, it keeps nothing it pointed to alive. O(size of
// T); O(1) when not kept.
func (l *List[T]) Put(x *T, max int) {
	if len(l.free) >= max {
		return
	}
	var zero T
	*x = zero
	l.Keep(x, max)
}

// Keep keeps x as it is, unless max records are kept already: for a record its owner
// has cleared itself, or one whose contents the next use overwrites (what it points
// to then stays alive until then). O(1) amortised.
func (l *List[T]) Keep(x *T, max int) {
	if len(l.free) < max {
		l.free = append(l.free, x)
	}
}

// Len returns the number of records kept. O(1).
func (l *List[T]) Len() int { return len(l.free) }

// All returns the kept records, for the owner to inspect or clear in place; the
// slice is the list's own and must not be kept. O(1).
func (l *List[T]) All() []*T { return l.free }
