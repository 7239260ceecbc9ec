package engine

import (
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestWorkerStructsFitTheirSizeClasses: B4's bytes per worker count workerState
// whole, and B6 holds a million offerStates. workerState is 240 bytes (its two
// chains' heads are a word each), 16 under the 256-byte class; three more words take
// it to the 288-byte one. One more word takes offerState (its expiry's 80-byte heap
// entry included) from 208 to 224, a holding from 96 to 112.
func TestWorkerStructsFitTheirSizeClasses(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(workerState{}), uintptr(256))
	require.LessOrEqual(t, unsafe.Sizeof(offerState{}), uintptr(208))
	require.LessOrEqual(t, unsafe.Sizeof(holding{}), uintptr(96))
}

// A released holding record is kept for the next accept (newHolding), cleared, up
// to maxSpareHolds of them.
func TestHoldingRecordsAreReused(t *testing.T) {
	e := New(Config{})
	h := e.newHolding(holding{jobID: "j", assignmentID: "a", channelID: voice, cost: 1})
	e.freeHolding(h)
	require.Equal(t, holding{}, *h, "cleared: it keeps no job alive")
	again := e.newHolding(holding{jobID: "k", assignmentID: "b"})
	require.Same(t, h, again)
	require.Equal(t, holding{jobID: "k", assignmentID: "b"}, *again)
	require.Zero(t, e.spareHolds.Len())
	for range maxSpareHolds + 10 {
		e.freeHolding(new(holding))
	}
	require.Equal(t, maxSpareHolds, e.spareHolds.Len())
}

// An ended offer's record is kept for the next offer (newOffer), cleared, up to
// maxSpareOffers of them; a reused record's expiry is its own: the ended offer's
// deadline is gone, and the new one fires once, at its own time.
func TestOfferRecordsAreReused(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	f.job(call("j1", "q"))
	first := f.e.workers["w"].offers.first
	require.NotNil(t, first)
	f.advance(time.Second)
	require.NoError(t, f.e.DeclineOffer(f.now, "w", first.id, time.Time{}))
	require.Equal(t, 1, f.e.spareOffers.Len())
	require.Same(t, first, f.e.spareOffers.All()[0])
	require.Equal(t, offerState{}, *first, "cleared: it keeps no job or worker alive")

	f.job(call("j2", "q"))
	second := f.e.workers["w"].offers.first
	require.Same(t, first, second, "the record is reused")
	require.Zero(t, f.e.spareOffers.Len())
	require.Equal(t, "j2", second.job.ID)
	f.take()
	// Only the new offer's expiry is pending, and it fires once, at its own time
	// (the worker, deregistered by the expiry, gets no further offer).
	f.advance(expiry - time.Nanosecond)
	require.Empty(t, f.take())
	f.advance(time.Hour)
	var expired []string
	for _, ev := range f.take() {
		if ev.Type == EvOfferExpired {
			expired = append(expired, ev.JobID)
		}
	}
	require.Equal(t, []string{"j2"}, expired)
	require.Zero(t, f.e.deadlines.Len())

	for range maxSpareOffers + 10 {
		f.e.freeOffer(new(offerState))
	}
	require.Equal(t, maxSpareOffers, f.e.spareOffers.Len())
	require.NoError(t, f.e.CheckIndexes())
}
