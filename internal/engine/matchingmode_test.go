package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// suspended is call(id, queue) in SuspendMode.
func suspended(id, queue string) Job {
	j := call(id, queue)
	j.MatchingMode = MatchingMode{Kind: Suspend}
	return j
}

// scheduledAt is call(id, queue) in ScheduleAndSuspendMode at at.
func scheduledAt(id, queue string, at time.Time) Job {
	j := call(id, queue)
	j.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: at}
	return j
}

// setMode updates the job's matching mode and requires success.
func (f *fixture) setMode(id string, m MatchingMode) Job {
	f.t.Helper()
	j := f.getJob(id)
	j.MatchingMode = m
	got, err := f.e.UpdateJob(f.now, j)
	require.NoError(f.t, err)
	return got
}

// matchingModeFixture has the basic queues and a free worker w on q; events forgotten.
func matchingModeFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, Config{MaxJobAge: -1})
	f.basic()
	f.worker(agent("w", "q"))
	f.take()
	return f
}

func TestMatchingMode_SuspendAtCreationWaitsForActivation(t *testing.T) {
	f := matchingModeFixture(t)
	got := f.job(suspended("j", "q"))
	require.Equal(t, JobWaitingForActivation, got.Status)
	require.Equal(t, time.Time{}, got.EnqueuedAt, "never queued")
	require.Equal(t, time.Time{}, got.ScheduledAt)
	evs := f.take()
	require.Equal(t, []string{"JobReceived job=j", "JobWaitingForActivation job=j"}, briefs(evs))
	require.Equal(t, JobWaitingForActivation, evs[1].JobStatus)
	require.Equal(t, t0, evs[1].Time)
	require.Empty(t, f.offersFor("j"), "a free worker is not offered a suspended job")
	require.Empty(t, f.e.queuedJobs())
	_, ok := f.e.NextDeadline()
	require.False(t, ok)

	f.advance(time.Hour)
	require.Empty(t, f.take())
	require.Equal(t, JobWaitingForActivation, f.getJob("j").Status)
}

func TestMatchingMode_ScheduleAndSuspendActivatesAtExactlyScheduleAt(t *testing.T) {
	f := matchingModeFixture(t)
	at := t0.Add(90 * time.Minute)
	got := f.job(scheduledAt("j", "q", at))
	require.Equal(t, JobScheduled, got.Status)
	require.Equal(t, at, got.ScheduledAt)
	require.Equal(t, []string{"JobReceived job=j"}, briefs(f.take()))
	require.Equal(t, at, f.nextDeadline(), "the shell's timer waits for ScheduleAt")
	require.Empty(t, f.offersFor("j"))

	f.advanceTo(at.Add(-time.Nanosecond))
	require.Empty(t, f.take())
	require.Equal(t, JobScheduled, f.getJob("j").Status)

	f.advanceTo(at)
	evs := f.take()
	require.Equal(t, []string{"JobWaitingForActivation job=j"}, briefs(evs))
	require.Equal(t, at, evs[0].Time)
	require.Equal(t, at, evs[0].Extras().ScheduledAt)
	require.Equal(t, JobWaitingForActivation, evs[0].JobStatus)
	got = f.getJob("j")
	require.Equal(t, JobWaitingForActivation, got.Status)
	require.Equal(t, at, got.ScheduledAt)
	require.Empty(t, f.offersFor("j"), "waiting for activation is not queued")
	_, ok := f.e.NextDeadline()
	require.False(t, ok)

	// Activation: UpdateJob back to QueueAndMatch queues and offers it.
	f.advance(time.Minute)
	got = f.setMode("j", MatchingMode{})
	require.Equal(t, JobQueued, got.Status)
	require.Equal(t, at, got.ScheduledAt, "ScheduledAt is kept after activation")
	require.Equal(t, f.now, got.EnqueuedAt)
	require.Equal(t, []string{"JobQueued job=j", "OfferIssued job=j worker=w"}, briefs(f.take()))
	require.Equal(t, []string{"w"}, f.offeredTo("j"))
	aid := f.accept("w", "j")
	require.NoError(t, f.e.CloseJob(f.now, "j", aid, "", "", time.Time{}))
	require.Equal(t, at, f.getJob("j").ScheduledAt, "and after the job ends")
}

