package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// busyFixture: worker "w" (capacity 1) holds job "j" (assignment returned); job
// "next" waits in q for w's capacity.
func busyFixture(t *testing.T, cfg ...Config) (*fixture, string) {
	f := newFixture(t, cfg...)
	f.basic()
	f.worker(agent("w", "q"))
	aid := f.assign("w", "j", "q")
	f.job(call("next", "q"))
	require.Empty(t, f.offersFor("next"))
	f.advance(10 * time.Second)
	f.take()
	return f, aid
}

func TestCompleteJob_KeepsTheCapacityHeld(t *testing.T) {
	f, aid := busyFixture(t)
	require.NoError(t, f.e.CompleteJob(f.now, "j", aid, "wrap-up"))

	evs := f.take()
	require.Equal(t, []string{"JobCompleted job=j worker=w"}, briefs(evs))
	require.Equal(t, aid, evs[0].AssignmentID)
	require.Equal(t, f.now, evs[0].Time)

	j := f.getJob("j")
	require.Equal(t, JobCompleted, j.Status)
	require.Equal(t, f.now, j.Assignments[aid].CompletedAt)
	require.True(t, j.Assignments[aid].ClosedAt.IsZero())
	require.Equal(t, []Note{{Message: "wrap-up", AddedAt: f.now}}, j.Notes)
	w := f.getWorker("w")
	require.Equal(t, 1.0, w.LoadRatio)
	require.Len(t, w.AssignedJobs, 1)
	require.Empty(t, f.offersFor("next"), "the completed job still holds w's capacity")
}

func TestCloseJob_ReleasesTheCapacityAndSetsTheDispositionCode(t *testing.T) {
	for _, code := range []string{"Resolved", ""} {
		t.Run("code="+code, func(t *testing.T) {
			f, aid := busyFixture(t)
			require.NoError(t, f.e.CompleteJob(f.now, "j", aid, ""))
			f.advance(time.Second)
			f.take()
			require.NoError(t, f.e.CloseJob(f.now, "j", aid, code, "", time.Time{}))

			evs := f.take()
			require.Equal(t, []string{"JobClosed job=j worker=w", "OfferIssued job=next worker=w"}, briefs(evs))
			require.Equal(t, code, evs[0].DispositionCode)
			require.Equal(t, aid, evs[0].AssignmentID)
			j := f.getJob("j")
			require.Equal(t, JobClosed, j.Status)
			require.Equal(t, code, j.DispositionCode, "no code given: DispositionCode stays empty")
			require.Equal(t, f.now, j.Assignments[aid].ClosedAt)
			require.Empty(t, f.getWorker("w").AssignedJobs)
		})
	}
}

func TestCloseJob_ClosingAnAssignedJobCompletesItFirst(t *testing.T) {
	f, aid := busyFixture(t)
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "Done", "", time.Time{}))
	evs := f.take()
	require.Equal(t, []string{"JobCompleted job=j worker=w", "JobClosed job=j worker=w", "OfferIssued job=next worker=w"}, briefs(evs))
	require.Equal(t, evs[0].Time, evs[1].Time)
	a := f.getJob("j").Assignments[aid]
	require.Equal(t, f.now, a.CompletedAt)
	require.Equal(t, f.now, a.ClosedAt)
}

func TestCloseJob_CloseAtLaterReleasesTheCapacityAndAnnouncesJobClosedThen(t *testing.T) {
	f, aid := busyFixture(t)
	require.NoError(t, f.e.CompleteJob(f.now, "j", aid, ""))
	f.take()
	closeAt := f.now.Add(5 * time.Minute)
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "Later", "", closeAt))
	require.Empty(t, f.take())
	require.Equal(t, JobCompleted, f.getJob("j").Status)
	next, ok := f.e.NextDeadline()
	require.True(t, ok)
	require.Equal(t, closeAt, next)

	f.advanceTo(closeAt.Add(-time.Nanosecond))
	require.Empty(t, f.take())
	require.Equal(t, 1.0, f.getWorker("w").LoadRatio, "capacity held until CloseAt")
	require.Empty(t, f.offersFor("next"))

	// The clock jumps past CloseAt: the close, and the offer it makes possible, take
	// effect at CloseAt (Advance replays each instant).
	f.advanceTo(closeAt.Add(10 * time.Second))
	evs := f.take()
	require.Equal(t, []string{"JobClosed job=j worker=w", "OfferIssued job=next worker=w"}, briefs(evs))
	require.Equal(t, closeAt, evs[0].Time)
	require.Equal(t, "Later", evs[0].DispositionCode)
	require.Equal(t, closeAt, evs[1].Time)
	j := f.getJob("j")
	require.Equal(t, JobClosed, j.Status)
	require.Equal(t, "Later", j.DispositionCode)
	require.Equal(t, closeAt, j.Assignments[aid].ClosedAt)
}

