//go:build lockprobe

package lockprobe

import (
	"slices"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname
)

// Enabled reports whether this build measures the lock (the lockprobe build tag).
const Enabled = true

// nanotime is the runtime's monotonic clock: one vDSO read, cheaper than time.Now,
// which also reads the wall clock.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

var (
	heldNs atomic.Int64
	taken  atomic.Int64
	// readCost is the median cost of one nanotime call, measured once. A span
	// holds about one call's worth of the probe (the end of Start's read, the
	// start of Stop's), which Read takes back out.
	readCost = measureReadCost()
)

// Span times one holding of the lock. It belongs to one lock and is written only
// by the goroutine that holds it.
type Span struct{ start int64 }

// Start marks the lock as just taken. Call it right after Lock.
func (s *Span) Start() { s.start = nanotime() }

// Stop marks the lock as about to be released and adds the span to the totals.
// Call it right before Unlock.
func (s *Span) Stop() {
	heldNs.Add(nanotime() - s.start)
	taken.Add(1)
}

// Reset zeroes the totals. Call it while no lock that a Span times is held.
func Reset() {
	heldNs.Store(0)
	taken.Store(0)
}

// Read returns the total time the lock was held since the last Reset, less one
// clock read per span (the probe's own cost inside the span), and how many times
// it was taken. Call it while no span is in progress: the two totals are read one
// after the other.
func Read() (held time.Duration, n int64) {
	n = taken.Load()
	return time.Duration(max(0, heldNs.Load()-n*readCost)), n
}

func measureReadCost() int64 {
	const batches, per = 101, 1000
	costs := make([]int64, batches)
	for i := range costs {
		t0 := nanotime()
		for range per {
			nanotime()
		}
		costs[i] = (nanotime() - t0) / per
	}
	slices.Sort(costs)
	return costs[batches/2]
}