func TestMatchingMode_ScheduleAtNotInTheFutureWaitsForActivationAtOnce(t *testing.T) {
	for name, at := range map[string]time.Time{"past": t0.Add(-time.Hour), "now": t0} {
		t.Run(name, func(t *testing.T) {
			f := matchingModeFixture(t)
			got := f.job(scheduledAt("j", "q", at))
			require.Equal(t, JobWaitingForActivation, got.Status)
			require.Equal(t, at, got.ScheduledAt)
			evs := f.take()
			require.Equal(t, []string{"JobReceived job=j", "JobWaitingForActivation job=j"}, briefs(evs))
			require.Equal(t, t0, evs[1].Time)
			require.Empty(t, f.offersFor("j"))
			_, ok := f.e.NextDeadline()
			require.False(t, ok, "no schedule deadline is left behind")
		})
	}
}

func TestMatchingMode_ScheduleAndSuspendNeedsAScheduleAt(t *testing.T) {
	f := matchingModeFixture(t)
	before := f.digest()
	_, err := f.e.CreateJob(f.now, scheduledAt("j", "q", time.Time{}))
	requireCode(t, err, CodeInvalid)
	f.requireUnchanged(before)
}

func TestMatchingMode_QueueAndMatchOnAScheduledJobQueuesItAtOnce(t *testing.T) {
	f := matchingModeFixture(t)
	at := t0.Add(time.Hour)
	f.job(scheduledAt("j", "q", at))
	f.advance(time.Minute)
	f.take()
	got := f.setMode("j", MatchingMode{})
	require.Equal(t, JobQueued, got.Status)
	require.Equal(t, at, got.ScheduledAt)
	require.Equal(t, []string{"JobQueued job=j", "OfferIssued job=j worker=w"}, briefs(f.take()))
	_, pending := f.e.deadlines.Get(scheduleKey("j"))
	require.False(t, pending, "the schedule is cancelled")
	f.advanceTo(at.Add(time.Minute))
	require.Empty(t, only(f.take(), EvJobWaitingForActivation))
}

func TestMatchingMode_RescheduleMovesTheActivation(t *testing.T) {
	f := matchingModeFixture(t)
	f.job(scheduledAt("j", "q", t0.Add(time.Hour)))
	later := t0.Add(2 * time.Hour)
	got := f.setMode("j", MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: later})
	require.Equal(t, JobScheduled, got.Status)
	require.Equal(t, later, got.ScheduledAt)
	f.take()
	f.advanceTo(later.Add(-time.Nanosecond))
	require.Empty(t, f.take())
	f.advanceTo(later)
	evs := f.take()
	require.Equal(t, []string{"JobWaitingForActivation job=j"}, briefs(evs))
	require.Equal(t, later, evs[0].Time)
}

func TestMatchingMode_SuspendOrScheduleAQueuedJobRevokesItsOffers(t *testing.T) {
	t.Run("suspend, then activate keeping EnqueuedAt", func(t *testing.T) {
		f := matchingModeFixture(t)
		f.job(call("j", "q"))
		f.take()
		f.advance(time.Minute - time.Second) // before the offer expires
		got := f.setMode("j", MatchingMode{Kind: Suspend})
		require.Equal(t, JobWaitingForActivation, got.Status)
		require.Equal(t, []string{"OfferRevoked job=j worker=w", "JobWaitingForActivation job=j"}, briefs(f.take()))
		require.Empty(t, f.getWorker("w").Offers)

		f.advance(time.Hour)
		got = f.setMode("j", MatchingMode{})
		require.Equal(t, JobQueued, got.Status)
		require.Equal(t, t0, got.EnqueuedAt, "it was queued before: it keeps its place (ours)")
		require.Equal(t, []string{"JobQueued job=j", "OfferIssued job=j worker=w"}, briefs(f.take()))
	})
	t.Run("schedule", func(t *testing.T) {
		f := matchingModeFixture(t)
		f.job(call("j", "q"))
		f.take()
		at := t0.Add(time.Hour)
		got := f.setMode("j", MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: at})
		require.Equal(t, JobScheduled, got.Status)
		require.Equal(t, at, got.ScheduledAt)
		require.Equal(t, []string{"OfferRevoked job=j worker=w"}, briefs(f.take()))
		require.Empty(t, f.e.queuedJobs())
		f.advanceTo(at)
		require.Equal(t, []string{"JobWaitingForActivation job=j"}, briefs(f.take()))
	})
}