func TestCloseJob_AssignedWithCloseAtCompletesNowAndClosesLater(t *testing.T) {
	f, aid := busyFixture(t)
	closeAt := f.now.Add(time.Minute)
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", closeAt))
	require.Equal(t, []string{"JobCompleted job=j worker=w"}, briefs(f.take()))

	before := f.digest()
	requireCode(t, f.e.CloseJob(f.now, "j", aid, "", "", time.Time{}), CodeConflict)
	f.requireUnchanged(before)

	f.advanceTo(closeAt)
	require.Equal(t, []string{"JobClosed job=j worker=w", "OfferIssued job=next worker=w"}, briefs(f.take()))
}

func TestCloseJob_CloseAtNotAfterNowClosesAtOnce(t *testing.T) {
	f, aid := busyFixture(t)
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", f.now))
	require.Equal(t, []EventType{EvJobCompleted, EvJobClosed, EvOfferIssued}, typesOf(f.take()))
}

func TestCancelJob_FromEveryNonTerminalStatus(t *testing.T) {
	statuses := []struct {
		name   string
		status JobStatus
		setup  func(f *fixture) // leaves job "j" in status; "w" idle or holding it
		held   bool
	}{
		{"queued with an offer", JobQueued, func(f *fixture) { f.job(call("j", "q")) }, false},
		{"queued without an offer", JobQueued, func(f *fixture) {
			j := call("j", "q2") // w does not listen on q2
			f.job(j)
		}, false},
		{"assigned", JobAssigned, func(f *fixture) { f.assign("w", "j", "q") }, true},
		{"completed", JobCompleted, func(f *fixture) {
			aid := f.assign("w", "j", "q")
			require.NoError(f.t, f.e.CompleteJob(f.now, "j", aid, ""))
		}, true},
		{"completed, closing later", JobCompleted, func(f *fixture) {
			aid := f.assign("w", "j", "q")
			require.NoError(f.t, f.e.CloseJob(f.now, "j", aid, "", "", f.now.Add(time.Hour)))
		}, true},
		{"waiting for activation", JobWaitingForActivation, func(f *fixture) {
			j := call("j", "q")
			j.MatchingMode = MatchingMode{Kind: Suspend}
			f.job(j)
		}, false},
		{"scheduled", JobScheduled, func(f *fixture) {
			j := call("j", "q")
			j.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: f.now.Add(time.Hour)}
			f.job(j)
		}, false},
	}
	for _, st := range statuses {
		for _, code := range []struct{ given, want string }{{"", "Cancelled"}, {"Spam", "Spam"}} {
			t.Run(st.name+"/code="+code.given, func(t *testing.T) {
				f := newFixture(t)
				f.basic()
				f.worker(agent("w", "q"))
				st.setup(f)
				require.Equal(t, st.status, f.getJob("j").Status)
				f.job(call("next", "q"))
				f.advance(time.Second)
				f.take()

				require.NoError(t, f.e.CancelJob(f.now, "j", code.given, "why"))
				evs := f.take()
				cancelled := only(evs, EvJobCancelled)
				require.Len(t, cancelled, 1)
				require.Equal(t, code.want, cancelled[0].DispositionCode)
				require.Equal(t, "why", cancelled[0].Extras().Note)
				require.Equal(t, JobCancelled, cancelled[0].JobStatus)
				j := f.getJob("j")
				require.Equal(t, JobCancelled, j.Status)
				require.Equal(t, code.want, j.DispositionCode)
				require.Empty(t, f.offersFor("j"))
				w := f.getWorker("w")
				require.Empty(t, w.AssignedJobs)
				require.Equal(t, []string{"w"}, f.offeredTo("next"), "w's capacity is free again")
				_, pending := f.e.NextDeadline()
				require.True(t, pending, "next's offer expiry")

				// No deadline of the cancelled job fires later.
				f.advance(2 * time.Hour)
				for _, ev := range f.take() {
					require.NotEqual(t, "j", ev.JobID, "%s after cancel", ev.Type)
				}
			})
		}
	}
}

