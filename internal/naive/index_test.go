package naive

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// checkIndexes reports where the router's kept-apart views of its state differ from
// what a full scan finds: the open jobs must be exactly the jobs not closed or
// cancelled, byID every worker in ID order, and each worker's offers its open offers
// in issue order. It also checks what lets the deadline scan skip the other jobs: a
// closed or cancelled job holds no deadline and no decline.
func (r *Router) checkIndexes() error {
	want := map[string]*job{}
	for _, id := range sortedKeys(r.jobs) {
		j := r.jobs[id]
		if !j.Status.Terminal() {
			want[id] = j
			continue
		}
		if j.closeAt.set || j.scheduleAt.set || j.selectorExpiry.set || j.maxAge.set || len(j.declines) > 0 {
			return fmt.Errorf("%s job %s holds a deadline or a decline", j.Status, id)
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
// some with a selector that expires, offered, declined with and without a retry
// time, accepted, unassigned or suspended, completed, closed now or later,
// cancelled, expired by age, deleted; workers registered, deregistered, expired off
// and deleted) and checks after every call that the open jobs, the workers in ID
// order and each worker's offers agree with a scan of everything.
func TestIndexesFollowTheState(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		r := New(engine.Config{MaxJobAge: 3 * time.Hour, KeepWorkersOnOfferExpiry: seed%3 == 0})
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
		// held returns an open job in one of the statuses given and with no close
		// pending, the first in ID order from a random start.
		held := func(statuses ...engine.JobStatus) (*job, bool) {
			ids := sortedKeys(r.open)
			start := rng.IntN(len(ids) + 1)
			for k := range ids {
				j := r.open[ids[(start+k)%len(ids)]]
				if slices.Contains(statuses, j.Status) && !j.closing {
					return j, true
				}
			}
			return nil, false
		}
		for step := range 500 {
			switch n := rng.IntN(100); {
			case n < 12:
				id := fmt.Sprintf("w%d", rng.IntN(8))
				_, err := r.UpsertWorker(now, engine.Worker{ID: id, Capacity: 2, Queues: []string{"q"},
					Labels:   engine.Labels{"lang": []string{"en", "fr"}[rng.IntN(2)]},
					Channels: []engine.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: rng.IntN(4) != 0})
				require.NoError(t, err)
				check(step, "upsert worker "+id)
			case n < 16:
				id := fmt.Sprintf("w%d", rng.IntN(8))
				_ = r.DeleteWorker(now, id) // refused while it holds an assignment
				check(step, "delete worker "+id)
			case n < 36:
				in := engine.Job{QueueID: "q", ChannelID: "voice"}
				if rng.IntN(3) == 0 {
					in.RequestedWorkerSelectors = []engine.Selector{{Key: "lang", Op: labels.Equal, Value: "fr", ExpiresAfter: 20 * time.Minute}}
				}
				_, err := r.CreateJob(now, in)
				require.NoError(t, err)
				check(step, "create job")
			case n < 50:
				if len(r.offers) > 0 {
					o := r.offers[rng.IntN(len(r.offers))]
					_, _, err := r.AcceptOffer(now, o.WorkerID, o.ID)
					require.NoError(t, err)
					check(step, "accept "+o.ID)
				}
			case n < 58:
				if len(r.offers) > 0 {
					o := r.offers[rng.IntN(len(r.offers))]
					var retry time.Time
					if rng.IntN(2) == 0 {
						retry = now.Add(time.Duration(1+rng.IntN(30)) * time.Minute)
					}
					require.NoError(t, r.DeclineOffer(now, o.WorkerID, o.ID, retry))
					check(step, "decline "+o.ID)
				}
			case n < 62:
				if j, ok := held(engine.JobAssigned); ok && j.UnassignmentCount < engine.MaxUnassignments {
					_, err := r.UnassignJob(now, j.ID, j.current, rng.IntN(3) == 0)
					require.NoError(t, err)
					check(step, "unassign "+j.ID)
				}
			case n < 80:
				if j, ok := held(engine.JobAssigned, engine.JobCompleted); ok {
					var closeAt time.Time
					if rng.IntN(2) == 0 {
						closeAt = now.Add(10 * time.Minute)
					}
					require.NoError(t, r.CloseJob(now, j.ID, j.current, "done", "", closeAt))
					check(step, "close "+j.ID)
				}
			case n < 86:
				if ids := sortedKeys(r.open); len(ids) > 0 {
					id := ids[rng.IntN(len(ids))]
					require.NoError(t, r.CancelJob(now, id, "", ""))
					check(step, "cancel "+id)
				}
			case n < 89:
				for _, id := range sortedKeys(r.jobs) {
					if r.jobs[id].Status.Terminal() {
						require.NoError(t, r.DeleteJob(now, id))
						check(step, "delete job "+id)
						break
					}
				}
			default:
				now = now.Add(time.Duration(rng.IntN(40)) * time.Minute)
				r.Advance(now)
				check(step, "advance")
			}
		}
	}
}

// TestBestIsTheSortedPrefix checks best, with both distribution modes' orders,
// against a sort by keys written out apart (load ratio, then idle since, then ID;
// NaN score last, then the score ascending or descending, then idle since, then ID),
// for n on both sides of the switch to sorting, over candidates with many ties and
// with NaN, infinite and signed-zero scores.
func TestBestIsTheSortedPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	byIdle := func(x, y candidate) int {
		if c := x.w.idleSince.Compare(y.w.idleSince); c != 0 {
			return c
		}
		return strings.Compare(x.w.ID, y.w.ID)
	}
	scores := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1), 0.5, -0.5, 1}
	orders := []struct {
		name   string
		better func(x, y candidate) bool
		key    func(x, y candidate) int
	}{
		{"idler", idler, func(x, y candidate) int {
			if c := cmp.Compare(x.loadRatio, y.loadRatio); c != 0 {
				return c
			}
			return byIdle(x, y)
		}},
	}
	for _, desc := range []bool{false, true} {
		orders = append(orders, struct {
			name   string
			better func(x, y candidate) bool
			key    func(x, y candidate) int
		}{fmt.Sprintf("scoredBetter(%v)", desc), scoredBetter(desc), func(x, y candidate) int {
			xn, yn := math.IsNaN(x.score), math.IsNaN(y.score)
			switch {
			case xn && !yn:
				return 1
			case yn && !xn:
				return -1
			case !xn:
				c := cmp.Compare(x.score, y.score)
				if desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return byIdle(x, y)
		}})
	}
	for _, o := range orders {
		for range 2000 {
			cands := make([]candidate, rng.IntN(40))
			for i := range cands {
				w := &worker{idleSince: t0.Add(time.Duration(rng.IntN(4)) * time.Second)}
				w.ID = fmt.Sprintf("w%02d", i)
				cands[i] = candidate{w: w, loadRatio: float64(rng.IntN(3)) / 2, score: scores[rng.IntN(len(scores))]}
			}
			want := slices.Clone(cands)
			slices.SortFunc(want, o.key)
			n := rng.IntN(20)
			got := best(slices.Clone(cands), n, o.better)
			require.Equal(t, ids(want[:min(n, len(want))]), ids(got), "%s: n %d of %d", o.name, n, len(cands))
		}
	}
}

func ids(cs []candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.w.ID
	}
	return out
}