func TestMatchingMode_UnassignWithSuspendMatchingWaitsForActivation(t *testing.T) {
	f := matchingModeFixture(t)
	aid := f.assign("w", "j", "q")
	f.advance(time.Minute)
	f.take()
	n, err := f.e.UnassignJob(f.now, "j", aid, true)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"JobUnassigned job=j worker=w", "JobWaitingForActivation job=j"}, briefs(f.take()))
	got := f.getJob("j")
	require.Equal(t, JobWaitingForActivation, got.Status)
	require.Equal(t, MatchingMode{Kind: Suspend}, got.MatchingMode)
	require.Empty(t, f.getWorker("w").AssignedJobs, "the capacity is released")
	require.Empty(t, f.offersFor("j"), "the free worker is not offered the suspended job")

	f.advance(time.Minute)
	got = f.setMode("j", MatchingMode{})
	require.Equal(t, JobQueued, got.Status)
	require.Equal(t, t0, got.EnqueuedAt)
	require.Equal(t, []string{"JobQueued job=j", "OfferIssued job=j worker=w"}, briefs(f.take()))
}

func TestMatchingMode_UnassignWithoutSuspendQueuesAgain(t *testing.T) {
	f := matchingModeFixture(t)
	aid := f.assign("w", "j", "q")
	f.take()
	_, err := f.e.UnassignJob(f.now, "j", aid, false)
	require.NoError(t, err)
	require.Equal(t, []string{"JobUnassigned job=j worker=w", "JobQueued job=j", "OfferIssued job=j worker=w"}, briefs(f.take()))
}

func TestMatchingMode_AHeldJobCannotChangeMode(t *testing.T) {
	f := matchingModeFixture(t)
	f.assign("w", "j", "q")
	before := f.digest()
	f.take()
	j := f.getJob("j")
	j.MatchingMode = MatchingMode{Kind: Suspend}
	_, err := f.e.UpdateJob(f.now, j)
	requireCode(t, err, CodeConflict)
	f.requireUnchanged(before)
}

func TestMatchingMode_CancellingAScheduledJobForgetsTheSchedule(t *testing.T) {
	f := matchingModeFixture(t)
	f.job(scheduledAt("j", "q", t0.Add(time.Hour)))
	require.NoError(t, f.e.CancelJob(f.now, "j", "", ""))
	_, ok := f.e.NextDeadline()
	require.False(t, ok)
	f.take()
	f.advance(2 * time.Hour)
	require.Empty(t, f.take())
	require.Equal(t, JobCancelled, f.getJob("j").Status)
}

func TestMatchingMode_ListJobsScheduledBeforeAndAfter(t *testing.T) {
	f := matchingModeFixture(t)
	f.job(scheduledAt("a", "q", t0.Add(time.Hour)))
	f.job(scheduledAt("b", "q", t0.Add(2*time.Hour)))
	f.job(scheduledAt("c", "q", t0.Add(3*time.Hour)))
	f.job(suspended("none", "q"))
	f.advanceTo(t0.Add(90 * time.Minute)) // a activated: its ScheduledAt still counts
	require.Equal(t, JobWaitingForActivation, f.getJob("a").Status)

	ids := func(fl JobFilter) []string {
		var out []string
		for _, j := range f.e.ListJobs(fl) {
			out = append(out, j.ID)
		}
		return out
	}
	require.Equal(t, []string{"a", "b", "c", "none"}, ids(JobFilter{}))
	require.Equal(t, []string{"a"}, ids(JobFilter{ScheduledBefore: t0.Add(2 * time.Hour)}), "before is strict")
	require.Equal(t, []string{"a", "b"}, ids(JobFilter{ScheduledBefore: t0.Add(2*time.Hour + 1)}))
	require.Equal(t, []string{"c"}, ids(JobFilter{ScheduledAfter: t0.Add(2 * time.Hour)}), "after is strict")
	require.Equal(t, []string{"b"}, ids(JobFilter{ScheduledAfter: t0.Add(time.Hour), ScheduledBefore: t0.Add(3 * time.Hour)}))
	require.Equal(t, []string{"a"}, ids(JobFilter{ScheduledBefore: t0.Add(3 * time.Hour), Status: JobWaitingForActivation}))
	require.Empty(t, ids(JobFilter{ScheduledAfter: t0.Add(3 * time.Hour)}))
}
