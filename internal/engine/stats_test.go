package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// steady drives the scenario whose answer is known: worker "w" (capacity 1) on queue
// "q" with a backlog of 20 jobs j00..j19 created at t0 takes one job a minute, each
// accepted the moment it is offered and closed a minute later. It returns after the
// tenth acceptance, at t0+9m: j00..j08 are closed, j09 is assigned, j10..j19 wait.
func steady(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	f.basic()
	for i := 0; i < 20; i++ {
		f.job(call(fmt.Sprintf("j%02d", i), "q"))
	}
	f.worker(agent("w", "q"))
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("j%02d", i)
		aid := f.accept("w", id)
		if i == 9 {
			break
		}
		f.advance(time.Minute)
		require.NoError(t, f.e.CloseJob(f.now, id, aid, "done", "", time.Time{}))
	}
	require.Equal(t, 9*time.Minute, f.since())
	return f
}

func (f *fixture) stats(queueID string) QueueStatistics {
	f.t.Helper()
	st, err := f.e.QueueStatistics(f.now, queueID)
	require.NoError(f.t, err)
	return st
}

func (f *fixture) position(jobID string) JobPosition {
	f.t.Helper()
	p, err := f.e.QueuePosition(f.now, jobID)
	require.NoError(f.t, err)
	return p
}

// One assignment a minute: the fifth in line waits five minutes.
func TestEstimate_SteadyServiceFifthInLineWaitsFiveMinutes(t *testing.T) {
	f := steady(t)
	p := f.position("j14")
	require.Equal(t, JobPosition{JobID: "j14", QueueID: "q", Position: 5, QueueLength: 10,
		EstimatedWaitTime: p.EstimatedWaitTime, EstimateAvailable: true}, p)
	require.InDelta(t, float64(5*time.Minute), float64(p.EstimatedWaitTime), float64(time.Second))

	first := f.position("j10")
	require.Equal(t, 1, first.Position)
	require.InDelta(t, float64(time.Minute), float64(first.EstimatedWaitTime), float64(time.Second))

	st := f.stats("q")
	require.Equal(t, 10, st.Length)
	require.True(t, st.EstimateAvailable)
	require.Equal(t, 9*time.Minute, st.LongestJobWaitTime, "the backlog has waited since t0")
	// A new job of priority 1 would be eleventh: eleven minutes.
	require.Len(t, st.EstimatedWaitTime, 1)
	require.InDelta(t, float64(11*time.Minute), float64(st.EstimatedWaitTime[1]), float64(time.Second))
}

// The rate is measured up to now: while the queue makes no assignment, its estimates
// grow; an hour without any leaves no history.
func TestEstimate_GrowsWhileTheQueueStops(t *testing.T) {
	f := steady(t)
	f.advance(time.Minute) // t0+10m: nobody accepts anything
	p := f.position("j14")
	require.True(t, p.EstimateAvailable)
	// Nine assignments after the first, over the ten minutes since it: 0.9 a minute.
	require.Equal(t, 5*10*time.Minute/9, p.EstimatedWaitTime)

	f.advance(49 * time.Minute) // t0+59m: every assignment (t0..t0+9m) is still within the hour
	require.True(t, f.position("j14").EstimateAvailable)
	f.advance(8*time.Minute + 30*time.Second) // t0+67m30s: only t0+8m and t0+9m are within the hour
	p = f.position("j14")
	require.True(t, p.EstimateAvailable)
	require.Equal(t, 5*(59*time.Minute+30*time.Second), p.EstimatedWaitTime, "one assignment after t0+8m, over the 59m30s since")
	f.advance(30 * time.Second) // t0+68m: t0+8m is an hour old, no longer within the window
	p = f.position("j14")
	require.False(t, p.EstimateAvailable)
	require.Zero(t, p.EstimatedWaitTime)
}

