package engine

// chain is an intrusive doubly-linked list: each element carries its own links (an
// embedded links[E]), so that an element is appended, or removed from anywhere, in
// O(1) and without an allocation, and the list keeps insertion order. A worker's
// open offers and its holdings are chains: a bot with a large capacity holds many,
// and ends them in any order (newest first, say). The zero chain is empty.
//
// An element is in at most one chain of its kind at a time; removing one that is not
// in c corrupts c (CheckIndexes walks every chain with Config.Checks).
type chain[E any, P chained[E]] struct {
	first, last *E
}

// links are an element's neighbours in its chain; nil at either end, and when out
// of any chain.
type links[E any] struct {
	prev, next *E
}

// chained is what chain needs of an element's pointer type: its links. An element
// type that embeds links[E] has it.
type chained[E any] interface {
	*E
	chainLinks() *links[E]
}

func (l *links[E]) chainLinks() *links[E] { return l }

// pushBack appends x, which must be in no chain. O(1).
func (c *chain[E, P]) pushBack(x *E) {
	lx := P(x).chainLinks()
	lx.prev, lx.next = c.last, nil
	if c.last != nil {
		P(c.last).chainLinks().next = x
	} else {
		c.first = x
	}
	c.last = x
}

// remove takes x, which must be in c, out of c and clears its links. O(1).
func (c *chain[E, P]) remove(x *E) {
	lx := P(x).chainLinks()
	if lx.prev != nil {
		P(lx.prev).chainLinks().next = lx.next
	} else {
		c.first = lx.next
	}
	if lx.next != nil {
		P(lx.next).chainLinks().prev = lx.prev
	} else {
		c.last = lx.prev
	}
	lx.prev, lx.next = nil, nil
}

// check walks c from both ends and returns its length, or -1 when the links
// disagree (a next without the matching prev, or the ends not where the walk ends).
// O(len). For CheckIndexes.
func (c *chain[E, P]) check() int {
	n := 0
	var prev *E
	for x := c.first; x != nil; x = P(x).chainLinks().next {
		if P(x).chainLinks().prev != prev {
			return -1
		}
		prev = x
		n++
	}
	if prev != c.last {
		return -1
	}
	return n
}
