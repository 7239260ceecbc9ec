package engine

import (
	"maps"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// refs returns the reference count of the set held by worker id, and the number of
// interned sets.
func (f *fixture) refs(id string) (int, int) {
	return f.e.workers[id].labels.refs, len(f.e.labelSets)
}

// TestLabelSetsAreSharedAndReleased: workers with equal labels (their IDs aside)
// hold one set; an update moves a worker to the set of its new labels and releases
// the old one, a delete releases its set, and a set nobody holds is forgotten. The
// fixture's checks recount every set after every pass.
func TestLabelSetsAreSharedAndReleased(t *testing.T) {
	f := newFixture(t)
	f.basic()
	a := agent("a", "q")
	a.Labels = Labels{"lang": "en", "tier": 2}
	f.worker(a)
	b := agent("b", "q2")
	b.Labels = Labels{"tier": 2, "lang": "en", "Id": "b"} // the caller's own "Id" is not stored
	f.worker(b)
	require.Same(t, f.e.workers["a"].labels, f.e.workers["b"].labels)
	n, sets := f.refs("a")
	require.Equal(t, 2, n)
	require.Equal(t, 1, sets)
	require.Equal(t, []labels.Pair{{Key: "lang", Value: "en"}, {Key: "tier", Value: 2}}, f.e.workers["a"].labels.Pairs())

	// An update that does not touch the labels keeps the count.
	a.Capacity = 3
	a.Tags = Labels{"desk": 1}
	f.worker(a)
	n, sets = f.refs("a")
	require.Equal(t, 2, n)
	require.Equal(t, 1, sets)

	// New labels: a new set; the old one is still b's.
	a.Labels = Labels{"lang": "fr", "tier": 2}
	f.worker(a)
	require.NotSame(t, f.e.workers["a"].labels, f.e.workers["b"].labels)
	n, sets = f.refs("b")
	require.Equal(t, 1, n)
	require.Equal(t, 2, sets)

	// Back to b's labels (a new map): shared again, and a's French set is forgotten.
	a.Labels = Labels{"lang": "en", "tier": 2}
	f.worker(a)
	require.Same(t, f.e.workers["a"].labels, f.e.workers["b"].labels)
	n, sets = f.refs("a")
	require.Equal(t, 2, n)
	require.Equal(t, 1, sets)

	// A failed upsert changes nothing.
	bad := a
	bad.Labels = Labels{"lang": "en", "Id": "not-a"}
	_, err := f.e.UpsertWorker(f.now, bad)
	require.Error(t, err)
	n, sets = f.refs("a")
	require.Equal(t, 2, n)
	require.Equal(t, 1, sets)

	// Deleting releases: the last holder's delete forgets the set.
	require.NoError(t, f.e.DeleteWorker(f.now, "b"))
	n, sets = f.refs("a")
	require.Equal(t, 1, n)
	require.Equal(t, 1, sets)
	require.NoError(t, f.e.DeleteWorker(f.now, "a"))
	require.Empty(t, f.e.labelSets)

	// A worker without labels holds the empty set, shared too.
	f.worker(agent("c", "q"))
	f.worker(agent("d", "q"))
	require.Same(t, f.e.workers["c"].labels, f.e.workers["d"].labels)
	require.Equal(t, 0, f.e.workers["c"].labels.Len())
	require.Equal(t, Labels{"Id": "c"}, f.getWorker("c").Labels)
}

// TestLabelSetsKeepTypes: values that compare equal but differ in Go type (1 and
// 1.0, int and int64) are different sets, so each worker reads back what it gave;
// changing one for the other is still no "labels" change for WorkerUpdated.
func TestLabelSetsKeepTypes(t *testing.T) {
	f := newFixture(t)
	f.basic()
	for id, v := range map[string]any{"i": 1, "f": 1.0, "i64": int64(1), "neg0": math.Copysign(0, -1), "zero": 0.0} {
		w := agent(id, "q")
		w.Labels = Labels{"n": v}
		f.worker(w)
		got := f.getWorker(id).Labels["n"]
		require.Equal(t, v, got, id)
		require.Equal(t, math.Signbit(toFloat(v)), math.Signbit(toFloat(got)), id)
	}
	require.Len(t, f.e.labelSets, 5)
	f.take()

	w := agent("i", "q")
	w.Labels = Labels{"n": 1.0}
	f.worker(w)
	require.Same(t, f.e.workers["i"].labels, f.e.workers["f"].labels)
	require.Empty(t, f.take(), "1 → 1.0 is not a change of labels")
	require.Equal(t, 1.0, f.getWorker("i").Labels["n"])
	require.Len(t, f.e.labelSets, 4)
}

func toFloat(v any) float64 { x, _ := labels.Number(v); return x }

// TestLabelSetHoldsAgreesWithItsKey: a set holds a label map exactly when interning
// the map would find that set (their keys are equal), over random maps drawn from
// values that compare equal across Go types (1, 1.0, int64(1), uint8(1)), zeros of
// both signs, strings and bools, with and without "Id"; and an update of a worker
// with its own labels, in a new map, keeps its set without a new one.
func TestLabelSetHoldsAgreesWithItsKey(t *testing.T) {
	values := []any{1, 1.0, int64(1), uint8(1), float32(1), 0.0, math.Copysign(0, -1), 0, "1", "", true, false, 2.5}
	keys := []string{"a", "b", "c", "Id"}
	rng := rand.New(rand.NewPCG(5, 6))
	randomMap := func() Labels {
		m := Labels{}
		for _, k := range keys {
			if rng.IntN(3) > 0 {
				m[k] = values[rng.IntN(len(values))]
			}
		}
		return m
	}
	agree, differ := 0, 0
	for range 20_000 {
		a := randomMap()
		b := maps.Clone(a)
		if rng.IntN(2) == 0 { // often the same labels; else one changed, added or dropped
			switch k := keys[rng.IntN(len(keys))]; rng.IntN(2) {
			case 0:
				b[k] = values[rng.IntN(len(values))]
			default:
				delete(b, k)
			}
		}
		setA := labels.NewSet(a, "Id")
		s := &labelSet{Set: *setA, key: labelKey(setA)}
		want := labelKey(labels.NewSet(b, "Id")) == s.key
		require.Equal(t, want, s.holds(b), "set of %v, map %v", a, b)
		if want {
			agree++
		} else {
			differ++
		}
	}
	require.Greater(t, agree, 5_000)
	require.Greater(t, differ, 2_000)

	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	w.Labels = Labels{"lang": "en", "tier": 2, "score": 0.5}
	f.worker(w)
	set := f.e.workers["w"].labels
	w.Labels = Labels{"score": 0.5, "lang": "en", "tier": 2, "Id": "w"}
	w.AvailableForOffers = false
	f.worker(w)
	require.Same(t, set, f.e.workers["w"].labels)
	n, sets := f.refs("w")
	require.Equal(t, 1, n)
	require.Equal(t, 1, sets)
	w.Labels = Labels{"score": 0.5, "lang": "en", "tier": int64(2)}
	f.worker(w)
	require.NotSame(t, set, f.e.workers["w"].labels, "2 → int64(2) is another set")
	n, sets = f.refs("w")
	require.Equal(t, 1, n)
	require.Equal(t, 1, sets)
}

// TestCheckIndexesCatchesBadLabelSets: the checks that the fixture runs after every
// pass fail on a wrong count, a set nobody holds, and a set that is not interned.
func TestCheckIndexesCatchesBadLabelSets(t *testing.T) {
	f := newFixture(t)
	f.basic()
	w := agent("w", "q")
	w.Labels = Labels{"lang": "en"}
	f.worker(w)
	require.NoError(t, f.e.CheckIndexes())

	s := f.e.workers["w"].labels
	s.refs++
	require.ErrorContains(t, f.e.CheckIndexes(), "references")
	s.refs--

	f.e.labelSets["stray"] = &labelSet{key: "stray", refs: 1}
	require.ErrorContains(t, f.e.CheckIndexes(), "references")
	delete(f.e.labelSets, "stray")

	f.e.workers["w"].labels = &labelSet{Set: s.Set, key: s.key, refs: 1}
	require.ErrorContains(t, f.e.CheckIndexes(), "not the interned one")
	f.e.workers["w"].labels = s
	require.NoError(t, f.e.CheckIndexes())
}

// TestWorkerIdIsALabelEverywhere: the stored set leaves "Id" out, yet every reader
// sees Id = the worker's ID: selectors on Id, the default score of a job label Id,
// a scoring function's input, events and reads of the worker.
func TestWorkerIdIsALabelEverywhere(t *testing.T) {
	f := newFixture(t)
	f.basic()
	for _, id := range []string{"a", "b", "c"} {
		w := agent(id, "q")
		w.Labels = Labels{"lang": "en"} // one set for all three
		f.worker(w)
	}
	require.Len(t, f.e.labelSets, 1)
	for _, w := range f.e.ListWorkers(WorkerFilter{}) {
		require.Equal(t, Labels{"lang": "en", "Id": w.ID}, w.Labels)
	}
	require.Equal(t, Labels{"lang": "en", "Id": "b"}, f.getWorker("b").Labels)

	// Selectors: Equal and NotEqual on Id pick by ID, though a, b and c are one class.
	j := call("j1", "q")
	j.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.Equal, Value: "b"}}
	f.take()
	f.job(j)
	require.Equal(t, []string{"b"}, f.offeredTo("j1"))
	var issued *Event
	for _, ev := range f.take() {
		if ev.Type == EvOfferIssued {
			issued = &ev
		}
	}
	require.NotNil(t, issued)
	require.Equal(t, Labels{"lang": "en", "Id": "b"}, issued.WorkerLabelMap())
	j2 := call("j2", "q")
	j2.RequestedWorkerSelectors = []Selector{{Key: "Id", Op: labels.NotEqual, Value: "a"}, {Key: "lang", Op: labels.Equal, Value: "en"}}
	f.job(j2)
	require.Equal(t, []string{"c"}, f.offeredTo("j2"), "b has its offer; c is not a")

	// Default BestWorker score: a job label Id = "c" scores c above a.
	g := newFixture(t)
	g.policy("bw", Mode{Kind: BestWorker, MinConcurrentOffers: 1, MaxConcurrentOffers: 1, Descending: true})
	g.queue("q", "bw")
	for _, id := range []string{"a", "c"} {
		w := agent(id, "q")
		w.Labels = Labels{"lang": "en"}
		g.worker(w)
	}
	bj := call("bj", "q")
	bj.Labels = Labels{"Id": "c", "lang": "en"}
	g.job(bj)
	require.Equal(t, []string{"c"}, g.offeredTo("bj"), "a is idle longer, but c matches both job labels")

	// A scoring function sees Id in a map of its own, every call.
	h := newFixture(t)
	var seen []Labels
	h.policy("fn", Mode{Kind: BestWorker, MinConcurrentOffers: 1, MaxConcurrentOffers: 1, Descending: true, Score: func(in ScoringInput) (float64, error) {
		require.Equal(t, in.WorkerID, in.WorkerLabels["Id"])
		seen = append(seen, in.WorkerLabels)
		in.WorkerLabels["lang"] = "scribbled"
		if in.WorkerLabels["Id"] == "c" {
			return 2, nil
		}
		return 1, nil
	}})
	h.queue("q", "fn")
	for _, id := range []string{"a", "c"} {
		w := agent(id, "q")
		w.Labels = Labels{"lang": "en"}
		h.worker(w)
	}
	h.job(call("fj", "q"))
	require.Equal(t, []string{"c"}, h.offeredTo("fj"))
	require.Len(t, seen, 2)
	require.Equal(t, Labels{"lang": "en", "Id": "a"}, h.getWorker("a").Labels, "the scorer's writes stay in its map")
}

// TestWorkerStateFitsItsSizeClass: B4's bytes per worker count the stored struct
// whole; one more word takes it from the 256-byte size class to the 288-byte one.
func TestWorkerStateFitsItsSizeClass(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(workerState{}), uintptr(256))
}