func TestEstimate_NoHistory(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(call("a", "q"))
	f.job(Job{ID: "b", QueueID: "q", ChannelID: voice, Priority: 7})
	f.advance(time.Minute)

	st := f.stats("q")
	require.Equal(t, QueueStatistics{QueueID: "q", Length: 2, EstimatedWaitTime: map[int]time.Duration{1: 0, 7: 0},
		LongestJobWaitTime: time.Minute, EstimateAvailable: false}, st,
		"without history: a key for each priority present, every estimate 0, EstimateAvailable false")
	require.Equal(t, JobPosition{JobID: "a", QueueID: "q", Position: 2, QueueLength: 2}, f.position("a"))

	// One assignment is not a rate either.
	f.worker(agent("w", "q"))
	f.accept("w", "b")
	f.advance(time.Minute)
	require.False(t, f.stats("q").EstimateAvailable)
	require.False(t, f.position("a").EstimateAvailable)

	// A second one is.
	f.worker(agent("w2", "q"))
	f.accept("w2", "a")
	f.job(call("c", "q"))
	f.advance(time.Minute)
	p := f.position("c")
	require.True(t, p.EstimateAvailable)
	require.Equal(t, 2*time.Minute, p.EstimatedWaitTime, "one assignment after the first over the two minutes since")
}

func TestStatistics_EmptyQueue(t *testing.T) {
	f := newFixture(t)
	f.basic()
	require.Equal(t, QueueStatistics{QueueID: "q", EstimatedWaitTime: map[int]time.Duration{}}, f.stats("q"))

	f.job(call("only", "q"))
	f.advance(42 * time.Second)
	require.Equal(t, QueueStatistics{QueueID: "q", Length: 1, EstimatedWaitTime: map[int]time.Duration{1: 0},
		LongestJobWaitTime: 42 * time.Second}, f.stats("q"))
	require.NoError(t, f.e.CancelJob(f.now, "only", "", ""))
	require.Equal(t, QueueStatistics{QueueID: "q", EstimatedWaitTime: map[int]time.Duration{}}, f.stats("q"),
		"empty again")

	_, err := f.e.QueueStatistics(f.now, "nope")
	requireCode(t, err, CodeNotFound)
}

// history records assignments for queueID at the given offsets from t0.
func (f *fixture) history(queueID string, offsets ...time.Duration) {
	for _, d := range offsets {
		recordService(t0.Add(d), f.e.queues[queueID])
	}
}

// Per priority: a new job is behind every expedited job and every job of its
// priority or higher; jobs of other queues do not count.
func TestStatistics_EstimatePerPriority(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(Job{ID: "p1a", QueueID: "q", ChannelID: voice, Priority: 1})
	f.job(Job{ID: "p1b", QueueID: "q", ChannelID: voice, Priority: 1})
	f.job(Job{ID: "p5", QueueID: "q", ChannelID: voice, Priority: 5})
	f.job(Job{ID: "p10", QueueID: "q", ChannelID: voice, Priority: 10})
	f.job(Job{ID: "exp", QueueID: "q", ChannelID: voice, Priority: -5,
		RequestedWorkerSelectors: []Selector{{Key: "x", Op: "equal", Value: "y", Expedite: true}}})
	f.job(Job{ID: "other", QueueID: "q2", ChannelID: voice, Priority: 100})
	// Two assignments, at t0 and t0+1m: one after the first, over the two minutes to now.
	f.history("q", 0, time.Minute)
	f.advance(2 * time.Minute)
	f.history("q2", time.Minute, 90*time.Second) // another queue's rate is not q's

	st := f.stats("q")
	require.Equal(t, 5, st.Length)
	require.True(t, st.EstimateAvailable)
	// One assignment every 2 minutes.
	require.Equal(t, map[int]time.Duration{
		10: 3 * 2 * time.Minute, // behind exp, p10: 3rd
		5:  4 * 2 * time.Minute, // behind exp, p10, p5
		1:  6 * 2 * time.Minute, // behind exp, p10, p5, p1a, p1b
		-5: 6 * 2 * time.Minute, // the same five: exp is ahead because it is expedited, not by its priority
	}, st.EstimatedWaitTime)
	require.Equal(t, 2*time.Minute, st.LongestJobWaitTime)
}

