package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWorkerTreeAgainstASortedSlice runs random inserts and removes on a workerTree
// in each of its orders and compares every view (len, min, the walks, get) with a
// sorted slice after each step; treeHead must never show.
func TestWorkerTreeAgainstASortedSlice(t *testing.T) {
	for _, order := range []struct {
		name string
		less func(a, b *workerState) bool
	}{{"idle", lessIdle}, {"id", lessID}} {
		t.Run(order.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			pool := make([]*workerState, 300)
			for i := range pool {
				pool[i] = &workerState{ID: fmt.Sprintf("w%03d", i), rank: uint32(i)}
				pool[i].ikey = wkey{load: float64(r.IntN(3)) / 2, mono: int64(r.IntN(20)), hasMono: true}
			}
			x := newWorkerTree(order.less)
			ref := []*workerState{}
			cmp := func(a, b *workerState) int {
				switch {
				case order.less(a, b):
					return -1
				case order.less(b, a):
					return 1
				}
				return 0
			}
			for step := range 5000 {
				w := pool[r.IntN(len(pool))]
				i, in := slices.BinarySearchFunc(ref, w, cmp)
				if r.IntN(2) == 0 {
					x.insert(w)
					if !in {
						ref = slices.Insert(ref, i, w)
					}
				} else {
					x.remove(w)
					if in {
						ref = slices.Delete(ref, i, i+1)
					}
				}
				require.Equal(t, len(ref), x.len(), "step %d", step)
				all := []*workerState{}
				x.ascend(func(w *workerState) bool { all = append(all, w); return true })
				require.Equal(t, ref, all, "step %d", step)
				if m, ok := x.min(); len(ref) > 0 {
					require.True(t, ok)
					require.Same(t, ref[0], m)
				} else {
					require.False(t, ok)
				}
				pivot := pool[r.IntN(len(pool))]
				k, _ := slices.BinarySearchFunc(ref, pivot, cmp)
				var from, below []*workerState
				x.ascendFrom(pivot, func(w *workerState) bool { from = append(from, w); return true })
				x.ascendBelow(pivot, func(w *workerState) bool { below = append(below, w); return true })
				require.Equal(t, ref[k:], append([]*workerState{}, from...), "step %d", step)
				require.Equal(t, ref[:k], append([]*workerState{}, below...), "step %d", step)
				got, ok := x.get(pivot)
				_, want := slices.BinarySearchFunc(ref, pivot, cmp)
				require.Equal(t, want, ok)
				if ok {
					require.Same(t, pivot, got)
				}
			}
			// A probe with the empty ID (RoundRobin's cursor before its first offer)
			// finds no worker, and walks from it see every worker.
			probe := &workerState{}
			_, ok := x.get(probe)
			require.False(t, ok)
			n := 0
			x.ascendFrom(probe, func(*workerState) bool { n++; return true })
			if order.name == "id" {
				require.Equal(t, len(ref), n)
			}
		})
	}
}
