package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// checkRanks verifies rank.go's invariant over every worker (ranks never go down
// in ID order) and returns how many neighbours in ID order share a rank.
func checkRanks(t *testing.T, e *Engine) (shared int) {
	t.Helper()
	ids := sortedKeys(e.workers)
	for i := 1; i < len(ids); i++ {
		a, b := e.workers[ids[i-1]], e.workers[ids[i]]
		require.LessOrEqual(t, a.rank, b.rank, "%q before %q", a.ID, b.ID)
		if a.rank == b.rank {
			shared++
		}
	}
	return shared
}

// TestRanksOrderAsIDs registers and deletes workers in the orders that wear ranks
// out fastest, and checks after every call that ranks order as IDs do; and that
// the layouts, which cost O(n) each, stay rare: at most one per n/4 workers
// registered since the last, so a few over the whole run.
func TestRanksOrderAsIDs(t *testing.T) {
	const n = 800
	id := func(i int) string { return fmt.Sprintf("w%06d", i) }
	orders := map[string]func() []string{
		"ascending": func() []string {
			var s []string
			for i := range n {
				s = append(s, id(i))
			}
			return s
		},
		"descending": func() []string {
			var s []string
			for i := n - 1; i >= 0; i-- {
				s = append(s, id(i))
			}
			return s
		},
		"random": func() []string {
			var s []string
			for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
				s = append(s, id(i))
			}
			return s
		},
		// Every new ID falls between "a" and the one before it: the gap halves each
		// time, the worst case for a midpoint.
		"same gap": func() []string {
			s := []string{"a", "b"}
			for i := range 250 { // IDs up to Config.MaxIDLength, 256 bytes
				s = append(s, "a"+strings.Repeat("0", 250-i))
			}
			return s
		},
		// Alternately before and after everything, then into the middle.
		"both ends": func() []string {
			var s []string
			for i := range n / 2 {
				s = append(s, id(n/2-1-i), id(n/2+i))
			}
			return s
		},
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range orders {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			// Checks: every index verified after every call, the free trees across
			// each layout included.
			e := New(Config{Checks: true})
			now := time.Unix(0, 0)
			rng := rand.New(rand.NewPCG(3, 4))
			var live []string
			for _, wid := range orders[name]() {
				_, err := e.UpsertWorker(now, Worker{ID: wid, Capacity: 1, AvailableForOffers: true})
				require.NoError(t, err)
				live = append(live, wid)
				if name != "same gap" && rng.IntN(5) == 0 { // and some leave
					k := rng.IntN(len(live))
					require.NoError(t, e.DeleteWorker(now, live[k]))
					live = slices.Delete(live, k, k+1)
				}
				if len(live)%97 == 0 {
					checkRanks(t, e)
				}
			}
			shared := checkRanks(t, e)
			require.LessOrEqual(t, e.rankLayouts, 40, "layouts")
			if name == "same gap" {
				require.GreaterOrEqual(t, e.rankLayouts, 2, "a gap halved 250 times wears out")
			}
			// Shared ranks only come from a gap worn out too soon after a layout;
			// the same-gap order makes them on purpose, the others hardly ever.
			if name != "same gap" {
				require.LessOrEqual(t, shared, len(live)/20, "shared ranks")
			}
			t.Logf("%d workers, %d layouts, %d neighbours sharing a rank", len(live), e.rankLayouts, shared)
		})
	}
}

// TestRanksSharedWhenAGapWearsOutSoonAfterALayout: with 1,000 workers laid out, a
// gap worn out by 40 IDs falling into it is not worth another O(n) layout: the new
// workers share their predecessor's rank, and ties among them go to their IDs.
func TestRanksSharedWhenAGapWearsOutSoonAfterALayout(t *testing.T) {
	e := New(Config{})
	now := time.Unix(0, 0)
	for _, i := range rand.New(rand.NewPCG(5, 6)).Perm(1000) {
		_, err := e.UpsertWorker(now, Worker{ID: fmt.Sprintf("w%04d", i), Capacity: 1, AvailableForOffers: true})
		require.NoError(t, err)
	}
	e.relabelRanks()
	layouts := e.rankLayouts
	var worn []string
	for i := range 40 {
		id := "w0500" + strings.Repeat("0", 40-i) // between w0500 and the one before
		_, err := e.UpsertWorker(now, Worker{ID: id, Capacity: 1, AvailableForOffers: true})
		require.NoError(t, err)
		worn = append(worn, id)
	}
	require.Equal(t, layouts, e.rankLayouts, "no layout for 40 of 1,040")
	require.Positive(t, checkRanks(t, e), "some share a rank")
	slices.Sort(worn)
	for i := 1; i < len(worn); i++ {
		a, b := e.workers[worn[i-1]], e.workers[worn[i]]
		require.True(t, lessIdle(a, b), "%s < %s", a.ID, b.ID)
		require.False(t, lessIdle(b, a), "%s < %s", b.ID, a.ID)
	}
	require.NoError(t, e.CheckIndexes())
}

// TestRankLayoutIsEvenAndOrdered: a layout gives distinct ranks in ID order, spread
// around rankMid.
func TestRankLayoutIsEvenAndOrdered(t *testing.T) {
	e := New(Config{})
	now := time.Unix(0, 0)
	for _, id := range []string{"c", "a", "e", "b", "d"} {
		_, err := e.UpsertWorker(now, Worker{ID: id})
		require.NoError(t, err)
	}
	e.relabelRanks()
	var ranks []uint32
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		ranks = append(ranks, e.workers[id].rank)
	}
	step := uint32((1 << 31) / 6)
	require.Equal(t, []uint32{rankMid - 2*step - step/2, rankMid - step - step/2, rankMid - step/2,
		rankMid + step - step/2, rankMid + 2*step - step/2}, ranks)
	require.Equal(t, step, e.rankStep)
	require.Zero(t, e.rankAdded)
}

// TestLessIdleBreaksTiesByID: two workers tied on load and idle instant are
// ordered by ID, whichever registered first and whatever their ranks' layout.
func TestLessIdleBreaksTiesByID(t *testing.T) {
	e := New(Config{})
	now := time.Unix(0, 0)
	for _, id := range []string{"m", "z", "a", "n", "b"} {
		_, err := e.UpsertWorker(now, Worker{ID: id, Capacity: 1, AvailableForOffers: true})
		require.NoError(t, err)
	}
	ids := sortedKeys(e.workers)
	check := func() {
		for i, a := range ids {
			for k, b := range ids {
				require.Equal(t, i < k, lessIdle(e.workers[a], e.workers[b]), "%s < %s", a, b)
			}
		}
	}
	check()
	e.workers["n"].rank = e.workers["m"].rank // shared: the IDs decide
	check()
	e.relabelRanks()
	check()
}