// Position follows queue order: expedited first, then priority, then EnqueuedAt; jobs
// of other queues are not counted.
func TestPosition_QueueOrder(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(Job{ID: "a", QueueID: "q", ChannelID: voice, Priority: 1})
	f.advance(time.Second)
	f.job(Job{ID: "b", QueueID: "q", ChannelID: voice, Priority: 5})
	f.advance(time.Second)
	f.job(Job{ID: "x", QueueID: "q2", ChannelID: voice, Priority: 100})
	f.job(Job{ID: "c", QueueID: "q", ChannelID: voice, Priority: 1,
		RequestedWorkerSelectors: []Selector{{Key: "k", Op: "equal", Value: 1, Expedite: true}}})
	f.advance(time.Second)
	f.job(Job{ID: "d", QueueID: "q", ChannelID: voice, Priority: 5})
	f.history("q", 0, time.Second) // one assignment after t0, over the 3 s to now

	want := map[string]int{"c": 1, "b": 2, "d": 3, "a": 4}
	for id, pos := range want {
		p := f.position(id)
		require.Equal(t, pos, p.Position, id)
		require.Equal(t, 4, p.QueueLength, id)
		require.Equal(t, "q", p.QueueID)
		require.True(t, p.EstimateAvailable)
		require.Equal(t, time.Duration(pos)*3*time.Second, p.EstimatedWaitTime, id) // 1 assignment per 3 s
	}
	px := f.position("x")
	require.Equal(t, 1, px.Position)
	require.Equal(t, 1, px.QueueLength)
	require.False(t, px.EstimateAvailable)

	// LongestJobWaitTime is the earliest EnqueuedAt (a, fourth in line), not the first in line.
	require.Equal(t, 3*time.Second, f.stats("q").LongestJobWaitTime)

	// A change of priority moves the job.
	a := f.getJob("a")
	a.Priority = 10
	_, err := f.e.UpdateJob(f.now, a)
	require.NoError(t, err)
	require.Equal(t, 2, f.position("a").Position)
	require.Equal(t, 3, f.position("b").Position)
}

func TestPosition_Errors(t *testing.T) {
	f := newFixture(t)
	f.basic()
	_, err := f.e.QueuePosition(f.now, "nope")
	requireCode(t, err, CodeNotFound)

	f.worker(agent("w", "q"))
	f.job(call("assigned", "q"))
	f.accept("w", "assigned")
	f.job(Job{ID: "suspended", QueueID: "q", ChannelID: voice, MatchingMode: MatchingMode{Kind: Suspend}})
	f.job(call("cancelled", "q"))
	require.NoError(t, f.e.CancelJob(f.now, "cancelled", "", ""))
	for _, id := range []string{"assigned", "suspended", "cancelled"} {
		_, err := f.e.QueuePosition(f.now, id)
		requireCode(t, err, CodeConflict)
	}
}

// The window holds at most ServiceWindowSize assignments: older ones, even within
// the hour, no longer count.
func TestEstimate_WindowKeepsTheLatestHundred(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.job(call("a", "q"))
	// 50 assignments a minute apart, then 100 a second apart.
	var offs []time.Duration
	for i := 0; i < 50; i++ {
		offs = append(offs, time.Duration(i)*time.Minute)
	}
	for i := 0; i < ServiceWindowSize; i++ {
		offs = append(offs, 50*time.Minute+time.Duration(i)*time.Second)
	}
	f.history("q", offs...)
	f.advanceTo(t0.Add(50*time.Minute + 99*time.Second))
	p := f.position("a")
	require.True(t, p.EstimateAvailable)
	require.Equal(t, time.Second, p.EstimatedWaitTime, "99 assignments over the 99 s since the oldest kept one")
}

// A queue deleted and created again has no history.
func TestEstimate_RecreatedQueueStartsAfresh(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.queue("q3", "p")
	f.history("q3", 0, time.Second)
	f.advance(time.Minute)
	require.True(t, f.stats("q3").EstimateAvailable)
	require.NoError(t, f.e.DeleteQueue(f.now, "q3"))
	f.queue("q3", "p")
	require.False(t, f.stats("q3").EstimateAvailable)
}

// Reads change nothing, and a now before the engine's time reads as the engine's time.
func TestStatistics_ReadOnly(t *testing.T) {
	f := steady(t)
	f.take()
	before := f.digest()
	st, err := f.e.QueueStatistics(t0, "q") // earlier than the engine's t0+9m
	require.NoError(t, err)
	require.Equal(t, f.stats("q"), st)
	p, err := f.e.QueuePosition(t0, "j14")
	require.NoError(t, err)
	require.Equal(t, f.position("j14"), p)
	f.requireUnchanged(before)
}

func TestWaitFor(t *testing.T) {
	require.Equal(t, time.Duration(0), waitFor(0, 10, time.Minute))
	require.Equal(t, 5*time.Minute, waitFor(5, 10, 9*time.Minute))
	require.Equal(t, time.Duration(333333333), waitFor(1, 4, time.Second), "rounded down to the nanosecond")
	// Large positions saturate rather than overflow.
	require.Equal(t, time.Duration(math.MaxInt64), waitFor(math.MaxInt32, 2, time.Hour*1000))
	require.Equal(t, time.Duration(math.MaxInt64), waitFor(math.MaxInt, 2, time.Hour))
	// p*span overflows 64 bits; the quotient does not.
	require.Equal(t, 1_000_000*time.Hour, waitFor(10_000_000, 11, time.Hour))
}

