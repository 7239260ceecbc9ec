package jobrouter

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// acceptOnlyOffer accepts workerID's one open offer and returns the job and assignment.
func (f *fixture) acceptOnlyOffer(workerID string) AcceptJobOfferResult {
	f.t.Helper()
	w, err := f.r.GetWorker(ctx, workerID)
	require.NoError(f.t, err)
	require.Len(f.t, w.Offers, 1)
	res, err := f.r.AcceptJobOffer(ctx, workerID, w.Offers[0].ID)
	require.NoError(f.t, err)
	return res
}

// A worker of capacity 1 takes one job a minute from a backlog for ten minutes: the
// fifth in line is estimated five minutes away, through the public API and a mock
// clock.
func TestQueueStatistics_SteadyService(t *testing.T) {
	f := newFixture(t, nil)
	for i := 0; i < 20; i++ {
		f.job(fmt.Sprintf("j%02d", i))
	}
	f.worker("w", 1)
	for i := 0; i < 10; i++ {
		res := f.acceptOnlyOffer("w")
		require.Equal(t, fmt.Sprintf("j%02d", i), res.JobID)
		if i == 9 {
			break
		}
		f.clk.Add(time.Minute)
		require.NoError(t, f.r.CloseJob(ctx, res.JobID, res.AssignmentID, nil))
	}

	pos, err := f.r.GetQueuePosition(ctx, "j14")
	require.NoError(t, err)
	require.Equal(t, "j14", pos.JobID)
	require.Equal(t, "q", pos.QueueID)
	require.Equal(t, 5, pos.Position)
	require.Equal(t, 10, pos.QueueLength)
	require.True(t, pos.EstimateAvailable)
	require.InDelta(t, float64(5*time.Minute), float64(pos.EstimatedWaitTime), float64(time.Second))

	st, err := f.r.GetQueueStatistics(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, "q", st.QueueID)
	require.Equal(t, 10, st.Length)
	require.Equal(t, 9*time.Minute, st.LongestJobWaitTime)
	require.True(t, st.EstimateAvailable)
	require.Len(t, st.EstimatedWaitTime, 1)
	require.InDelta(t, float64(11*time.Minute), float64(st.EstimatedWaitTime[1]), float64(time.Second),
		"a new job of priority 1 is eleventh")

	// The map is the caller's.
	st.EstimatedWaitTime[1] = 0
	again, err := f.r.GetQueueStatistics(ctx, "q")
	require.NoError(t, err)
	require.NotZero(t, again.EstimatedWaitTime[1])

	// An hour after the last assignment the history is gone: no estimate, said so.
	f.clk.Add(time.Hour)
	pos, err = f.r.GetQueuePosition(ctx, "j14")
	require.NoError(t, err)
	require.False(t, pos.EstimateAvailable)
	require.Zero(t, pos.EstimatedWaitTime)
	require.Equal(t, 5, pos.Position)
}

func TestQueueStatistics_EmptyAndNoHistory(t *testing.T) {
	f := newFixture(t, nil)
	st, err := f.r.GetQueueStatistics(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, QueueStatistics{QueueID: "q", EstimatedWaitTime: map[int]time.Duration{}}, st)

	_, err = f.r.CreateJob(ctx, Job{ID: "hi", ChannelID: "voice", QueueID: "q", Priority: 9})
	require.NoError(t, err)
	f.clk.Add(30 * time.Second)
	f.job("lo")
	f.clk.Add(30 * time.Second)
	st, err = f.r.GetQueueStatistics(ctx, "q")
	require.NoError(t, err)
	require.Equal(t, QueueStatistics{QueueID: "q", Length: 2, EstimatedWaitTime: map[int]time.Duration{9: 0, 1: 0},
		LongestJobWaitTime: time.Minute}, st)
	pos, err := f.r.GetQueuePosition(ctx, "lo")
	require.NoError(t, err)
	require.Equal(t, JobPosition{JobID: "lo", QueueID: "q", Position: 2, QueueLength: 2}, pos)
}

func TestQueuePosition_Errors(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.r.GetQueuePosition(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = f.r.GetQueueStatistics(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)

	f.worker("w", 1)
	f.job("j")
	f.acceptOnlyOffer("w")
	_, err = f.r.GetQueuePosition(ctx, "j")
	require.ErrorIs(t, err, ErrConflict, "an assigned job is in no queue")

	require.NoError(t, f.r.Close())
	_, err = f.r.GetQueuePosition(ctx, "j")
	require.ErrorIs(t, err, ErrClosed)
	_, err = f.r.GetQueueStatistics(ctx, "q")
	require.ErrorIs(t, err, ErrClosed)
}