func TestCancelJob_ATerminalJobIsAConflict(t *testing.T) {
	f, aid := busyFixture(t)
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", time.Time{}))
	require.NoError(t, f.e.CancelJob(f.now, "next", "", ""))
	f.take()
	before := f.digest()
	requireCode(t, f.e.CancelJob(f.now, "j", "", ""), CodeConflict)
	requireCode(t, f.e.CancelJob(f.now, "next", "", ""), CodeConflict)
	f.requireUnchanged(before)
}

func TestUnassignJob_RequeuesKeepingEnqueuedAtAndTheSameWorkerMayGetIt(t *testing.T) {
	f, aid := busyFixture(t)
	enqueued := f.getJob("j").EnqueuedAt
	require.Equal(t, t0, enqueued)
	require.NoError(t, f.e.CancelJob(f.now, "next", "", ""))
	f.take()

	n, err := f.e.UnassignJob(f.now, "j", aid, false)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	evs := f.take()
	require.Equal(t, []string{"JobUnassigned job=j worker=w", "JobQueued job=j", "OfferIssued job=j worker=w"}, briefs(evs))
	require.Equal(t, aid, evs[0].AssignmentID)
	require.Equal(t, 1, evs[0].Extras().UnassignmentCount)

	j := f.getJob("j")
	require.Equal(t, JobQueued, j.Status)
	require.Equal(t, enqueued, j.EnqueuedAt)
	require.Equal(t, 1, j.UnassignmentCount)
	require.Contains(t, j.Assignments, aid, "the history keeps the old assignment")
	require.Empty(t, f.getWorker("w").AssignedJobs)
}

func TestUnassignJob_KeepsItsPlaceInQueueOrder(t *testing.T) {
	f, aid := busyFixture(t) // "j" enqueued at t0, "next" at t0 too but created later
	f.advance(time.Second)
	_, err := f.e.UnassignJob(f.now, "j", aid, false)
	require.NoError(t, err)
	require.Equal(t, []string{"w"}, f.offeredTo("j"), "j is ahead of next")
	require.Empty(t, f.offersFor("next"))
}

func TestUnassignJob_SuspendWaitsForActivationUntilQueueAndMatch(t *testing.T) {
	f, aid := busyFixture(t)
	require.NoError(t, f.e.CancelJob(f.now, "next", "", ""))
	f.take()
	_, err := f.e.UnassignJob(f.now, "j", aid, true)
	require.NoError(t, err)
	require.Equal(t, []string{"JobUnassigned job=j worker=w", "JobWaitingForActivation job=j"}, briefs(f.take()))
	j := f.getJob("j")
	require.Equal(t, JobWaitingForActivation, j.Status)
	require.Empty(t, f.offersFor("j"))
	require.Zero(t, f.getWorker("w").LoadRatio)

	f.advance(time.Minute)
	require.Empty(t, f.offersFor("j"))
	j.MatchingMode = MatchingMode{Kind: QueueAndMatch}
	_, err = f.e.UpdateJob(f.now, j)
	require.NoError(t, err)
	require.Equal(t, []string{"JobQueued job=j", "OfferIssued job=j worker=w"}, briefs(f.take()))
	got := f.getJob("j")
	require.Equal(t, JobQueued, got.Status)
	require.Equal(t, t0, got.EnqueuedAt, "EnqueuedAt kept (ours)")
}

