package engine

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestWorkerStructsFitTheirSizeClasses: B4's bytes per worker count workerState
// whole, and B6 holds a million offerStates. One more word takes workerState from
// the 256-byte size class to the 288-byte one, offerState from 128 to 144 (its size
// when it embedded Offer, without its chain links), a holding from 96 to 112.
func TestWorkerStructsFitTheirSizeClasses(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(workerState{}), uintptr(256))
	require.LessOrEqual(t, unsafe.Sizeof(offerState{}), uintptr(128))
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
	require.Zero(t, e.nSpareHolds)
	for range maxSpareHolds + 10 {
		e.freeHolding(new(holding))
	}
	require.Equal(t, maxSpareHolds, e.nSpareHolds)
}
