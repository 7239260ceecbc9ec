package sim

import "time"

// itemKind is what a scheduled simulation event does.
type itemKind uint8

const (
	itemArrival    itemKind = iota // a stream's next job arrives
	itemPatience                   // a customer's patience runs out
	itemAnswer                     // a worker answers an offer
	itemFinish                     // a worker finishes handling a job
	itemShiftOn                    // a worker group logs in
	itemShiftOff                   // a worker group logs out
	itemReregister                 // a worker deregistered by an expiry comes back
)

// item is one scheduled simulation event. Only the fields of its kind are set.
type item struct {
	at      time.Time
	seq     uint64 // scheduling order: ties in time go first-scheduled first
	kind    itemKind
	accept  bool // itemAnswer: accept (else decline)
	stream  *streamState
	job     *jobState
	worker  *workerState
	group   *groupState
	offerID string
}

// agenda is the simulator's own future: a binary min-heap of items ordered by
// (at, seq), so that the order of simultaneous events is the order in which they
// were scheduled, never an accident of the heap.
type agenda struct {
	items []item
	seq   uint64
}

func (a *agenda) less(i, j int) bool {
	x, y := &a.items[i], &a.items[j]
	if !x.at.Equal(y.at) {
		return x.at.Before(y.at)
	}
	return x.seq < y.seq
}

func (a *agenda) push(it item) {
	a.seq++
	it.seq = a.seq
	a.items = append(a.items, it)
	i := len(a.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a.items[i], a.items[p] = a.items[p], a.items[i]
		i = p
	}
}

// peek returns the earliest item's time, and false when the agenda is empty.
func (a *agenda) peek() (time.Time, bool) {
	if len(a.items) == 0 {
		return time.Time{}, false
	}
	return a.items[0].at, true
}

func (a *agenda) pop() item {
	top := a.items[0]
	last := len(a.items) - 1
	a.items[0] = a.items[last]
	a.items[last] = item{}
	a.items = a.items[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && a.less(l, m) {
			m = l
		}
		if r < last && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a.items[i], a.items[m] = a.items[m], a.items[i]
		i = m
	}
	return top
}
