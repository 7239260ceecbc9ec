package engine

import (
	"fmt"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/stretchr/testify/require"
)

func TestOfferIssued_CarriesTheOfferJobAndWorkerFields(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	w.Capacity = 5
	w.Channels = []ChannelConfig{{ChannelID: voice, CapacityCostPerJob: 2}}
	w.Labels = Labels{"lang": "en"}
	w.Tags = Labels{"desk": 4}
	f.worker(w)
	f.advance(3 * time.Second)
	f.take()
	j := call("j", "q")
	j.ChannelReference = "ref-1"
	j.Priority = 7
	j.Labels = Labels{"vip": true}
	j.Tags = Labels{"crm": "x"}
	f.job(j)

	issued := only(f.take(), EvOfferIssued)
	require.Len(t, issued, 1)
	ev := issued[0]
	o := f.offer("w", "j")
	require.Equal(t, Offer{ID: o.ID, JobID: "j", WorkerID: "w", CapacityCost: 2, OfferedAt: f.now, ExpiresAt: f.now.Add(expiry)}, o)
	require.Equal(t, o.ID, ev.OfferID)
	require.Equal(t, "j", ev.JobID)
	require.Equal(t, "w", ev.WorkerID)
	require.Equal(t, "q", ev.QueueID)
	require.Equal(t, voice, ev.ChannelID)
	require.Equal(t, "ref-1", ev.ChannelReference)
	require.Equal(t, 7, ev.JobPriority)
	require.Equal(t, f.now, ev.Time, "the offer's OfferedAt")
	require.Equal(t, f.now.Add(expiry), ev.ExpiresAt, "ExpiresAt = OfferedAt + OfferExpiresAfter")
	require.Equal(t, Labels{"vip": true}, ev.JobLabels)
	require.Equal(t, Labels{"crm": "x"}, ev.JobTags)
	require.Equal(t, Labels{"lang": "en", "Id": "w"}, ev.WorkerLabelMap())
	require.Equal(t, []labels.Pair{{Key: "lang", Value: "en"}}, ev.WorkerLabels.Pairs(), "the set leaves Id to the ID")
	require.Equal(t, Labels{"desk": 4}, ev.WorkerTags)

	// The offer reserves its cost.
	require.Equal(t, 0.4, f.getWorker("w").LoadRatio)
}

func TestAcceptOffer_AssignsTheJobAndMovesTheCapacityToTheAssignment(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	w.Capacity = 4
	f.worker(w)
	j := call("j", "q")
	j.Labels = Labels{"k": 1}
	f.job(j)
	o := f.offer("w", "j")
	f.advance(5 * time.Second)
	f.take()

	jobID, aid, err := f.e.AcceptOffer(f.now, "w", o.ID)
	require.NoError(t, err)
	require.Equal(t, "j", jobID)
	require.NotEmpty(t, aid)

	evs := f.take()
	require.Equal(t, []EventType{EvOfferAccepted}, typesOf(evs))
	ev := evs[0]
	require.Equal(t, aid, ev.AssignmentID)
	require.Equal(t, o.ID, ev.OfferID)
	require.Equal(t, "w", ev.WorkerID)
	require.Equal(t, "j", ev.JobID)
	require.Equal(t, "q", ev.QueueID)
	require.Equal(t, Labels{"k": 1}, ev.JobLabels)
	require.Equal(t, "w", ev.WorkerLabelMap()["Id"])
	require.Equal(t, f.now, ev.Time)

	got := f.getJob("j")
	require.Equal(t, JobAssigned, got.Status)
	require.Equal(t, map[string]Assignment{aid: {ID: aid, JobID: "j", WorkerID: "w", CapacityCost: 1, AssignedAt: f.now}}, got.Assignments)
	gw := f.getWorker("w")
	require.Empty(t, gw.Offers)
	require.Equal(t, []AssignedJob{{AssignmentID: aid, JobID: "j", CapacityCost: 1, AssignedAt: f.now}}, gw.AssignedJobs)
	require.Equal(t, 0.25, gw.LoadRatio, "the capacity moved from the offer to the assignment")

	// The deadline of the accepted offer is gone; the job's maximum age is left.
	next, ok := f.e.NextDeadline()
	require.True(t, ok)
	require.Equal(t, got.CreatedAt.Add(DefaultMaxJobAge), next)
}

