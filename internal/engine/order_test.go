package engine

import (
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/stretchr/testify/require"
)

// takeInOrder registers one capacity-1 worker per job; as each one registers, it is
// offered the first job in queue order that holds no offer yet. It returns the job
// each worker was offered, which is queue order.
func takeInOrder(f *fixture, n int, queues ...string) []string {
	f.t.Helper()
	var got []string
	for i := range n {
		id := string(rune('A' + i))
		f.worker(agent(id, queues...))
		offers := f.getWorker(id).Offers
		require.Len(f.t, offers, 1, "worker %s", id)
		got = append(got, offers[0].JobID)
	}
	return got
}

func TestQueueOrder_ExpediteThenPriorityThenEnqueuedAtThenCreationOrder(t *testing.T) {
	f := newFixture(t)
	f.basic()
	low := call("low", "q") // created first, lowest priority
	f.job(low)
	z := call("z-first", "q")
	z.Priority = 5
	f.job(z)
	a := call("a-second", "q") // same instant and priority: creation order, not ID
	a.Priority = 5
	f.job(a)
	late := call("late", "q") // created now, enqueued at +2s
	late.Priority = 5
	late.MatchingMode = MatchingMode{Kind: Suspend}
	f.job(late)
	f.advance(time.Second)
	mid := call("mid", "q") // created after "late" but enqueued before it
	mid.Priority = 5
	f.job(mid)
	f.advance(time.Second)
	late.MatchingMode = MatchingMode{}
	_, err := f.e.UpdateJob(f.now, late)
	require.NoError(t, err)
	require.Equal(t, t0.Add(2*time.Second), f.getJob("late").EnqueuedAt)
	f.advance(time.Second)
	urgent := call("urgent", "q")
	urgent.Priority = 10
	f.job(urgent)
	exp := call("expedited", "q") // lowest priority, created last, but expedited
	exp.Priority = -100
	exp.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.NotEqual, Value: "nobody", Expedite: true}}
	f.job(exp)

	require.Equal(t, []string{"expedited", "urgent", "z-first", "a-second", "mid", "late", "low"}, takeInOrder(f, 7, "q"))
}

func TestQueueOrder_PriorityChangeOfAQueuedJobReordersIt(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(call("first", "q"))
	f.job(call("second", "q"))
	second := f.getJob("second")
	second.Priority = 2
	_, err := f.e.UpdateJob(f.now, second)
	require.NoError(t, err)
	require.Equal(t, []string{"second", "first"}, takeInOrder(f, 2, "q"))
}

func TestQueueOrder_WorkerThatFreesUpTakesTheBestJobAcrossItsQueues(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q", "q2"))
	busy := f.assign("w", "busy", "q")

	f.advance(time.Second)
	f.job(call("d", "q2")) // priority 1, enqueued +1s
	f.advance(time.Second)
	f.job(call("c", "q")) // priority 1, enqueued +2s: after d although q sorts before q2
	f.advance(time.Second)
	b := call("b", "q2")
	b.Priority = 2
	f.job(b) // highest priority, newest
	require.Empty(t, f.getWorker("w").Offers, "w is busy")

	// Each time w frees up it is offered the first job in order across q and q2.
	prev, prevAID := "busy", busy
	for _, want := range []string{"b", "d", "c"} {
		f.advance(time.Second)
		require.NoError(t, f.e.CloseJob(f.now, prev, prevAID, "", "", time.Time{}))
		offers := f.getWorker("w").Offers
		require.Len(t, offers, 1)
		require.Equal(t, want, offers[0].JobID)
		prev, prevAID = want, f.accept("w", want)
	}
}

func TestQueueOrder_WorkerJoiningTwoQueuesTakesTheBestJobAcrossThem(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(call("in-q", "q"))
	f.advance(time.Second)
	hi := call("in-q2", "q2")
	hi.Priority = 3
	f.job(hi)
	require.Equal(t, []string{"in-q2", "in-q"}, takeInOrder(f, 2, "q", "q2"))
}
