package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The maximum-age deadlines live in a list outside the heap (agelist.go); these tests
// pin that they fire exactly where they did as heap entries.

func TestAgeList_TiesWithHeapDeadlinesFollowTheOrderTheyWereSet(t *testing.T) {
	const age = time.Hour
	f := newFixture(t, Config{MaxJobAge: age})
	f.basic()
	// All due at t0+1h. q1's maximum age is set first; p's selector expiry is set
	// before its own maximum age (startJobClocks); r's age comes last.
	f.job(call("q1", "q"))
	f.job(withSelectors("p", "q", excluding("nobody", age)))
	f.job(call("r", "q"))
	f.take()
	got := f.e.Deadlines()
	require.Equal(t, []PendingDeadline{
		{Kind: DeadlineMaxAge, ID: "q1", When: t0.Add(age)},
		{Kind: DeadlineSelectorExpiry, ID: "p", When: t0.Add(age)},
		{Kind: DeadlineMaxAge, ID: "p", When: t0.Add(age)},
		{Kind: DeadlineMaxAge, ID: "r", When: t0.Add(age)},
	}, got)
	f.advance(age)
	require.Equal(t, []string{
		"JobCancelled job=q1",
		"JobWorkerSelectorsExpired job=p",
		"JobCancelled job=p",
		"JobCancelled job=r",
	}, briefs(f.take()))
	_, ok := f.e.NextDeadline()
	require.False(t, ok)
}

func TestAgeList_AHeapDeadlineSetLaterAtTheSameInstantFiresAfter(t *testing.T) {
	const age = time.Hour
	f := newFixture(t, Config{MaxJobAge: age})
	f.basic()
	f.job(call("a", "q")) // age at t0+1h
	f.advance(10 * time.Minute)
	s := call("s", "q") // scheduled for t0+1h, set after a's age
	s.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: t0.Add(age)}
	f.job(s)
	f.take()
	require.Equal(t, t0.Add(age), f.nextDeadline())
	f.advanceTo(t0.Add(age))
	require.Equal(t, []string{"JobCancelled job=a", "JobWaitingForActivation job=s"}, briefs(f.take()))
	require.Equal(t, t0.Add(10*time.Minute+age), f.nextDeadline(), "s's own age is left")
}

func TestAgeList_OneAdvanceAcrossManyAgesFiresEachInCreationOrder(t *testing.T) {
	const age = time.Hour
	f := newFixture(t, Config{MaxJobAge: age})
	f.basic()
	f.worker(agent("w", "q"))
	var want []string
	for i := range 50 {
		id := "j" + itoa(i)
		f.job(call(id, "q"))
		switch {
		case i == 0:
			// offered to w, then accepted, completed and closed: terminal, not expired
			aid := f.accept("w", id)
			require.NoError(t, f.e.CloseJob(f.now, id, aid, "", "", time.Time{}))
		case i%7 == 3:
			require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
			require.NoError(t, f.e.DeleteJob(f.now, id))
		default:
			want = append(want, "JobCancelled job="+id)
		}
		if i%5 == 0 {
			f.advance(time.Minute) // several jobs share each instant
		}
	}
	f.take()
	f.advance(10 * age)
	var got []string
	for _, ev := range only(f.take(), EvJobCancelled) {
		got = append(got, brief(ev))
		require.Equal(t, f.e.storedJob(ev.JobID).CreatedAt.Add(age), ev.Time, "job %s expires at its own age", ev.JobID)
	}
	// A job offered to w when the one before it expired is named with the worker.
	for i := range got {
		got[i] = stripWorker(got[i])
	}
	require.Equal(t, want, got)
	require.Nil(t, f.e.ages.head)
	require.Nil(t, f.e.ages.tail)
}

func stripWorker(s string) string {
	for i := range len(s) {
		if s[i:] == " worker=w" {
			return s[:i]
		}
	}
	return s
}

func TestAgeList_TerminalAndDeletedJobsLeaveTheList(t *testing.T) {
	f := newFixture(t, Config{MaxJobAge: time.Hour})
	f.basic()
	for _, id := range []string{"a", "b", "c", "d"} {
		f.job(call(id, "q"))
	}
	// Remove the head, a middle one and the tail.
	for _, id := range []string{"a", "c", "d"} {
		require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
	}
	require.NoError(t, f.e.DeleteJob(f.now, "c"))
	require.Same(t, f.e.storedJob("b"), f.e.ages.head)
	require.Same(t, f.e.storedJob("b"), f.e.ages.tail)
	require.Equal(t, []PendingDeadline{{Kind: DeadlineMaxAge, ID: "b", When: t0.Add(time.Hour)}}, f.e.Deadlines())
	require.NoError(t, f.e.checkAges())
	f.take()
	f.advance(time.Hour)
	require.Equal(t, []string{"JobCancelled job=b"}, briefs(f.take()))
}

func TestAgeList_AClockGoingBackIsClampedSoTheListStaysInOrder(t *testing.T) {
	f := newFixture(t, Config{MaxJobAge: time.Hour})
	f.basic()
	f.advance(time.Minute)
	f.job(call("late", "q"))
	back := t0 // earlier than the engine's time
	_, err := f.e.CreateJob(back, call("early", "q"))
	require.NoError(t, err)
	require.Equal(t, t0.Add(time.Minute), f.getJob("early").CreatedAt, "the clock going back is clamped")
	require.NoError(t, f.e.checkAges())
	f.take()
	f.advance(time.Hour)
	require.Equal(t, []string{"JobCancelled job=late", "JobCancelled job=early"}, briefs(f.take()))
}

// A CreatedAt whose wall instant is earlier than the list's tail (a real clock's wall
// time stepped back while its monotonic reading moved on: Engine.at accepts it) goes
// to the heap, and still fires in the heap's order.
func TestAgeList_AnEarlierWallInstantGoesToTheHeap(t *testing.T) {
	f := newFixture(t, Config{MaxJobAge: time.Hour})
	f.basic()
	f.job(call("a", "q"))
	f.advance(time.Minute)
	f.job(call("b", "q"))
	// Simulate the stepped-back wall clock: give a new job an earlier CreatedAt than
	// b's, as Engine.at would have let through.
	j := &jobState{seq: 99}
	j.ID, j.queue, j.channel, j.st = "x", intern("q"), intern(voice), stWaitingForActivation
	j.CreatedAt = t0.Add(30 * time.Second)
	f.e.jobs.put(j)
	f.e.activeIDs.insert(j)
	f.e.startMaxAge(j)
	require.False(t, f.e.ages.has(j), "not listed")
	require.True(t, j.cold().ageDL.Pending(), "in the heap")
	require.NoError(t, f.e.checkAges())
	require.Equal(t, []PendingDeadline{
		{Kind: DeadlineMaxAge, ID: "a", When: t0.Add(time.Hour)},
		{Kind: DeadlineMaxAge, ID: "x", When: t0.Add(30*time.Second + time.Hour)},
		{Kind: DeadlineMaxAge, ID: "b", When: t0.Add(time.Minute + time.Hour)},
	}, f.e.Deadlines())
	f.take()
	f.advance(2 * time.Hour)
	require.Equal(t, []string{"JobCancelled job=a", "JobCancelled job=x", "JobCancelled job=b"}, briefs(f.take()))
	require.False(t, j.cold().ageDL.Pending())
	require.NoError(t, f.e.checkAges())
}
