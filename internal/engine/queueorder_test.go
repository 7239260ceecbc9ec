package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A queue order that empties after each job, as in a router that keeps up, keeps
// its tree's root (orderHead): putting a job in line and taking it out allocates
// nothing. orderHead precedes the job that comes first of all, and no place, length
// or walk counts it.
func TestQueueOrderHeadIsBeforeEveryJobAndNeverCounted(t *testing.T) {
	o := newQueueOrder()
	first := &jobState{ID: "first", seq: 1, keyExpedite: true, keyPriority: 100}
	require.Zero(t, testing.AllocsPerRun(100, func() {
		o.insert(first)
		o.remove(first)
	}))
	require.Zero(t, o.len())
	o.ascend(func(*jobState) bool { t.Fatal("an empty order walks no job"); return false })

	later := &jobState{ID: "later", seq: 2, keyPriority: -100, CreatedAt: t0.Add(time.Hour), enqDelta: 0}
	o.insert(later)
	o.insert(first)
	require.Equal(t, 2, o.len())
	require.Same(t, first, o.at(0))
	require.Same(t, later, o.at(1))
	var walked []string
	o.ascend(func(j *jobState) bool { walked = append(walked, j.ID); return true })
	require.Equal(t, []string{"first", "later"}, walked)
	for i, j := range []*jobState{first, later} {
		r, ok := o.rank(j)
		require.True(t, ok)
		require.Equal(t, i, r)
	}
	_, ok := o.rank(orderHead)
	require.False(t, ok, "orderHead has no place in line")
	var levels []level
	o.levels(func(l level, _ *jobState, count int) {
		require.Equal(t, 1, count)
		levels = append(levels, l)
	})
	require.Equal(t, []level{{true, 100}, {false, -100}}, levels)
}