func TestUnassignJob_AtMostThreeTimes(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	aid := f.assign("w", "j", "q")
	for i := 1; i <= MaxUnassignments; i++ {
		n, err := f.e.UnassignJob(f.now, "j", aid, false)
		require.NoError(t, err)
		require.Equal(t, i, n)
		aid = f.accept("w", "j")
	}
	f.take()
	before := f.digest()
	_, err := f.e.UnassignJob(f.now, "j", aid, false)
	requireCode(t, err, CodeConflict)
	f.requireUnchanged(before)
	require.Equal(t, JobAssigned, f.getJob("j").Status)
}

func TestJobCommands_WrongStateOrReferences(t *testing.T) {
	// The fixture: "w" (capacity 5) holds "assigned" (aid A), "completed" (aid C),
	// "closed" (aid X), "cancelled" (was assigned, aid K), "reassigned" (old aid O,
	// current aid R), and "queued" holds an offer.
	type ids struct{ A, C, X, K, O, R string }
	build := func(t *testing.T) (*fixture, ids) {
		f := newFixture(t)
		f.basic()
		w := agent("w", "q")
		w.Capacity = 5
		f.worker(w)
		var a ids
		a.A = f.assign("w", "assigned", "q")
		a.C = f.assign("w", "completed", "q")
		require.NoError(t, f.e.CompleteJob(f.now, "completed", a.C, ""))
		a.X = f.assign("w", "closed", "q")
		require.NoError(t, f.e.CloseJob(f.now, "closed", a.X, "", "", time.Time{}))
		a.K = f.assign("w", "cancelled", "q")
		require.NoError(t, f.e.CancelJob(f.now, "cancelled", "", ""))
		a.O = f.assign("w", "reassigned", "q")
		_, err := f.e.UnassignJob(f.now, "reassigned", a.O, false)
		require.NoError(t, err)
		a.R = f.accept("w", "reassigned")
		f.job(call("queued", "q"))
		require.Equal(t, []string{"w"}, f.offeredTo("queued"))
		f.take()
		return f, a
	}
	complete := func(job string, aid func(ids) string) func(*fixture, ids) error {
		return func(f *fixture, a ids) error { return f.e.CompleteJob(f.now, job, aid(a), "") }
	}
	closeJob := func(job string, aid func(ids) string) func(*fixture, ids) error {
		return func(f *fixture, a ids) error { return f.e.CloseJob(f.now, job, aid(a), "", "", time.Time{}) }
	}
	unassign := func(job string, aid func(ids) string) func(*fixture, ids) error {
		return func(f *fixture, a ids) error { _, err := f.e.UnassignJob(f.now, job, aid(a), false); return err }
	}
	A := func(a ids) string { return a.A }
	C := func(a ids) string { return a.C }
	X := func(a ids) string { return a.X }
	K := func(a ids) string { return a.K }
	O := func(a ids) string { return a.O }
	none := func(ids) string { return "no-such-assignment" }

	cases := []struct {
		name string
		call func(*fixture, ids) error
		code Code
	}{
		{"complete a completed job", complete("completed", C), CodeConflict},
		{"complete a closed job", complete("closed", X), CodeConflict},
		{"complete a cancelled job", complete("cancelled", K), CodeConflict},
		{"complete with an old assignment", complete("reassigned", O), CodeConflict},
		{"complete with another job's assignment", complete("assigned", C), CodeNotFound},
		{"complete with an unknown assignment", complete("assigned", none), CodeNotFound},
		{"complete a queued job", complete("queued", none), CodeNotFound},
		{"complete an unknown job", complete("ghost", A), CodeNotFound},
		{"close a closed job", closeJob("closed", X), CodeConflict},
		{"close a cancelled job", closeJob("cancelled", K), CodeConflict},
		{"close with an old assignment", closeJob("reassigned", O), CodeConflict},
		{"close with an unknown assignment", closeJob("completed", none), CodeNotFound},
		{"close an unknown job", closeJob("ghost", A), CodeNotFound},
		{"unassign a completed job", unassign("completed", C), CodeConflict},
		{"unassign a closed job", unassign("closed", X), CodeConflict},
		{"unassign with an old assignment", unassign("reassigned", O), CodeConflict},
		{"unassign with an unknown assignment", unassign("assigned", none), CodeNotFound},
		{"unassign an unknown job", unassign("ghost", A), CodeNotFound},
		{"cancel an unknown job", func(f *fixture, _ ids) error { return f.e.CancelJob(f.now, "ghost", "", "") }, CodeNotFound},
		{"delete an unknown job", func(f *fixture, _ ids) error { return f.e.DeleteJob(f.now, "ghost") }, CodeNotFound},
		{"delete a queued job", func(f *fixture, _ ids) error { return f.e.DeleteJob(f.now, "queued") }, CodeConflict},
		{"delete an assigned job", func(f *fixture, _ ids) error { return f.e.DeleteJob(f.now, "assigned") }, CodeConflict},
		{"delete a completed job", func(f *fixture, _ ids) error { return f.e.DeleteJob(f.now, "completed") }, CodeConflict},
		{"get an unknown job", func(f *fixture, _ ids) error { _, err := f.e.GetJob("ghost"); return err }, CodeNotFound},
		{"update an unknown job", func(f *fixture, _ ids) error { _, err := f.e.UpdateJob(f.now, call("ghost", "q")); return err }, CodeNotFound},
		{"update a closed job", func(f *fixture, _ ids) error { _, err := f.e.UpdateJob(f.now, f.getJob("closed")); return err }, CodeConflict},
		{"move an assigned job to another queue", func(f *fixture, _ ids) error {
			j := f.getJob("assigned")
			j.QueueID = "q2"
			_, err := f.e.UpdateJob(f.now, j)
			return err
		}, CodeConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, a := build(t)
			before := f.digest()
			requireCode(t, tc.call(f, a), tc.code)
			f.requireUnchanged(before)
		})
	}
}

