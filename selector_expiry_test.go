package jobrouter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// acceptNext accepts the next offer issued and returns the assignment.
func acceptNext(f *fixture) AcceptJobOfferResult {
	f.t.Helper()
	o := next[OfferIssued](f)
	res, err := f.r.AcceptJobOffer(ctx, o.WorkerID, o.OfferID)
	require.NoError(f.t, err)
	return res
}

func TestPreferredWorkerSelectorExpiresAndAnyWorkerMayTakeTheJob(t *testing.T) {
	f := newFixture(t, nil)
	f.worker("w7", 1)
	f.job("busy")
	require.Equal(t, "w7", acceptNext(f).WorkerID) // w7 has no free capacity now
	f.worker("w1", 1)

	f.clk.Add(time.Second)
	created := f.clk.Now()
	want := WorkerSelector{Key: "Id", LabelOperator: LabelOperatorEqual, Value: "w7",
		Expedite: true, ExpiresAfter: 45 * time.Second}
	j, err := f.r.CreateJob(ctx, Job{ID: "j", ChannelID: "voice", QueueID: "q",
		RequestedWorkerSelectors: []WorkerSelector{want}})
	require.NoError(t, err)
	want.Status, want.ExpiresAt = SelectorStatusActive, created.Add(45*time.Second)
	require.Equal(t, []WorkerSelector{want}, j.RequestedWorkerSelectors)

	f.clk.Add(45*time.Second - time.Nanosecond)
	w1, err := f.r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Empty(t, w1.Offers, "before 45 s only w7 may take the job")
	j, err = f.r.GetJob(ctx, "j")
	require.NoError(t, err)
	require.Equal(t, SelectorStatusActive, j.RequestedWorkerSelectors[0].Status)

	f.clk.Add(time.Nanosecond)
	w1, err = f.r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Len(t, w1.Offers, 1, "at exactly 45 s the selector no longer constrains matching")
	require.Equal(t, "j", w1.Offers[0].JobID)
	require.Equal(t, created.Add(45*time.Second), w1.Offers[0].OfferedAt)

	ev := next[JobWorkerSelectorsExpired](f)
	require.Equal(t, "j", ev.JobID)
	require.Equal(t, "q", ev.QueueID)
	require.Equal(t, created.Add(45*time.Second), ev.Time())
	want.Status = SelectorStatusExpired
	require.Equal(t, []WorkerSelector{want}, ev.ExpiredRequestedSelectors)
	require.Empty(t, ev.ExpiredAttachedSelectors)
	o := next[OfferIssued](f)
	require.Equal(t, "w1", o.WorkerID)
	require.Equal(t, "j", o.JobID)
	require.Greater(t, o.Seq(), ev.Seq(), "the expiry comes before the offer it allows")

	j, err = f.r.GetJob(ctx, "j")
	require.NoError(t, err)
	require.Equal(t, []WorkerSelector{want}, j.RequestedWorkerSelectors)
}

func TestMaxJobAgeCancelsWithDispositionExpired(t *testing.T) {
	cases := []struct {
		name string
		opts *Options
		age  time.Duration
	}{
		{"Options.MaxJobAge", &Options{MaxJobAge: time.Hour}, time.Hour},
		{"default 90 days", nil, 90 * 24 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			created := f.clk.Now()
			f.job("j")
			d, ok := f.r.NextDeadline()
			require.True(t, ok)
			require.Equal(t, created.Add(tc.age), d)

			f.clk.Add(tc.age - time.Nanosecond)
			j, err := f.r.GetJob(ctx, "j")
			require.NoError(t, err)
			require.Equal(t, JobStatusQueued, j.Status)

			f.clk.Add(time.Nanosecond)
			j, err = f.r.GetJob(ctx, "j")
			require.NoError(t, err)
			require.Equal(t, JobStatusCancelled, j.Status)
			require.Equal(t, "Expired", j.DispositionCode)
			ev := next[JobCancelled](f)
			require.Equal(t, "j", ev.JobID)
			require.Equal(t, "Expired", ev.DispositionCode)
			require.Equal(t, created.Add(tc.age), ev.Time())
		})
	}
	t.Run("negative disables it", func(t *testing.T) {
		f := newFixture(t, &Options{MaxJobAge: -1})
		f.job("j")
		_, ok := f.r.NextDeadline()
		require.False(t, ok)
	})
}

func TestMatchingModesThroughTheRouter(t *testing.T) {
	f := newFixture(t, nil)
	f.worker("w1", 1)
	at := start.Add(10 * time.Minute)

	j, err := f.r.CreateJob(ctx, Job{ID: "sched", ChannelID: "voice", QueueID: "q",
		MatchingMode: ScheduleAndSuspendMode{ScheduleAt: at}})
	require.NoError(t, err)
	require.Equal(t, JobStatusScheduled, j.Status)
	require.Equal(t, at, j.ScheduledAt)
	susp, err := f.r.CreateJob(ctx, Job{ID: "susp", ChannelID: "voice", QueueID: "q", MatchingMode: SuspendMode{}})
	require.NoError(t, err)
	require.Equal(t, JobStatusWaitingForActivation, susp.Status)
	wa := next[JobWaitingForActivation](f)
	require.Equal(t, "susp", wa.JobID)
	require.Equal(t, start, wa.Time())

	f.clk.Add(10*time.Minute - time.Nanosecond)
	j, err = f.r.GetJob(ctx, "sched")
	require.NoError(t, err)
	require.Equal(t, JobStatusScheduled, j.Status)
	f.clk.Add(time.Nanosecond)
	j, err = f.r.GetJob(ctx, "sched")
	require.NoError(t, err)
	require.Equal(t, JobStatusWaitingForActivation, j.Status)
	wa = next[JobWaitingForActivation](f)
	require.Equal(t, "sched", wa.JobID)
	require.Equal(t, at, wa.Time())
	require.Equal(t, at, wa.ScheduledAt)
	w1, err := f.r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Empty(t, w1.Offers, "waiting for activation is not matched")

	page, err := f.r.ListJobs(ctx, &ListJobsOptions{ScheduledBefore: at.Add(time.Nanosecond)})
	require.NoError(t, err)
	require.Len(t, page.Jobs, 1)
	require.Equal(t, "sched", page.Jobs[0].ID)
	page, err = f.r.ListJobs(ctx, &ListJobsOptions{ScheduledAfter: at})
	require.NoError(t, err)
	require.Empty(t, page.Jobs, "after is strict")

	// Activation.
	j.MatchingMode = QueueAndMatchMode{}
	j, err = f.r.UpdateJob(ctx, j)
	require.NoError(t, err)
	require.Equal(t, JobStatusQueued, j.Status)
	require.Equal(t, at, j.ScheduledAt, "kept after activation")
	q := next[JobQueued](f)
	require.Equal(t, "sched", q.JobID)
	res := acceptNext(f)
	require.Equal(t, "sched", res.JobID)

	// Unassigned with SuspendMatching, it waits for activation again.
	un, err := f.r.UnassignJob(ctx, "sched", res.AssignmentID, &UnassignJobOptions{SuspendMatching: true})
	require.NoError(t, err)
	require.Equal(t, 1, un.UnassignmentCount)
	j, err = f.r.GetJob(ctx, "sched")
	require.NoError(t, err)
	require.Equal(t, JobStatusWaitingForActivation, j.Status)
	require.Equal(t, SuspendMode{}, j.MatchingMode)
	wa = next[JobWaitingForActivation](f)
	require.Equal(t, "sched", wa.JobID)
	w1, err = f.r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Empty(t, w1.Offers)
	require.Empty(t, w1.AssignedJobs)
}
