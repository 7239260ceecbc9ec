package naive

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// checkIndexes reports where the router's kept-apart views of its state differ from
// what a full scan finds: the open jobs must be exactly the jobs not closed or
// cancelled, byID every worker in ID order, and each worker's offers its
// open offers in issue order.
func (r *Router) checkIndexes() error {
	want := map[string]*job{}
	for id, j := range r.jobs {
		if !j.Status.Terminal() {
			want[id] = j
		}
	}
	if !maps.Equal(want, r.open) {
		return fmt.Errorf("open jobs %v, want %v", sortedKeys(r.open), sortedKeys(want))
	}
	var ws []*worker
	for _, id := range sortedKeys(r.workers) {
		ws = append(ws, r.workers[id])
	}
	if !slices.Equal(ws, r.byID) {
		name := func(ws []*worker) (ids []string) {
			for _, w := range ws {
				ids = append(ids, w.ID)
			}
			return ids
		}
		return fmt.Errorf("workers by ID %v, want %v", name(r.byID), name(ws))
	}
	for _, w := range r.byID {
		id := w.ID
		want := slices.DeleteFunc(slices.Clone(r.offers), func(o *offer) bool { return o.WorkerID != id })
		if !slices.Equal(want, w.offers) {
			return fmt.Errorf("worker %s's offers %v, want %v", id, w.offers, want)
		}
	}
	return nil
}

// TestIndexesFollowTheState drives a router through random lifecycles (jobs created,
// accepted, completed, closed now or later, cancelled, expired by age, deleted;
// workers registered, deregistered and deleted) and checks after every call that the
// open jobs, the sorted worker IDs and each worker's offers agree with a scan of
// everything.
func TestIndexesFollowTheState(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		r := New(engine.Config{MaxJobAge: 3 * time.Hour})
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		_, err := r.UpsertDistributionPolicy(now, engine.DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute,
			Mode: engine.Mode{Kind: engine.LongestIdle, MinConcurrentOffers: 1, MaxConcurrentOffers: 2}})
		require.NoError(t, err)
		_, err = r.UpsertQueue(now, engine.Queue{ID: "q", DistributionPolicyID: "p"})
		require.NoError(t, err)
		check := func(step int, what string) {
			t.Helper()
			require.NoError(t, r.checkIndexes(), "seed %d, step %d, after %s", seed, step, what)
		}
		for step := range 400 {
			switch n := rng.IntN(100); {
			case n < 15:
				id := fmt.Sprintf("w%d", rng.IntN(8))
				_, err := r.UpsertWorker(now, engine.Worker{ID: id, Capacity: 2, Queues: []string{"q"},
					Channels: []engine.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: rng.IntN(4) != 0})
				require.NoError(t, err)
				check(step, "upsert worker "+id)
			case n < 20:
				id := fmt.Sprintf("w%d", rng.IntN(8))
				_ = r.DeleteWorker(now, id) // refused while it holds an assignment
				check(step, "delete worker "+id)
			case n < 45:
				_, err := r.CreateJob(now, engine.Job{QueueID: "q", ChannelID: "voice"})
				require.NoError(t, err)
				check(step, "create job")
			case n < 60:
				if len(r.offers) > 0 {
					o := r.offers[rng.IntN(len(r.offers))]
					_, _, err := r.AcceptOffer(now, o.WorkerID, o.ID)
					require.NoError(t, err)
					check(step, "accept "+o.ID)
				}
			case n < 85:
				for _, id := range sortedKeys(r.open) {
					j := r.open[id]
					if j.closing || j.Status != engine.JobAssigned && j.Status != engine.JobCompleted {
						continue
					}
					var closeAt time.Time
					if rng.IntN(2) == 0 {
						closeAt = now.Add(10 * time.Minute)
					}
					require.NoError(t, r.CloseJob(now, id, j.current, "done", "", closeAt))
					check(step, "close "+id)
					break
				}
			case n < 92:
				if ids := sortedKeys(r.open); len(ids) > 0 {
					id := ids[rng.IntN(len(ids))]
					require.NoError(t, r.CancelJob(now, id, "", ""))
					check(step, "cancel "+id)
				}
			case n < 95:
				for _, id := range sortedKeys(r.jobs) {
					if r.jobs[id].Status.Terminal() {
						require.NoError(t, r.DeleteJob(now, id))
						check(step, "delete job "+id)
						break
					}
				}
			default:
				now = now.Add(time.Duration(rng.IntN(90)) * time.Minute)
				r.Advance(now)
				check(step, "advance")
			}
		}
	}
}

// TestBestIsTheSortedPrefix checks best against a full sort, for n on both sides of
// the switch to sorting, over candidates with many ties in load and idle time.
func TestBestIsTheSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	better := func(x, y candidate) bool {
		if x.loadRatio != y.loadRatio {
			return x.loadRatio < y.loadRatio
		}
		return longerIdle(x.w, y.w)
	}
	for range 2000 {
		cands := make([]candidate, rng.IntN(40))
		for i := range cands {
			w := &worker{idleSince: t0.Add(time.Duration(rng.IntN(4)) * time.Second)}
			w.ID = fmt.Sprintf("w%02d", i)
			cands[i] = candidate{w: w, loadRatio: float64(rng.IntN(3)) / 2}
		}
		rng.Shuffle(len(cands), func(a, b int) { cands[a], cands[b] = cands[b], cands[a] })
		want := slices.Clone(cands)
		slices.SortFunc(want, func(x, y candidate) int {
			if better(x, y) {
				return -1
			}
			return 1
		})
		n := rng.IntN(20)
		got := best(slices.Clone(cands), n, better)
		require.Equal(t, want[:min(n, len(want))], got, "n %d of %d", n, len(cands))
	}
}