func TestAcceptAndDecline_AnOfferThatIsNotOpenIsNotFound(t *testing.T) {
	type setup struct {
		name string
		// prepare returns the worker and offer ID to act on.
		prepare func(f *fixture) (workerID, offerID string)
	}
	setups := []setup{
		{"unknown", func(f *fixture) (string, string) { return "a", "no-such-offer" }},
		{"another worker's", func(f *fixture) (string, string) { return "b", f.offer("a", "j").ID }},
		{"unknown worker", func(f *fixture) (string, string) { return "ghost", f.offer("a", "j").ID }},
		{"accepted", func(f *fixture) (string, string) {
			id := f.offer("a", "j").ID
			_, _, err := f.e.AcceptOffer(f.now, "a", id)
			require.NoError(f.t, err)
			return "a", id
		}},
		{"declined", func(f *fixture) (string, string) {
			id := f.offer("a", "j").ID
			require.NoError(f.t, f.e.DeclineOffer(f.now, "a", id, time.Time{}))
			return "a", id
		}},
		{"expired", func(f *fixture) (string, string) {
			id := f.offer("a", "j").ID
			f.advance(expiry)
			return "a", id
		}},
		{"revoked", func(f *fixture) (string, string) {
			id := f.offer("a", "j").ID
			require.NoError(f.t, f.e.CancelJob(f.now, "j", "", ""))
			return "a", id
		}},
	}
	for _, s := range setups {
		for _, verb := range []string{"accept", "decline"} {
			t.Run(s.name+"/"+verb, func(t *testing.T) {
				f := newFixture(t, Config{KeepWorkersOnOfferExpiry: true})
				f.basic()
				f.worker(agent("a", "q"))
				f.worker(agent("b", "q"))
				f.job(call("j", "q"))
				wid, oid := s.prepare(f)
				f.take()
				before := f.digest()
				var err error
				if verb == "accept" {
					_, _, err = f.e.AcceptOffer(f.now, wid, oid)
				} else {
					err = f.e.DeclineOffer(f.now, wid, oid, time.Time{})
				}
				requireCode(t, err, CodeNotFound)
				f.requireUnchanged(before)
			})
		}
	}
}

func TestOfferExpiry_ExactlyAtOfferedAtPlusOfferExpiresAfter(t *testing.T) {
	f := newFixture(t)
	f.basic()
	f.worker(agent("a", "q"))
	f.advance(time.Second)
	f.worker(agent("b", "q"))
	f.job(call("j", "q"))
	o := f.offer("a", "j")
	require.Equal(t, o.OfferedAt.Add(expiry), o.ExpiresAt)
	f.take()

	f.advanceTo(o.ExpiresAt.Add(-time.Nanosecond))
	require.Empty(t, f.take())
	require.Equal(t, []string{"a"}, f.offeredTo("j"), "still open one nanosecond before")

	f.advanceTo(o.ExpiresAt)
	evs := f.take()
	require.Equal(t, []string{
		"OfferExpired job=j worker=a",
		"WorkerDeregistered worker=a",
		"OfferIssued job=j worker=b",
	}, briefs(evs))
	require.Equal(t, o.ID, evs[0].OfferID)
	require.Equal(t, o.ExpiresAt, evs[0].Time)
	require.Equal(t, "q", evs[0].QueueID)

	a := f.getWorker("a")
	require.Empty(t, a.Offers)
	require.Zero(t, a.LoadRatio, "the expired offer's capacity is released")
	require.Equal(t, WorkerInactive, a.State, "deregistered on expiry by default")
	require.False(t, a.AvailableForOffers)
	require.Equal(t, []string{"b"}, f.offeredTo("j"), "the job is matched again")
}

