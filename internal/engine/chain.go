package engine

// chain is an intrusive doubly-linked list: each element carries its own links, so
// that an element is appended, or removed from anywhere, in O(1) and without an
// allocation, and the list keeps insertion order. A worker's open offers and its
// holdings are chains (a bot with a large capacity holds many, and ends them in any
// order, newest first say), and so are a job's open offers (a job offered to many
// workers at once ends them in any order too).
//
// Its head is one word: the first element, whose prev is the last. Every other
// element's prev is the one before it, and the last's next is nil, so a walk by
// next ends as usual. One word matters where the head lives in a record at the top
// of its size class (jobState: B4).
//
// L says which of the element's links the chain uses, so that an element can be in
// one chain of each kind at once (an offer is in its worker's and in its job's). An
// element is in at most one chain of a kind at a time; removing one that is not in c
// corrupts c (CheckIndexes walks every chain with Config.Checks). The zero chain is
// empty.
type chain[E any, L linker[E]] struct {
	first *E
}

// links are an element's neighbours in one chain (see chain for prev at the
// first); both nil when out of it.
type links[E any] struct {
	prev, next *E
}

// linker picks an element's links for one kind of chain. Its implementations are
// empty structs, one per kind.
type linker[E any] interface {
	linksOf(x *E) *links[E]
}

// The kinds of chain: a worker's open offers (the offer's embedded links), a job's
// open offers (its jlinks), a worker's holdings.
type (
	workerOffers struct{}
	jobOffers    struct{}
	heldJobs     struct{}
)

func (workerOffers) linksOf(o *offerState) *links[offerState] { return &o.links }
func (jobOffers) linksOf(o *offerState) *links[offerState]    { return &o.jlinks }
func (heldJobs) linksOf(h *holding) *links[holding]           { return &h.links }

// pushBack appends x, which must be in no chain of c's kind. O(1).
func (c *chain[E, L]) pushBack(x *E) {
	var l L
	lx := l.linksOf(x)
	lx.next = nil
	if c.first == nil {
		c.first, lx.prev = x, x
		return
	}
	lf := l.linksOf(c.first)
	last := lf.prev
	l.linksOf(last).next = x
	lx.prev, lf.prev = last, x
}

// remove takes x, which must be in c, out of c and clears its links. O(1).
func (c *chain[E, L]) remove(x *E) {
	var l L
	lx := l.linksOf(x)
	switch {
	case x == c.first:
		c.first = lx.next
		if lx.next != nil {
			l.linksOf(lx.next).prev = lx.prev // the last
		}
	case lx.next == nil: // the last, not the first
		l.linksOf(lx.prev).next = nil
		l.linksOf(c.first).prev = lx.prev
	default:
		l.linksOf(lx.prev).next = lx.next
		l.linksOf(lx.next).prev = lx.prev
	}
	lx.prev, lx.next = nil, nil
}

// check walks c and returns its length, or -1 when the links disagree (an element
// whose prev is not the one before it, or a first whose prev is not the last).
// O(len). For CheckIndexes.
func (c *chain[E, L]) check() int {
	var l L
	n := 0
	var prev *E
	for x := c.first; x != nil; x = l.linksOf(x).next {
		if prev != nil && l.linksOf(x).prev != prev {
			return -1
		}
		prev = x
		n++
	}
	if c.first != nil && l.linksOf(c.first).prev != prev {
		return -1
	}
	return n
}
