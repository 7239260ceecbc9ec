package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Advance is compositional: jumping straight to t gives the same events (with the
// same times) and the same state as stopping at any instants on the way. This is
// what makes a mock clock's result independent of which goroutine advances first.
func TestAdvanceIsCompositional(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			keep := seed%2 == 0
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			build := func() *Engine {
				n := 0
				e := New(Config{NewID: func() string { n++; return fmt.Sprint("id", n) }, KeepWorkersOnOfferExpiry: keep})
				_, err := e.UpsertDistributionPolicy(start, DistributionPolicy{ID: "p", OfferExpiresAfter: 30 * time.Second,
					Mode: Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 2}})
				require.NoError(t, err)
				_, err = e.UpsertQueue(start, Queue{ID: "q", DistributionPolicyID: "p"})
				require.NoError(t, err)
				return e
			}
			a, b := build(), build()
			rng := rand.New(rand.NewPCG(seed, 7))
			now := start
			// The same script on both engines; b also stops at random instants.
			for step := 0; step < 60; step++ {
				now = now.Add(time.Duration(rng.IntN(20)) * time.Second)
				stops := []time.Time{}
				for k := rng.IntN(3); k > 0; k-- {
					stops = append(stops, now.Add(-time.Duration(rng.IntN(20))*time.Second))
				}
				for _, s := range stops {
					b.Advance(s)
				}
				a.Advance(now)
				b.Advance(now)
				op, pick, delay := rng.IntN(4), rng.IntN(4), time.Duration(rng.IntN(60))*time.Second
				for _, e := range []*Engine{a, b} {
					switch op {
					case 0:
						_, _ = e.UpsertWorker(now, Worker{ID: fmt.Sprint("w", pick), Queues: []string{"q"}, Capacity: 2,
							Channels: []ChannelConfig{{ChannelID: "c", CapacityCostPerJob: 1}}, AvailableForOffers: true})
					case 1:
						_, _ = e.CreateJob(now, Job{ID: fmt.Sprint("j", step), ChannelID: "c", QueueID: "q"})
					case 2:
						if ws := e.ListWorkers(WorkerFilter{}); len(ws) > 0 {
							w := ws[pick%len(ws)]
							if len(w.Offers) > 0 {
								_ = e.DeclineOffer(now, w.ID, w.Offers[0].ID, now.Add(delay))
							}
						}
					case 3:
						if ws := e.ListWorkers(WorkerFilter{}); len(ws) > 0 {
							w := ws[pick%len(ws)]
							if len(w.Offers) > 0 {
								if jid, aid, err := e.AcceptOffer(now, w.ID, w.Offers[0].ID); err == nil {
									_ = e.CloseJob(now, jid, aid, "done", "", now.Add(delay))
								}
							}
						}
					}
				}
			}
			a.Advance(now.Add(10 * time.Minute))
			for s := now; s.Before(now.Add(10 * time.Minute)); s = s.Add(7 * time.Second) {
				b.Advance(s)
			}
			b.Advance(now.Add(10 * time.Minute))
			require.Equal(t, a.TakeEvents(), b.TakeEvents())
			require.Equal(t, a.ListJobs(JobFilter{}), b.ListJobs(JobFilter{}))
			require.Equal(t, a.ListWorkers(WorkerFilter{}), b.ListWorkers(WorkerFilter{}))
		})
	}
}

// TestAdvanceFiresNothingBeforeItsTime: with the wall clock stepped back between two
// readings, a deadline can be due by its monotonic reading while the earliest one,
// which the heap and the age list order by wall time, is not. Advance fires nothing
// stamped after the time it was given.
func TestAdvanceFiresNothingBeforeItsTime(t *testing.T) {
	f := newFixture(t, Config{MaxJobAge: time.Minute})
	start := time.Now() // with a monotonic reading
	f.now = start
	f.basic()
	f.job(call("j", "q")) // no worker yet: its age deadline, start+1m, waits in the list
	f.take()
	f.now = steppedWall(start.Add(30*time.Second), -time.Hour)
	f.worker(agent("w", "q")) // offered j until a minute later: an hour earlier by the wall
	require.Len(t, f.offersFor("j"), 1)
	f.take()
	now := f.now.Add(45 * time.Second) // start+75s by the monotonic clock: the age deadline is due, the offer not
	f.e.Advance(now)
	for _, ev := range f.take() {
		require.False(t, ev.Time.After(now), "%s stamped %v after now", ev.Type, ev.Time.Sub(now))
	}
	require.Len(t, f.offersFor("j"), 1, "the offer has not expired")
}
