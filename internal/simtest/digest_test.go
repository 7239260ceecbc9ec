package simtest

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/naive"
)

// TestStateEncodingCoversEveryField: the state encoding, which is all the oracle's
// state comparison sees, changes when any field of any job, worker, queue or
// distribution policy changes, down to the fields of their selectors, notes,
// assignments, offers, holdings, channels and modes; it tells nil from empty, and
// 1 from 1.0. A field added to one of these types fails here until the encoding
// writes it.
func TestStateEncodingCoversEveryField(t *testing.T) {
	at := T0.Add(time.Hour)
	sel := func() engine.Selector {
		return engine.Selector{Key: "level", Op: "GreaterThan", Value: 1, ExpiresAfter: time.Minute, Expedite: true,
			Expired: true, ExpiresAt: at}
	}
	checkEncodingCovers(t, func() engine.Job {
		return engine.Job{ID: "j", ChannelID: "voice", ChannelReference: "ref", QueueID: "q", ClassificationPolicyID: "cp",
			Priority: 1, RequestedWorkerSelectors: []engine.Selector{sel()}, Labels: engine.Labels{"a": 1},
			Tags: engine.Labels{"t": "x"}, Notes: []engine.Note{{Message: "m", AddedAt: at}},
			MatchingMode: engine.MatchingMode{Kind: engine.ScheduleAndSuspend, ScheduleAt: at}, Status: engine.JobAssigned,
			CreatedAt: at, EnqueuedAt: at, ScheduledAt: at, AttachedWorkerSelectors: []engine.Selector{sel()},
			Assignments: map[string]engine.Assignment{"a1": {ID: "a1", JobID: "j", WorkerID: "w", CapacityCost: 1,
				AssignedAt: at, CompletedAt: at, ClosedAt: at}},
			DispositionCode: "done", UnassignmentCount: 1}
	}, func(j engine.Job) []byte {
		return encodeLists([]engine.Job{j}, nil, nil, nil)
	})
	checkEncodingCovers(t, func() engine.Worker {
		return engine.Worker{ID: "w", Queues: []string{"q"}, Capacity: 2,
			Channels: []engine.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1, MaxNumberOfJobs: 1}},
			Labels:   engine.Labels{"a": 1}, Tags: engine.Labels{"t": "x"}, AvailableForOffers: true, MaxConcurrentOffers: 1,
			State: engine.WorkerActive, Offers: []engine.Offer{{ID: "o", JobID: "j", WorkerID: "w", CapacityCost: 1,
				OfferedAt: at, ExpiresAt: at}},
			AssignedJobs: []engine.AssignedJob{{AssignmentID: "a", JobID: "j", CapacityCost: 1, AssignedAt: at}},
			LoadRatio:    0.5}
	}, func(w engine.Worker) []byte {
		return encodeLists(nil, []engine.Worker{w}, nil, nil)
	})
	checkEncodingCovers(t, func() engine.Queue {
		return engine.Queue{ID: "q", Name: "n", DistributionPolicyID: "p", ExceptionPolicyID: "e", Labels: engine.Labels{"a": 1}}
	}, func(q engine.Queue) []byte {
		return encodeLists(nil, nil, []engine.Queue{q}, nil)
	})
	checkEncodingCovers(t, func() engine.DistributionPolicy {
		return engine.DistributionPolicy{ID: "p", Name: "n", OfferExpiresAfter: time.Minute,
			Mode: engine.Mode{Kind: engine.BestWorker, MinConcurrentOffers: 1, MaxConcurrentOffers: 2, BypassSelectors: true,
				Score: scoreByLevel, ScoreOrigin: scoreByLevel, BatchSize: 1, Batching: true, Descending: true}}
	}, func(p engine.DistributionPolicy) []byte {
		return encodeLists(nil, nil, nil, []engine.DistributionPolicy{p})
	})

	// A scoring function compares by name; label values by type too.
	a := engine.DistributionPolicy{ID: "p", Mode: engine.Mode{Score: scoreByLevel}}
	b := a
	b.Mode.Score = scoreFlaky
	require.NotEqual(t, encodeLists(nil, nil, nil, []engine.DistributionPolicy{a}), encodeLists(nil, nil, nil, []engine.DistributionPolicy{b}))
	qa := engine.Queue{ID: "q", Labels: engine.Labels{"a": 1}}
	qb := engine.Queue{ID: "q", Labels: engine.Labels{"a": 1.0}}
	require.NotEqual(t, encodeLists(nil, nil, []engine.Queue{qa}, nil), encodeLists(nil, nil, []engine.Queue{qb}, nil))
	// The lists themselves: nil differs from empty.
	require.NotEqual(t, encodeLists(nil, nil, nil, nil), encodeLists([]engine.Job{}, nil, nil, nil))
	require.NotEqual(t, encodeLists(nil, nil, nil, nil), encodeLists(nil, []engine.Worker{}, nil, nil))
	require.NotEqual(t, encodeLists(nil, nil, nil, nil), encodeLists(nil, nil, []engine.Queue{}, nil))
	require.NotEqual(t, encodeLists(nil, nil, nil, nil), encodeLists(nil, nil, nil, []engine.DistributionPolicy{}))
}

