package engine

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/match"
)

// bruteForcePick is the choice the matching rule asks for, computed the obvious way:
// every listener of the job's queue checked with the full eligibility rule, scored
// one by one, and chosen by the mode's own function. It returns nil when the job
// would wait (no eligible worker, or fewer than MinConcurrentOffers).
func bruteForcePick(e *Engine, j *jobState) []string {
	q := j.inQueue
	mode := e.policies[q.DistributionPolicyID].Mode
	want := mode.MaxConcurrentOffers - int(j.nOffers)
	var cands []match.Candidate
	q.eachListener(func(w *workerState) bool {
		if e.eligible(w, j, mode.BypassSelectors) {
			cands = append(cands, match.Candidate{ID: w.ID, LoadRatio: w.loadRatio(), IdleSince: w.idleSince,
				Score: e.score(mode, j, w)})
		}
		return true
	})
	if want <= 0 || len(cands) == 0 || int(j.nOffers)+len(cands) < mode.MinConcurrentOffers {
		return nil
	}
	var picked []match.Candidate
	switch mode.Kind {
	case LongestIdle:
		picked = match.LongestIdle(cands, want)
	case RoundRobin:
		picked = match.RoundRobin(cands, q.rrLast, want)
	case BestWorker:
		picked = match.Best(cands, want, mode.Descending)
	}
	var ids []string
	for _, c := range picked {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestIndexedChoiceEqualsBruteForce creates, over many seeds, workers with labels
// from a small domain (so that classes hold several workers, and scores tie across
// classes), then jobs with random labels and selectors, and checks that the workers
// each new job is offered to are exactly those the brute-force rule picks — for
// every mode, both BestWorker directions, concurrent offers and bypassed selectors.
// The indexed paths it covers: LongestIdle and RoundRobin over the queue's own free
// trees and over merged class trees, and BestWorker by class score levels.
func TestIndexedChoiceEqualsBruteForce(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			f := newFixture(t)
			minO := 1 + rng.IntN(2)
			mode := Mode{Kind: ModeKind(1 + rng.IntN(3)), MinConcurrentOffers: minO, MaxConcurrentOffers: minO + rng.IntN(3),
				Descending: rng.IntN(2) == 0, BypassSelectors: rng.IntN(6) == 0}
			f.policy("p", mode)
			f.queue("q", "p")
			langs := []string{"en", "fr", "de"}
			for i := range 10 + rng.IntN(40) {
				w := agent(fmt.Sprintf("w%02d", i), "q")
				w.Capacity = 1 + rng.IntN(2)
				w.Labels = Labels{"lang": langs[rng.IntN(len(langs))], "level": rng.IntN(3)}
				if rng.IntN(4) == 0 {
					w.Labels["vip"] = true
				}
				f.worker(w)
				f.advance(time.Duration(rng.IntN(3)) * time.Second)
			}
			for k := range 30 {
				j := call(fmt.Sprintf("j%02d", k), "q")
				if rng.IntN(2) == 0 {
					j.Labels = Labels{"lang": langs[rng.IntN(len(langs))], "level": rng.IntN(3)}
				}
				switch rng.IntN(4) {
				case 0:
					j.RequestedWorkerSelectors = []Selector{{Key: "lang", Op: labels.Equal, Value: langs[rng.IntN(len(langs))]}}
				case 1:
					j.RequestedWorkerSelectors = []Selector{{Key: "level", Op: labels.GreaterThanOrEqual, Value: rng.IntN(3)}}
				case 2:
					j.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.NotEqual, Value: fmt.Sprintf("w%02d", rng.IntN(10))}}
				}
				// What the rule picks for this job if it were queued now, with the
				// same state: computed on a probe job in place of the real one.
				probe := &jobState{ID: j.ID, queue: intern("q"), channel: intern(voice), Labels: j.Labels, Priority: DefaultPriority}
				probe.setRequested(j.RequestedWorkerSelectors)
				probe.refreshReqs()
				probe.inQueue = f.e.queues["q"]
				want := bruteForcePick(f.e, probe)
				f.job(j)
				require.Equal(t, want, f.offeredTo(j.ID), "job %s, mode %+v", j.ID, mode)
				if rng.IntN(3) == 0 {
					f.advance(time.Second)
				}
			}
		})
	}
}

// TestGroupSignatureFollowsLabelSemantics: two requirement values share a group
// signature exactly when the label operators cannot tell them apart.
func TestGroupSignatureFollowsLabelSemantics(t *testing.T) {
	sig := func(v any) string { return string(appendValue(nil, v)) }
	require.Equal(t, sig(1), sig(1.0), "1 and 1.0 compare equal")
	require.Equal(t, sig(int8(-3)), sig(float32(-3)))
	require.Equal(t, sig(0), sig(math.Copysign(0, -1)))
	require.NotEqual(t, sig(1), sig("1"), "a string is not a number")
	require.NotEqual(t, sig(true), sig("t"))
	require.NotEqual(t, sig(int64(1<<53+1)), sig(float64(1<<53)), "exact integers differ")
	require.NotEqual(t, sig(0.5), sig(0.25))
	require.NotEqual(t, sig("a"), sig("b"))
}

// TestLabelKeyIsExact: two label sets share a key (so an interned set, so a worker
// class) exactly when they hold the same keys with values of the same Go type and
// value, so that each worker reads back the values it gave; "Id" is left out.
func TestLabelKeyIsExact(t *testing.T) {
	key := func(m Labels) string { return labelKey(labels.NewSet(m, "Id")) }
	same := []Labels{{"a": 1, "b": "x", "c": true, "d": 1.5, "Id": "w1"}, {"d": 1.5, "c": true, "b": "x", "a": 1, "Id": "w2"}, {"a": 1, "b": "x", "c": true, "d": 1.5}}
	for _, m := range same {
		require.Equal(t, key(same[0]), key(m))
	}
	distinct := []Labels{
		nil, {"a": 1}, {"a": 1.0}, {"a": int8(1)}, {"a": int16(1)}, {"a": int32(1)}, {"a": int64(1)},
		{"a": uint(1)}, {"a": uint8(1)}, {"a": uint16(1)}, {"a": uint32(1)}, {"a": uint64(1)}, {"a": float32(1)},
		{"a": 0.0}, {"a": math.Copysign(0, -1)}, {"a": "1"}, {"a": true}, {"a": false}, {"a": "t"},
		{"a": int64(1<<53 + 1)}, {"a": float64(1 << 53)}, {"ab": "c"}, {"a": "bc"}, {"a": "b", "c": "d"}, {"a": "b\x00c"},
	}
	seen := map[string]int{}
	for i, m := range distinct {
		k := key(m)
		j, dup := seen[k]
		require.False(t, dup, "%v and %v share key %q", distinct[j], m, k)
		seen[k] = i
	}
}

// TestWorkerUpdateMovesClass: a worker whose labels change moves to the class of its
// new labels (the fixture checks every index after each pass), so a job that needs
// the new labels is offered to it; a change from 1 to 1.0 is no change.
func TestWorkerUpdateMovesClass(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	w.Labels = Labels{"tier": 1}
	f.worker(w)
	j := call("j", "q")
	j.RequestedWorkerSelectors = []Selector{{Key: "tier", Op: labels.Equal, Value: 2}}
	f.job(j)
	require.Empty(t, f.offeredTo("j"))
	w.Labels = Labels{"tier": 1.0}
	f.worker(w)
	require.Empty(t, f.offeredTo("j"))
	w.Labels = Labels{"tier": 2}
	f.worker(w)
	require.Equal(t, []string{"w"}, f.offeredTo("j"))
}
