//go:build lockprobe

package lockprobe

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// spin keeps the goroutine busy for at least d of the probe's own clock.
func spin(d time.Duration) {
	for t0 := nanotime(); nanotime()-t0 < int64(d); {
	}
}

// With the tag, each span is counted once and its time is added: spans of known
// length, from several goroutines at once (each with its own Span, as each
// Router has its own lock), add up to at least their sum and to no more than the
// goroutines' wall time together, and Reset starts over.
func TestOnBuildAddsSpans(t *testing.T) {
	require.True(t, Enabled)
	Reset()
	const goroutines, spans, each = 4, 25, 200 * time.Microsecond
	var wg sync.WaitGroup
	t0 := nanotime()
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s Span
			for range spans {
				s.Start()
				spin(each)
				s.Stop()
			}
		}()
	}
	wg.Wait()
	wall := time.Duration(nanotime() - t0)
	held, n := Read()
	require.EqualValues(t, goroutines*spans, n)
	// Less one clock read per span (tens of nanoseconds) from each span's 200 µs.
	require.GreaterOrEqual(t, held, goroutines*spans*(each-time.Microsecond))
	require.LessOrEqual(t, held, goroutines*wall)

	Reset()
	held, n = Read()
	require.Zero(t, held)
	require.Zero(t, n)
}

// Read takes one clock read per span back out of the raw total, exactly, and
// never goes below zero.
func TestReadSubtractsOneClockReadPerSpan(t *testing.T) {
	Reset()
	var s Span
	for range 3 {
		s.start = nanotime() - int64(time.Millisecond) // a span begun 1 ms ago
		s.Stop()
	}
	raw := heldNs.Load()
	require.GreaterOrEqual(t, raw, int64(3*time.Millisecond))
	held, n := Read()
	require.EqualValues(t, 3, n)
	require.Equal(t, time.Duration(raw-3*readCost), held)

	Reset()
	taken.Store(1) // a span too short to hold a clock read
	held, _ = Read()
	require.Zero(t, held)
	Reset()
}

// The clock read that Read takes back out of each span is a plausible cost for a
// vDSO read: positive and well under a microsecond.
func TestReadCostIsMeasured(t *testing.T) {
	require.Greater(t, readCost, int64(0))
	require.Less(t, readCost, int64(time.Microsecond))
}