// encodeLists encodes lists as the state comparison does, with an empty router's
// next deadline.
func encodeLists(jobs []engine.Job, workers []engine.Worker, queues []engine.Queue, pols []engine.DistributionPolicy) []byte {
	s := &Sim{}
	return s.encodeState(naive.New(engine.Config{}), jobs, workers, queues, pols, nil)
}

// checkEncodingCovers requires that changing any one leaf of mk() (every field,
// recursively through structs, the first element of slices and every map entry)
// changes enc's output, and that a slice or map set to nil encodes unlike the same
// set to empty. mk must fill every field with a non-zero value.
func checkEncodingCovers[T any](t *testing.T, mk func() T, enc func(T) []byte) {
	t.Helper()
	base := enc(mk())
	require.Equal(t, base, enc(mk()))
	typ := reflect.TypeFor[T]()
	for i := 0; ; i++ {
		v := mk()
		var nilEnc []byte
		name, ok := mutateLeaf(t, reflect.ValueOf(&v).Elem(), typ.Name(), i, func(name string) {
			nilEnc = enc(v)
		})
		if !ok {
			require.Positive(t, i, "%s: no leaves", typ.Name())
			return
		}
		require.NotEqual(t, base, enc(v), "the state encoding ignores %s", name)
		if nilEnc != nil {
			require.NotEqual(t, nilEnc, enc(v), "the state encoding does not tell nil from empty in %s", name)
		}
	}
}

// mutateLeaf changes the n-th leaf under v (in a fixed walk order) and returns its
// name. A slice or map counts as a leaf of its own, changed to empty after atNil
// sees it set to nil. It returns false when v has fewer leaves.
func mutateLeaf(t *testing.T, v reflect.Value, name string, n int, atNil func(string)) (string, bool) {
	count := 0
	var found string
	var walk func(v reflect.Value, name string) bool
	walk = func(v reflect.Value, name string) bool {
		leaf := func(change func()) bool {
			if count == n {
				change()
				found = name
				return true
			}
			count++
			return false
		}
		switch v.Kind() {
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return leaf(func() { v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Second))) })
			}
			for i := range v.NumField() {
				if walk(v.Field(i), name+"."+v.Type().Field(i).Name) {
					return true
				}
			}
			return false
		case reflect.Slice:
			require.False(t, v.IsNil() || v.Len() == 0, "%s: give it an element", name)
			if leaf(func() {
				v.Set(reflect.Zero(v.Type()))
				atNil(name)
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}) {
				return true
			}
			return walk(v.Index(0), name+"[0]")
		case reflect.Map:
			require.False(t, v.IsNil() || v.Len() == 0, "%s: give it an entry", name)
			if leaf(func() {
				v.Set(reflect.Zero(v.Type()))
				atNil(name)
				v.Set(reflect.MakeMap(v.Type()))
			}) {
				return true
			}
			for _, k := range v.MapKeys() {
				e := reflect.New(v.Type().Elem()).Elem()
				e.Set(v.MapIndex(k))
				if walk(e, name+"["+k.String()+"]") {
					v.SetMapIndex(k, e)
					return true
				}
				if leaf(func() { // the key
					v.SetMapIndex(reflect.ValueOf(k.String()+"x").Convert(k.Type()), e)
					v.SetMapIndex(k, reflect.Value{})
				}) {
					found = name + " key"
					return true
				}
			}
			return false
		case reflect.String:
			return leaf(func() { v.SetString(v.String() + "x") })
		case reflect.Int, reflect.Int64:
			return leaf(func() { v.SetInt(v.Int() + 1) })
		case reflect.Uint8:
			return leaf(func() { v.SetUint(v.Uint() + 1) })
		case reflect.Float64:
			return leaf(func() { v.SetFloat(v.Float() + 0.5) })
		case reflect.Bool:
			return leaf(func() { v.SetBool(!v.Bool()) })
		case reflect.Interface, reflect.Func:
			require.False(t, v.IsNil(), "%s: give it a value", name)
			return leaf(func() { v.Set(reflect.Zero(v.Type())) })
		}
		t.Fatalf("%s of kind %s: extend this test", name, v.Kind())
		return false
	}
	walk(v, name)
	return found, found != ""
}