func TestDeleteJob_OnlyATerminalJobAndJobDeleted(t *testing.T) {
	f, aid := busyFixture(t)
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", time.Time{}))
	require.NoError(t, f.e.CancelJob(f.now, "next", "", ""))
	f.take()
	for _, id := range []string{"j", "next"} {
		require.NoError(t, f.e.DeleteJob(f.now, id))
		evs := f.take()
		require.Equal(t, []string{"JobDeleted job=" + id}, briefs(evs))
		require.Equal(t, "q", evs[0].QueueID)
		_, err := f.e.GetJob(id)
		requireCode(t, err, CodeNotFound)
	}
	require.Empty(t, f.e.ListJobs(JobFilter{}))
	// The ID is free again.
	f.job(call("j", "q"))
}

func TestListJobs_Filters(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	f.assign("w", "a", "q")
	f.job(call("b", "q"))
	f.job(Job{ID: "c", QueueID: "q2", ChannelID: chat})
	require.NoError(t, f.e.CancelJob(f.now, "c", "", ""))
	s := call("d", "q")
	s.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: t0.Add(time.Hour)}
	f.job(s)

	ids := func(js []Job) []string {
		var out []string
		for _, j := range js {
			out = append(out, j.ID)
		}
		return out
	}
	require.Equal(t, []string{"a", "b", "c", "d"}, ids(f.e.ListJobs(JobFilter{})))
	require.Equal(t, []string{"b"}, ids(f.e.ListJobs(JobFilter{Status: JobQueued})))
	require.Equal(t, []string{"a", "b", "d"}, ids(f.e.ListJobs(JobFilter{Active: true})))
	require.Equal(t, []string{"c"}, ids(f.e.ListJobs(JobFilter{QueueID: "q2"})))
	require.Equal(t, []string{"c"}, ids(f.e.ListJobs(JobFilter{ChannelID: chat})))
	require.Equal(t, []string{"d"}, ids(f.e.ListJobs(JobFilter{ScheduledAfter: t0})))
	require.Empty(t, ids(f.e.ListJobs(JobFilter{ScheduledBefore: t0.Add(time.Hour)})))
	require.Equal(t, []string{"b", "c"}, ids(f.e.ListJobs(JobFilter{After: "a", Limit: 2})))
}
