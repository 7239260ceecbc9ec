package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTime_AnEarlierNowIsTreatedAsTheLatestSeen(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	late := t0.Add(10 * time.Second)
	f.e.Advance(late)
	f.take()

	j, err := f.e.CreateJob(t0.Add(5*time.Second), call("j", "q"))
	require.NoError(t, err)
	require.Equal(t, late, j.CreatedAt)
	require.Equal(t, late, j.EnqueuedAt)
	for _, ev := range f.take() {
		require.Equal(t, late, ev.Time, brief(ev))
	}
	o := f.offer("w", "j")
	require.Equal(t, late, o.OfferedAt)
	require.Equal(t, late.Add(expiry), o.ExpiresAt)

	// Advancing to the past fires nothing, even what is due at the latest time seen.
	f.e.Advance(t0)
	require.Empty(t, f.take())
	// An accept stamped in the past happens at the latest time seen.
	_, aid, err := f.e.AcceptOffer(t0, "w", o.ID)
	require.NoError(t, err)
	require.Equal(t, late, f.getJob("j").Assignments[aid].AssignedAt)
}

func TestTime_AClockThatJumpedBackDoesNotDelayDeadlines(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	f.job(call("j", "q"))
	o := f.offer("w", "j")
	f.e.Advance(o.ExpiresAt.Add(-time.Second))
	f.e.Advance(t0) // the clock jumps back
	f.take()
	f.e.Advance(o.ExpiresAt)
	require.Equal(t, []string{"OfferExpired job=j worker=w", "WorkerDeregistered worker=w"}, briefs(f.take()))
}

func TestDeadlines_EqualDeadlinesFireInTheOrderSet(t *testing.T) {
	// Offer expiries: issued b first (idle longest), then a; both due at the same
	// instant. They fire in the order set, not by ID.
	t.Run("two offer expiries", func(t *testing.T) {
		f := newFixture(t, Config{KeepWorkersOnOfferExpiry: true})
		f.policy("p", Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 2})
		f.queue("q", "p")
		f.worker(agent("b", "q"))
		f.advance(time.Second)
		f.worker(agent("a", "q"))
		f.job(call("j", "q"))
		issued := briefs(only(f.take(), EvOfferIssued))
		require.Equal(t, []string{"OfferIssued job=j worker=b", "OfferIssued job=j worker=a"}, issued)
		f.advance(expiry)
		require.Equal(t, []string{"OfferExpired job=j worker=b", "OfferExpired job=j worker=a"},
			briefs(only(f.take(), EvOfferExpired)))
	})

	// A CloseAt and an offer expiry due at the same instant, set in either order.
	for _, closeFirst := range []bool{true, false} {
		name := map[bool]string{true: "close set before the offer", false: "offer set before the close"}[closeFirst]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, Config{KeepWorkersOnOfferExpiry: true})
			f.basic()
			w := agent("w", "q")
			w.Capacity = 2
			f.worker(w)
			aid := f.assign("w", "j1", "q")
			f.advance(30 * time.Second)
			due := f.now.Add(expiry)
			closeJ1 := func() { require.NoError(t, f.e.CloseJob(f.now, "j1", aid, "", "", due)) }
			if closeFirst {
				closeJ1()
				f.job(call("j2", "q"))
			} else {
				f.job(call("j2", "q"))
				closeJ1()
			}
			require.Equal(t, due, f.offer("w", "j2").ExpiresAt)
			f.take()
			f.advanceTo(due)
			got := briefs(only(f.take(), EvJobClosed, EvOfferExpired))
			if closeFirst {
				require.Equal(t, []string{"JobClosed job=j1 worker=w", "OfferExpired job=j2 worker=w"}, got)
			} else {
				require.Equal(t, []string{"OfferExpired job=j2 worker=w", "JobClosed job=j1 worker=w"}, got)
			}
		})
	}
}

func TestDeadlines_NextDeadlineIsTheEarliestPending(t *testing.T) {
	f := newFixture(t)
	f.basic()
	_, ok := f.e.NextDeadline()
	require.False(t, ok)
	f.worker(agent("w", "q"))
	f.job(call("j", "q"))
	next, ok := f.e.NextDeadline()
	require.True(t, ok)
	require.Equal(t, t0.Add(expiry), next)
	f.accept("w", "j")
	next, ok = f.e.NextDeadline()
	require.True(t, ok)
	require.Equal(t, t0.Add(DefaultMaxJobAge), next, "an accepted offer's expiry is forgotten; the job's maximum age is left")
}

func TestSchedule_ScheduledJobWaitsForActivationAtScheduleAt(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("w", "q"))
	f.take()
	at := t0.Add(time.Hour)
	j := call("j", "q")
	j.MatchingMode = MatchingMode{Kind: ScheduleAndSuspend, ScheduleAt: at}
	got := f.job(j)
	require.Equal(t, JobScheduled, got.Status)
	require.Equal(t, at, got.ScheduledAt)
	require.Equal(t, []string{"JobReceived job=j"}, briefs(f.take()))

	f.advanceTo(at.Add(-time.Nanosecond))
	require.Empty(t, f.take())
	f.advanceTo(at.Add(time.Minute))
	evs := f.take()
	require.Equal(t, []string{"JobWaitingForActivation job=j"}, briefs(evs))
	require.Equal(t, at, evs[0].Time)
	require.Equal(t, JobWaitingForActivation, f.getJob("j").Status)
	require.Empty(t, f.offersFor("j"))

	upd := f.getJob("j")
	upd.MatchingMode = MatchingMode{}
	_, err := f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	got = f.getJob("j")
	require.Equal(t, JobQueued, got.Status)
	require.Equal(t, at, got.ScheduledAt, "ScheduledAt is kept after activation")
	require.Equal(t, []string{"w"}, f.offeredTo("j"))
}
