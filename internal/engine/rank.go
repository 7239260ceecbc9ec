package engine

// Worker ranks: a number per worker that orders as its ID does, so that the
// LongestIdle trees break a tie on load and idle instant with one integer
// comparison instead of a string comparison. Ties are common: every worker of a
// simulation or a test on a clock that does not move between two releases has the
// same idle instant, and then every step of a tree search compared two IDs (in
// B1, 59 string comparisons a lifecycle, a twentieth of its instructions).
//
// The invariant is weak: a.ID < b.ID implies a.rank <= b.rank, for every two
// workers in e.workers. lessIdle compares IDs when two ranks are equal, so equal
// ranks cost speed, never order. A new worker takes a rank between its neighbours'
// in ID order (rankWorker); when they leave no room, every rank is laid out again,
// evenly (relabelRanks), if enough workers have come since the last layout for its
// O(n) to be paid back, else the new worker shares its predecessor's rank. Laying
// ranks out again keeps every two workers' order (it only turns equal ranks into
// distinct ones, in ID order), so the free trees stay valid through it.

// rankMid is where ranks are laid out around: the middle of the uint32 range, with a
// quarter of it left free at each end for workers whose IDs come before or after
// every other.
const rankMid = 1 << 31

// rankWorker gives w, just added to e.workers and e.workerIDs, a rank between its
// neighbours' in ID order. O(log n) for the neighbours, plus relabelRanks' O(n) at
// most once per n/4 new workers: amortised O(log n).
func (e *Engine) rankWorker(w *workerState) {
	prev, next, hasPrev, hasNext := e.workerIDs.neighbours(w.ID)
	lo, hi := int64(-1), int64(1)<<32 // the exclusive bounds
	if hasPrev {
		lo = int64(e.workers[prev].rank)
	}
	if hasNext {
		hi = int64(e.workers[next].rank)
	}
	step := int64(e.rankStep) // the spacing of the last layout
	if step == 0 {
		step = 1 << 16 // none yet
	}
	var r int64
	switch {
	case !hasPrev && !hasNext:
		r = rankMid
	case !hasNext:
		r = lo + step
	case !hasPrev:
		r = hi - step
	default:
		r = lo + (hi-lo)/2
	}
	if lo < r && r < hi {
		w.rank = uint32(r)
		e.rankAdded++
		return
	}
	if n := e.workerIDs.len(); 4*e.rankAdded >= n {
		e.relabelRanks()
		return
	}
	// No room, and too few workers came since the last layout to pay for another:
	// w shares its predecessor's rank (or its successor's, first in ID order), and
	// lessIdle compares their IDs.
	if hasPrev {
		w.rank = uint32(lo)
	} else {
		w.rank = uint32(hi)
	}
	e.rankAdded++
}

// relabelRanks lays every worker's rank out again, in ID order, evenly spaced
// around rankMid: distinct while there are fewer than 2^31 workers. O(n).
func (e *Engine) relabelRanks() {
	n := uint64(e.workerIDs.len())
	step := (uint64(1) << 31) / (n + 1)
	r := uint64(rankMid) - step*n/2
	e.workerIDs.ascendAfter("", func(id string) bool {
		e.workers[id].rank = uint32(r)
		r += step
		return true
	})
	e.rankStep = uint32(step)
	e.rankAdded = 0
	e.rankLayouts++
}