func TestOfferExpiry_AnOfferCannotBeAcceptedFromItsExpiryInstant(t *testing.T) {
	// The shell advances before every command, but the rule holds without it too.
	f := newFixture(t)
	f.basic()
	f.worker(agent("a", "q"))
	f.job(call("j", "q"))
	o := f.offer("a", "j")
	f.take()
	before := f.digest()
	_, _, err := f.e.AcceptOffer(o.ExpiresAt, "a", o.ID)
	requireCode(t, err, CodeNotFound)
	require.Empty(t, f.take())
	require.Equal(t, before, f.digest())
	err = f.e.DeclineOffer(o.ExpiresAt.Add(time.Second), "a", o.ID, time.Time{})
	requireCode(t, err, CodeNotFound)

	// One nanosecond earlier it is open (time never goes back, so use a new engine).
	g := newFixture(t)
	g.basic()
	g.worker(agent("a", "q"))
	g.job(call("j", "q"))
	o = g.offer("a", "j")
	_, _, err = g.e.AcceptOffer(o.ExpiresAt.Add(-time.Nanosecond), "a", o.ID)
	require.NoError(t, err)
}

func TestOfferExpiry_KeepWorkersOnOfferExpiryKeepsTheWorkerRegistered(t *testing.T) {
	f := newFixture(t, Config{KeepWorkersOnOfferExpiry: true})
	f.basic()
	f.worker(agent("a", "q"))
	f.job(call("j", "q"))
	o := f.offer("a", "j")
	f.take()
	f.advanceTo(o.ExpiresAt)
	evs := f.take()
	require.Equal(t, []string{"OfferExpired job=j worker=a", "OfferIssued job=j worker=a"}, briefs(evs))
	require.NotEqual(t, o.ID, evs[1].OfferID)
	a := f.getWorker("a")
	require.Equal(t, WorkerActive, a.State)
	require.True(t, a.AvailableForOffers)
}

func TestOfferExpiry_EveryOfferDueAtTheSameInstantExpires(t *testing.T) {
	// Two offers to one worker expire at the same instant. Deregistering the worker
	// on the first must not turn the second, which expired at that very instant too,
	// into a revocation.
	f := newFixture(t)
	f.basic()
	w := agent("a", "q")
	w.Capacity = 3
	f.worker(w)
	f.job(call("j1", "q"))
	f.job(call("j2", "q"))
	f.advance(time.Second)
	f.job(call("j3", "q")) // expires a second later: revoked by the deregistration
	f.take()
	f.advanceTo(t0.Add(expiry))
	require.Equal(t, []string{
		"OfferExpired job=j1 worker=a",
		"OfferExpired job=j2 worker=a",
		"OfferRevoked job=j3 worker=a",
		"WorkerDeregistered worker=a",
	}, briefs(f.take()))
}

func TestOfferRevocation(t *testing.T) {
	cases := []struct {
		name string
		act  func(f *fixture)
		want []string
	}{
		{"worker deregisters", func(f *fixture) {
			w := roomy("a", "q")
			w.AvailableForOffers = false
			f.worker(w)
		}, []string{"OfferRevoked job=j worker=a", "WorkerDeregistered worker=a", "OfferIssued job=j worker=b"}},
		{"worker drains", func(f *fixture) {
			held := call("held", "q")
			held.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.Equal, Value: "a"}}
			f.job(held)
			f.accept("a", "held")
			f.take()
			w := roomy("a", "q")
			w.AvailableForOffers = false
			f.worker(w)
			require.Equal(f.t, WorkerDraining, f.getWorker("a").State)
		}, []string{"OfferRevoked job=j worker=a", "WorkerDeregistered worker=a", "OfferIssued job=j worker=b"}},
		{"worker deleted", func(f *fixture) {
			require.NoError(f.t, f.e.DeleteWorker(f.now, "a"))
		}, []string{"OfferRevoked job=j worker=a", "WorkerDeleted worker=a", "OfferIssued job=j worker=b"}},
		{"job cancelled", func(f *fixture) {
			require.NoError(f.t, f.e.CancelJob(f.now, "j", "", ""))
		}, []string{"OfferRevoked job=j worker=a", "JobCancelled job=j"}},
		{"job updated (ours, as Azure)", func(f *fixture) {
			j := f.getJob("j")
			j.Priority = 9
			_, err := f.e.UpdateJob(f.now, j)
			require.NoError(f.t, err)
		}, []string{"OfferRevoked job=j worker=a", "OfferIssued job=j worker=a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.basic()
			f.worker(roomy("a", "q"))
			f.advance(time.Second)
			f.worker(roomy("b", "q"))
			f.job(call("j", "q"))
			o := f.offer("a", "j")
			f.take()
			f.advance(time.Second)
			tc.act(f)
			evs := f.take()
			require.Equal(t, tc.want, briefs(evs))
			require.Equal(t, o.ID, evs[0].OfferID)
			require.NotEmpty(t, evs[0].Extras().Reason)
			if w, err := f.e.GetWorker("a"); err == nil {
				for _, x := range w.Offers {
					require.NotEqual(t, o.ID, x.ID)
				}
				if len(w.AssignedJobs) == 0 && len(w.Offers) == 0 {
					require.Zero(t, w.LoadRatio, "the revoked offer's capacity is released")
				}
			}
			_, _, err := f.e.AcceptOffer(f.now, "a", o.ID)
			requireCode(t, err, CodeNotFound)
		})
	}
}

