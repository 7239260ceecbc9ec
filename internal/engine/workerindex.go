package engine

// What a worker holds: its open offers and its holdings (assignments holding its
// capacity), each a chain in the order they began (issue order, assignment order),
// so that the worker's view, its revocations on deregistration and the expiries due
// at one instant keep that order, and ending one anywhere in the chain is O(1).
//
// A worker that holds few is searched by a scan. One that holds Config.IndexHeldAt
// or more (32 by default: a bot with a large capacity, say) also has a
// workerIndex: its offers by ID, its holdings by job and assignment, and how many of
// both it holds on each channel (what MaxNumberOfJobs limits, read by every
// eligibility check). So accepting, declining, expiring, revoking, issuing,
// releasing and checking eligibility are each O(1) however many the worker holds
// (issuing: with a NewID that does not repeat, since a repeated ID is made unique
// by trying suffixes), and a worker that holds one or two pays nothing for it.

// defaultIndexHeldAt is Config.IndexHeldAt's default: how many open offers and
// holdings together make a worker's workerIndex. It is dropped when the worker is
// down to half that, so that a worker hovering about the mark does not build and
// drop it over and over (a build is O(IndexHeldAt), and happens at most once per
// IndexHeldAt/2 changes). Below it, a scan of so few is about as fast as a map
// lookup, and allocates nothing.
const defaultIndexHeldAt = 32

// workerIndex indexes what a worker holding many offers and holdings holds
// (workerState.many).
type workerIndex struct {
	offers map[string]*offerState // its open offers by ID
	holds  map[holdKey]*holding   // its holdings by job and assignment ID
	onChan map[string]int         // its offers and holdings on each channel ID; no zero counts
}

// holdKey names a holding: an assignment ID is unique only within its job.
type holdKey struct{ jobID, assignmentID string }

// held returns how many open offers and holdings w has. O(1).
func (w *workerState) held() int { return int(w.nOffers) + int(w.nHolds) }

// pushOffer appends o, just issued, to w's open offers. O(1) amortised.
func (e *Engine) pushOffer(w *workerState, o *offerState) {
	w.offers.pushBack(o)
	w.nOffers++
	if x := w.many; x != nil {
		x.offers[o.id] = o
		x.onChan[o.channel.String()]++
	} else if w.held() >= e.cfg.IndexHeldAt {
		w.buildIndex()
	}
}

// unlinkOffer takes o out of w's open offers. O(1).
func (e *Engine) unlinkOffer(w *workerState, o *offerState) {
	w.offers.remove(o)
	w.nOffers--
	if x := w.many; x != nil {
		delete(x.offers, o.id)
		x.uncount(o.channel.String())
		e.dropIndexIfFew(w)
	}
}

// pushHolding appends h, just assigned, to w's holdings. O(1) amortised.
func (e *Engine) pushHolding(w *workerState, h *holding) {
	w.holds.pushBack(h)
	w.nHolds++
	if x := w.many; x != nil {
		x.holds[holdKey{h.jobID, h.assignmentID}] = h
		x.onChan[h.channelID]++
	} else if w.held() >= e.cfg.IndexHeldAt {
		w.buildIndex()
	}
}

// unlinkHolding takes h out of w's holdings. O(1).
func (e *Engine) unlinkHolding(w *workerState, h *holding) {
	w.holds.remove(h)
	w.nHolds--
	if x := w.many; x != nil {
		delete(x.holds, holdKey{h.jobID, h.assignmentID})
		x.uncount(h.channelID)
		e.dropIndexIfFew(w)
	}
}

func (x *workerIndex) uncount(channelID string) {
	if n := x.onChan[channelID] - 1; n > 0 {
		x.onChan[channelID] = n
	} else {
		delete(x.onChan, channelID)
	}
}

// buildIndex indexes what w holds. O(Config.IndexHeldAt).
func (w *workerState) buildIndex() {
	x := &workerIndex{
		offers: make(map[string]*offerState, 2*w.nOffers),
		holds:  make(map[holdKey]*holding, 2*w.nHolds),
		onChan: make(map[string]int, len(w.Channels)),
	}
	for o := w.offers.first; o != nil; o = o.next {
		x.offers[o.id] = o
		x.onChan[o.channel.String()]++
	}
	for h := w.holds.first; h != nil; h = h.next {
		x.holds[holdKey{h.jobID, h.assignmentID}] = h
		x.onChan[h.channelID]++
	}
	w.many = x
}

func (e *Engine) dropIndexIfFew(w *workerState) {
	if w.held() <= e.cfg.IndexHeldAt/2 {
		w.many = nil
	}
}

// offerByID returns w's open offer with that ID, or nil. O(1): a scan of fewer
// than Config.IndexHeldAt, or a map lookup.
func (w *workerState) offerByID(id string) *offerState {
	if w.many != nil {
		return w.many.offers[id]
	}
	for o := w.offers.first; o != nil; o = o.next {
		if o.id == id {
			return o
		}
	}
	return nil
}

// holdingOf returns w's holding of that job's assignment, or nil. O(1), as
// offerByID.
func (w *workerState) holdingOf(jobID, assignmentID string) *holding {
	if w.many != nil {
		return w.many.holds[holdKey{jobID, assignmentID}]
	}
	for h := w.holds.first; h != nil; h = h.next {
		if h.jobID == jobID && h.assignmentID == assignmentID {
			return h
		}
	}
	return nil
}

// onChannel counts w's open offers and holdings on a channel: what its
// MaxNumberOfJobs there limits. O(1), as offerByID.
func (w *workerState) onChannel(id string) int {
	if w.many != nil {
		return w.many.onChan[id]
	}
	n := 0
	for o := w.offers.first; o != nil; o = o.next {
		if o.channel.String() == id {
			n++
		}
	}
	for h := w.holds.first; h != nil; h = h.next {
		if h.channelID == id {
			n++
		}
	}
	return n
}