// QueuePosition and QueueStatistics search the counted queue order instead of
// walking it; on random queues (priorities, expedited jobs, enqueue times, jobs
// leaving) they equal the walk: each job's place is one more than the jobs ahead of
// it, the longest wait is from the earliest EnqueuedAt, and each priority's estimate
// counts every expedited job and every job of that priority or higher.
func TestQueueInsightEqualsAWalkOfTheLine(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			f := newFixture(t)
			f.basic()
			f.history("q", 0, time.Second)
			levels := 1 + r.IntN(6) // how many priorities are in play
			n := 1 + r.IntN(120)
			for i := range n {
				j := Job{ID: fmt.Sprintf("j%03d", i), QueueID: "q", ChannelID: voice, Priority: r.IntN(levels) - levels/2}
				if j.Priority == 0 {
					j.Priority = -100 // 0 means the default
				}
				if r.IntN(5) == 0 {
					j.RequestedWorkerSelectors = []Selector{{Key: "x", Op: "equal", Value: "y", Expedite: true}}
				}
				f.job(j)
				if r.IntN(3) == 0 {
					f.advance(time.Duration(1+r.IntN(3)) * time.Second)
				}
			}
			f.advance(time.Minute)
			for i := range n {
				if r.IntN(4) == 0 {
					require.NoError(t, f.e.CancelJob(f.now, fmt.Sprintf("j%03d", i), "", ""))
				}
			}

			// The walk.
			q := f.e.queues["q"]
			var line []*jobState
			q.order.ascend(func(j *jobState) bool { line = append(line, j); return true })
			want := QueueStatistics{QueueID: "q", Length: len(line), EstimatedWaitTime: map[int]time.Duration{}, EstimateAvailable: true}
			var earliest time.Time
			for _, j := range line {
				if earliest.IsZero() || j.EnqueuedAt().Before(earliest) {
					earliest = j.EnqueuedAt()
				}
			}
			for p := -100; p <= 100; p++ {
				ahead, present := 0, false
				for _, x := range line {
					present = present || int(x.Priority) == p
					if x.keyExpedite || int(x.Priority) >= p {
						ahead++
					}
				}
				if present {
					k, span, _ := f.e.serviceRate(f.now, q)
					want.EstimatedWaitTime[p] = waitFor(ahead+1, k, span)
				}
			}
			if len(line) > 0 {
				want.LongestJobWaitTime = f.now.Sub(earliest)
			}
			require.Equal(t, want, f.stats("q"))
			for i, j := range line {
				p := f.position(j.ID)
				require.Equal(t, i+1, p.Position, j.ID)
				require.Equal(t, len(line), p.QueueLength)
			}
		})
	}
}

// BenchmarkQueueInsight reads a position and the statistics of a queue of 200,000
// jobs over four priorities, a tenth of them expedited: a search of the counted
// order, not a walk of the line.
func BenchmarkQueueInsight(b *testing.B) {
	e := New(Config{Emit: func(Event) {}})
	now := t0
	_, _ = e.UpsertDistributionPolicy(now, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: Mode{Kind: LongestIdle}})
	_, _ = e.UpsertQueue(now, Queue{ID: "q", DistributionPolicyID: "p"})
	const n = 200_000
	for i := range n {
		j := call(fmt.Sprintf("j%06d", i), "q")
		j.Priority = 1 + i%4
		if i%10 == 0 {
			j.RequestedWorkerSelectors = []Selector{{Key: "x", Op: "equal", Value: "y", Expedite: true}}
		}
		if _, err := e.CreateJob(now, j); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("position", func(b *testing.B) {
		for b.Loop() {
			if p, err := e.QueuePosition(now, "j150001"); err != nil || p.QueueLength != n {
				b.Fatal(p, err)
			}
		}
	})
	b.Run("statistics", func(b *testing.B) {
		for b.Loop() {
			if st, err := e.QueueStatistics(now, "q"); err != nil || st.Length != n {
				b.Fatal(st, err)
			}
		}
	})
}
