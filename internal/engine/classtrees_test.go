package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// langFixture: queue q (LongestIdle) with n agents w00, w01, … whose label lang is
// en and fr by turns: two classes.
func langFixture(t *testing.T, n int) *fixture {
	f := newFixture(t)
	f.policy("p", Mode{Kind: LongestIdle})
	f.queue("q", "p")
	for i := range n {
		w := agent(fmt.Sprintf("w%02d", i), "q")
		w.Labels = Labels{"lang": []string{"en", "fr"}[i%2]}
		f.worker(w)
	}
	return f
}

// TestClassTreesAreBuiltOnlyWhenAJobNeedsThem: a queue whose jobs all match every
// class keeps no class trees (its classes count their free members); the first job
// whose selectors pick some classes builds them from the queue's tree, in
// LongestIdle order, and from then on they follow every change.
func TestClassTreesAreBuiltOnlyWhenAJobNeedsThem(t *testing.T) {
	f := langFixture(t, 12)
	// Jobs without selectors, each taken by the longest idle worker and closed.
	for n := range 30 {
		f.advance(time.Second)
		j := call(fmt.Sprintf("plain%02d", n), "q")
		f.job(j)
		offers := f.offersFor(j.ID)
		require.Len(t, offers, 1)
		aid := f.accept(offers[0].WorkerID, j.ID)
		require.NoError(t, f.e.CloseJob(f.now, j.ID, aid, "", "", time.Time{}))
	}
	q := f.e.queues["q"]
	require.False(t, q.classTrees, "no job needed them")
	for _, c := range q.classList {
		require.Equal(t, 6, c.nFree)
		require.Zero(t, c.free.len())
	}

	// The longest idle French speaker, by the queue's own order.
	var want string
	q.free.ascend(func(w *workerState) bool {
		if langOf(w) == "fr" {
			want = w.ID
			return false
		}
		return true
	})
	f.advance(time.Second)
	fr := call("fr", "q")
	fr.RequestedWorkerSelectors = []Selector{{Key: "lang", Op: labels.Equal, Value: "fr"}}
	f.job(fr)
	require.Equal(t, []string{want}, f.offeredTo("fr"))
	require.True(t, q.classTrees, "built for the job with selectors")
	for _, c := range q.classList {
		require.Equal(t, c.nFree, c.free.len())
	}

	// From now on both kinds of job go where LongestIdle says, the class trees kept
	// current (the fixture's Checks verify every index after every pass).
	aid := f.accept(want, "fr")
	for n := range 20 {
		f.advance(time.Second)
		j := call(fmt.Sprintf("mixed%02d", n), "q")
		lang := []string{"en", "fr"}[n%3%2]
		if n%2 == 0 {
			j.RequestedWorkerSelectors = []Selector{{Key: "lang", Op: labels.Equal, Value: lang}}
		}
		var next string
		q.free.ascend(func(w *workerState) bool {
			if n%2 == 1 || langOf(w) == lang {
				next = w.ID
				return false
			}
			return true
		})
		f.job(j)
		require.Equal(t, []string{next}, f.offeredTo(j.ID), "job %s", j.ID)
		a := f.accept(next, j.ID)
		require.NoError(t, f.e.CloseJob(f.now, j.ID, a, "", "", time.Time{}))
	}
	require.NoError(t, f.e.CloseJob(f.now, "fr", aid, "", "", time.Time{}))
}

// TestRoundRobinBuildsClassTrees: a queue turned RoundRobin reads its classes'
// ID-ordered trees, built from their LongestIdle ones: those are built first.
func TestRoundRobinBuildsClassTrees(t *testing.T) {
	f := langFixture(t, 6)
	q := f.e.queues["q"]
	require.False(t, q.classTrees)
	f.policy("p", Mode{Kind: RoundRobin})
	require.True(t, q.classTrees)
	for _, c := range q.classList {
		require.Equal(t, 3, c.free.len())
		require.Equal(t, 3, c.freeByID.len())
	}
	fr := call("fr", "q")
	fr.RequestedWorkerSelectors = []Selector{{Key: "lang", Op: labels.Equal, Value: "fr"}}
	f.job(fr)
	require.Equal(t, []string{"w01"}, f.offeredTo("fr"), "the first French speaker by ID")
}

func langOf(w *workerState) any {
	v, _ := w.labels.Set.Get("lang")
	return v
}

// TestOneClassQueueBuildsNoClassTrees: in a queue of one class (every listener has
// the same labels and channels) the queue's own tree holds exactly the class's free
// members, so a job without selectors needs no class tree.
func TestOneClassQueueBuildsNoClassTrees(t *testing.T) {
	f := newFixture(t)
	f.basic()
	for _, id := range []string{"a", "b", "c", "d"} {
		f.worker(agent(id, "q"))
	}
	f.job(call("j", "q"))
	require.Equal(t, []string{"a"}, f.offeredTo("j"))
	q := f.e.queues["q"]
	require.Len(t, q.classList, 1)
	require.False(t, q.classTrees)
	require.Equal(t, 3, q.classList[0].nFree)
}
