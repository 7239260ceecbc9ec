package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A matching pass that panics (the public shell recovers every panic, and the engine
// must stay usable) leaves no list buffer shared between the spare and the dirty
// lists: a shared one would have the next pass append into the list it iterates.
func TestPanickingPassLeavesNoSharedListBuffer(t *testing.T) {
	offers := 0
	f := newFixture(t, Config{Emit: func(ev Event) {
		if ev.Type == EvOfferIssued {
			if offers++; offers == 2 { // j1's
				panic("emit failed")
			}
		}
	}})
	f.basic()
	f.worker(agent("w1", "q"))
	f.worker(agent("w2", "q"))
	f.job(call("j0", "q")) // a pass that fills and hands back the buffers
	func() {
		defer func() { require.NotNil(t, recover(), "the pass did not panic") }()
		_, _ = f.e.CreateJob(f.now, call("j1", "q"))
	}()
	shared := func() bool {
		j := cap(f.e.spareJobs) > 0 && cap(f.e.dirtyJobs) > 0 && &f.e.spareJobs[:1][0] == &f.e.dirtyJobs[:1][0]
		w := cap(f.e.spareWorkers) > 0 && cap(f.e.dirtyWorkers) > 0 && &f.e.spareWorkers[:1][0] == &f.e.dirtyWorkers[:1][0]
		return j || w
	}
	require.False(t, shared(), "after the panic")
	f.worker(agent("w3", "q"))
	f.job(call("j2", "q"))
	require.False(t, shared(), "after the next passes")
	require.NoError(t, f.e.CheckIndexes())
}