// A job holds its open offers in issue order, whichever of them end: one declined
// from the middle, the last and the first leave the others in order, and an offer
// issued after them goes to the end. The order shows in the OfferRevoked events of
// an accept, which revokes the job's other offers first to last; the fixture's
// index checks (Config.Checks) verify the list's links both ways after every call.
func TestJobOffersKeepIssueOrderWhicheverEnd(t *testing.T) {
	f := newFixture(t)
	f.policy("p", Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 6})
	f.queue("q", "p")
	for i := 1; i <= 6; i++ {
		f.worker(agent(fmt.Sprintf("w%d", i), "q"))
	}
	f.job(call("j", "q"))
	require.Equal(t, []string{"w1", "w2", "w3", "w4", "w5", "w6"}, f.offeredTo("j"))
	for _, w := range []string{"w3", "w6", "w1"} { // the middle, the last, the first
		require.NoError(t, f.e.DeclineOffer(f.now, w, f.offer(w, "j").ID, time.Time{}))
	}
	require.Equal(t, []string{"w2", "w4", "w5"}, f.offeredTo("j"))
	f.worker(agent("w0", "q")) // sorts first by ID, but is offered last
	require.Equal(t, []string{"w0", "w2", "w4", "w5"}, f.offeredTo("j"))
	f.take()
	f.accept("w4", "j")
	var revoked []string
	for _, ev := range f.take() {
		if ev.Type == EvOfferRevoked {
			revoked = append(revoked, ev.WorkerID)
		}
	}
	require.Equal(t, []string{"w2", "w5", "w0"}, revoked, "revoked in issue order")
}

// BenchmarkOffersOfOneJob issues n concurrent offers of one job (a policy whose
// MaxConcurrentOffers is n, n idle workers), then accepts the last, which revokes
// the n-1 others. ns/offer stays flat in n: each offer joins and leaves the job's
// list in O(1).
func BenchmarkOffersOfOneJob(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("offers=%d", n), func(b *testing.B) {
			e := New(Config{NewID: counterIDs("id"), Emit: func(Event) {}})
			now := t0
			if _, err := e.UpsertDistributionPolicy(now, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Hour,
				Mode: Mode{Kind: LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: n}}); err != nil {
				b.Fatal(err)
			}
			if _, err := e.UpsertQueue(now, Queue{ID: "q", DistributionPolicyID: "p"}); err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if _, err := e.UpsertWorker(now, agent(fmt.Sprintf("w%06d", i), "q")); err != nil {
					b.Fatal(err)
				}
			}
			last := fmt.Sprintf("w%06d", n-1)
			k := 0
			for b.Loop() {
				id := fmt.Sprintf("j%d", k)
				k++
				if _, err := e.CreateJob(now, call(id, "q")); err != nil {
					b.Fatal(err)
				}
				w, err := e.GetWorker(last)
				if err != nil || len(w.Offers) != 1 {
					b.Fatalf("worker %s: %d offers, err %v", last, len(w.Offers), err)
				}
				if _, _, err := e.AcceptOffer(now, last, w.Offers[0].ID); err != nil {
					b.Fatal(err)
				}
				if err := e.CancelJob(now, id, "", ""); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/offer")
		})
	}
}
