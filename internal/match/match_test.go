package match_test

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

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func TestLess(t *testing.T) {
	base := match.JobKey{Priority: 1, EnqueuedAt: at(10), Seq: 5}
	with := func(f func(k *match.JobKey)) match.JobKey {
		k := base
		f(&k)
		return k
	}
	tests := []struct {
		name string
		a, b match.JobKey
		want bool // Less(a, b); Less(b, a) is checked to be its opposite
	}{
		{
			name: "expedite first, whatever the priority",
			a:    with(func(k *match.JobKey) { k.Expedite = true; k.Priority = -100 }),
			b:    with(func(k *match.JobKey) { k.Priority = 100 }),
			want: true,
		},
		{
			name: "expedite first, whatever the enqueue time and seq",
			a:    with(func(k *match.JobKey) { k.Expedite = true; k.EnqueuedAt = at(99); k.Seq = 99 }),
			b:    with(func(k *match.JobKey) { k.EnqueuedAt = at(0); k.Seq = 0 }),
			want: true,
		},
		{
			name: "higher priority first",
			a:    with(func(k *match.JobKey) { k.Priority = 2; k.EnqueuedAt = at(99); k.Seq = 99 }),
			b:    with(func(k *match.JobKey) { k.Priority = 1 }),
			want: true,
		},
		{
			name: "priority among expedited",
			a:    with(func(k *match.JobKey) { k.Expedite = true; k.Priority = 2; k.Seq = 9 }),
			b:    with(func(k *match.JobKey) { k.Expedite = true; k.Priority = 1 }),
			want: true,
		},
		{
			name: "negative priority after zero",
			a:    with(func(k *match.JobKey) { k.Priority = 0; k.Seq = 9 }),
			b:    with(func(k *match.JobKey) { k.Priority = -1 }),
			want: true,
		},
		{
			name: "earlier enqueue first at equal priority",
			a:    with(func(k *match.JobKey) { k.EnqueuedAt = at(1); k.Seq = 99 }),
			b:    with(func(k *match.JobKey) { k.EnqueuedAt = at(2); k.Seq = 1 }),
			want: true,
		},
		{
			name: "one nanosecond earlier first",
			a:    with(func(k *match.JobKey) { k.EnqueuedAt = at(1); k.Seq = 99 }),
			b:    with(func(k *match.JobKey) { k.EnqueuedAt = at(1).Add(time.Nanosecond); k.Seq = 1 }),
			want: true,
		},
		{
			name: "lower seq first at equal time",
			a:    with(func(k *match.JobKey) { k.Seq = 4 }),
			b:    with(func(k *match.JobKey) { k.Seq = 5 }),
			want: true,
		},
		{
			name: "same instant in another location is equal time: seq decides",
			a:    with(func(k *match.JobKey) { k.EnqueuedAt = at(10).In(time.FixedZone("X", 7200)); k.Seq = 4 }),
			b:    with(func(k *match.JobKey) { k.Seq = 5 }),
			want: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, match.Less(tt.a, tt.b))
			require.Equal(t, !tt.want, match.Less(tt.b, tt.a))
		})
	}
	t.Run("irreflexive", func(t *testing.T) {
		require.False(t, match.Less(base, base))
	})
}

// TestLessStrictTotalOrder checks, over random keys with unique Seq, that exactly one
// of Less(a, b) and Less(b, a) holds for distinct keys, and that Less is transitive.
func TestLessStrictTotalOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	keys := make([]match.JobKey, 60)
	for i := range keys {
		keys[i] = match.JobKey{
			Expedite:   rng.IntN(4) == 0,
			Priority:   rng.IntN(3) - 1,
			EnqueuedAt: at(rng.IntN(3)),
			Seq:        uint64(rng.IntN(1000)*len(keys) + i), // unique
		}
	}
	for i, a := range keys {
		require.False(t, match.Less(a, a))
		for j, b := range keys {
			if i == j {
				continue
			}
			require.NotEqual(t, match.Less(a, b), match.Less(b, a), "exactly one of a<b, b<a: %+v %+v", a, b)
			if !match.Less(a, b) {
				continue
			}
			for _, c := range keys {
				if match.Less(b, c) {
					require.True(t, match.Less(a, c), "transitivity: %+v < %+v < %+v", a, b, c)
				}
			}
		}
	}
	// Sorting any permutation gives one answer.
	want := slices.Clone(keys)
	slices.SortFunc(want, cmpKeys)
	for range 5 {
		got := slices.Clone(keys)
		rng.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		slices.SortFunc(got, cmpKeys)
		require.Equal(t, want, got)
	}
}

func cmpKeys(a, b match.JobKey) int {
	switch {
	case match.Less(a, b):
		return -1
	case match.Less(b, a):
		return 1
	}
	return 0
}

func req(key string, op labels.Operator, v any) match.Requirement {
	return match.Requirement{Key: key, Op: op, Value: v}
}

// wl is a worker's labels without an ID: m as a label set.
func wl(m map[string]any) match.WorkerLabels { return match.WorkerLabels{Set: labels.NewSet(m, "")} }

func TestAllHold(t *testing.T) {
	worker := wl(map[string]any{"skill": "en", "level": 7, "vip": true})
	tests := []struct {
		name string
		reqs []match.Requirement
		want bool
	}{
		{"no requirements", nil, true},
		{"one holds", []match.Requirement{req("skill", labels.Equal, "en")}, true},
		{"all hold", []match.Requirement{
			req("skill", labels.Equal, "en"),
			req("level", labels.GreaterThanOrEqual, 5.0),
			req("vip", labels.NotEqual, false),
			req("missing", labels.NotEqual, "x"),
		}, true},
		{"one fails", []match.Requirement{
			req("skill", labels.Equal, "en"),
			req("level", labels.GreaterThan, 7),
		}, false},
		{"missing label fails equal", []match.Requirement{req("missing", labels.Equal, "x")}, false},
		{"missing label fails ordering", []match.Requirement{req("missing", labels.LessThan, 100)}, false},
		{"string label fails ordering", []match.Requirement{req("skill", labels.GreaterThan, 0)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, match.AllHold(tt.reqs, worker))
		})
	}
	var none match.WorkerLabels
	require.True(t, match.AllHold(nil, none))
	require.False(t, match.AllHold([]match.Requirement{req("a", labels.Equal, 1)}, none))
	require.True(t, match.AllHold([]match.Requirement{req("a", labels.NotEqual, 1)}, none))
}

// TestWorkerLabelsID: the ID is the label "Id", whatever the set holds; an empty ID
// (a class's shared labels) has no "Id".
func TestWorkerLabelsID(t *testing.T) {
	w := match.WorkerLabels{ID: "w7", Set: labels.NewSet(map[string]any{"skill": "en"}, "")}
	v, ok := w.Get("Id")
	require.True(t, ok)
	require.Equal(t, "w7", v)
	require.True(t, match.AllHold([]match.Requirement{req("Id", labels.Equal, "w7"), req("skill", labels.Equal, "en")}, w))
	require.False(t, match.AllHold([]match.Requirement{req("Id", labels.Equal, "w8")}, w))
	require.True(t, match.AllHold([]match.Requirement{req("Id", labels.NotEqual, "w8")}, w))
	require.Equal(t, 1.0, match.DefaultScore(map[string]any{"Id": "w7", "skill": "en"}, w, nil))
	require.Equal(t, 0.5, match.DefaultScore(map[string]any{"Id": "w8", "skill": "en"}, w, nil))

	require.False(t, match.AllHold([]match.Requirement{req("Id", labels.GreaterThan, 1)}, w), "the ID is a string")
	require.Equal(t, 0.0, match.DefaultScore(nil, w, []match.Requirement{req("Id", labels.GreaterThan, 1)}))
	require.Equal(t, 1.0, match.DefaultScore(nil, w, []match.Requirement{req("Id", labels.Equal, "w7")}))

	// Reading "Id" does not allocate: the ID goes to the operators as it is.
	reqs := []match.Requirement{req("Id", labels.NotEqual, "w8"), req("skill", labels.Equal, "en")}
	job := map[string]any{"Id": "w7"}
	require.Zero(t, testing.AllocsPerRun(100, func() {
		if !match.AllHold(reqs, w) || match.DefaultScore(job, w, reqs) != 1 {
			t.Fatal("wrong answer")
		}
	}))

	class := match.WorkerLabels{Set: w.Set}
	_, ok = class.Get("Id")
	require.False(t, ok)
	require.False(t, match.AllHold([]match.Requirement{req("Id", labels.Equal, "w7")}, class))
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func TestDefaultScore(t *testing.T) {
	tests := []struct {
		name      string
		jobLabels map[string]any
		worker    map[string]any
		reqs      []match.Requirement
		want      float64
	}{
		{"no parts", nil, map[string]any{"a": 1}, nil, 0},
		{"no parts, empty maps", map[string]any{}, map[string]any{}, []match.Requirement{}, 0},

		// Label part alone: the share of job labels the worker has with an equal value.
		{"labels all match", map[string]any{"a": 1, "b": "x"}, map[string]any{"a": 1.0, "b": "x", "c": 9}, nil, 1},
		{"labels half match", map[string]any{"a": 1, "b": "x"}, map[string]any{"a": 1, "b": "y"}, nil, 0.5},
		{"labels one of four", map[string]any{"a": 1, "b": 2, "c": 3, "d": 4}, map[string]any{"c": int8(3)}, nil, 0.25},
		{"labels none match", map[string]any{"a": 1}, map[string]any{"b": 1}, nil, 0},
		{"labels, worker has none", map[string]any{"a": 1}, nil, nil, 0},
		{"labels differ by kind", map[string]any{"a": "1", "b": true}, map[string]any{"a": 1, "b": 1}, nil, 0},

		// Selector part alone.
		{"equal satisfied", nil, map[string]any{"s": "en"}, []match.Requirement{req("s", labels.Equal, "en")}, 1},
		{"equal not satisfied", nil, map[string]any{"s": "fr"}, []match.Requirement{req("s", labels.Equal, "en")}, 0},
		{"equal missing", nil, nil, []match.Requirement{req("s", labels.Equal, "en")}, 0},
		{"not equal satisfied", nil, map[string]any{"s": "fr"}, []match.Requirement{req("s", labels.NotEqual, "en")}, 1},
		{"not equal missing is satisfied", nil, nil, []match.Requirement{req("s", labels.NotEqual, "en")}, 1},
		{"not equal not satisfied", nil, map[string]any{"s": "en"}, []match.Requirement{req("s", labels.NotEqual, "en")}, 0},
		{"greater than: x = (label-value)/|value|", nil, map[string]any{"n": 15},
			[]match.Requirement{req("n", labels.GreaterThan, 10)}, logistic(0.5)},
		{"greater or equal: same formula", nil, map[string]any{"n": 15},
			[]match.Requirement{req("n", labels.GreaterThanOrEqual, 10)}, logistic(0.5)},
		{"greater than, unsatisfied still scores", nil, map[string]any{"n": 5},
			[]match.Requirement{req("n", labels.GreaterThan, 10)}, logistic(-0.5)},
		{"greater than, negative value uses |value|", nil, map[string]any{"n": -5},
			[]match.Requirement{req("n", labels.GreaterThan, -10)}, logistic(0.5)},
		{"less than: x = (value-label)/|value|", nil, map[string]any{"n": 15},
			[]match.Requirement{req("n", labels.LessThan, 10)}, logistic(-0.5)},
		{"less or equal: same formula", nil, map[string]any{"n": 5},
			[]match.Requirement{req("n", labels.LessThanOrEqual, 10)}, logistic(0.5)},
		{"equal label and value: one half", nil, map[string]any{"n": 10.0},
			[]match.Requirement{req("n", labels.GreaterThanOrEqual, 10)}, 0.5},
		{"value 0, greater: x = label-value", nil, map[string]any{"n": 3},
			[]match.Requirement{req("n", labels.GreaterThan, 0)}, logistic(3)},
		{"value 0, less: x = value-label", nil, map[string]any{"n": 3},
			[]match.Requirement{req("n", labels.LessThan, 0.0)}, logistic(-3)},
		{"value 0, label 0", nil, map[string]any{"n": 0},
			[]match.Requirement{req("n", labels.GreaterThan, 0)}, 0.5},
		{"ordering, missing label", nil, nil, []match.Requirement{req("n", labels.GreaterThan, 1)}, 0},
		{"ordering, string label", nil, map[string]any{"n": "5"}, []match.Requirement{req("n", labels.GreaterThan, 1)}, 0},
		{"ordering, bool label", nil, map[string]any{"n": true}, []match.Requirement{req("n", labels.LessThan, 1)}, 0},
		{"ordering, string value", nil, map[string]any{"n": 5}, []match.Requirement{req("n", labels.LessThan, "9")}, 0},
		{"selectors are averaged", nil, map[string]any{"s": "en", "n": 15}, []match.Requirement{
			req("s", labels.Equal, "en"),
			req("s", labels.Equal, "fr"),
			req("n", labels.GreaterThan, 10),
		}, (1 + 0 + logistic(0.5)) / 3},

		// Both parts: their mean.
		{"mean of label 1 and selector 0", map[string]any{"a": 1}, map[string]any{"a": 1},
			[]match.Requirement{req("b", labels.Equal, 1)}, 0.5},
		{"mean of label 0.5 and selector part", map[string]any{"a": 1, "b": 2}, map[string]any{"a": 1, "n": 15},
			[]match.Requirement{req("n", labels.GreaterThan, 10), req("z", labels.NotEqual, 1)},
			(0.5 + (logistic(0.5)+1)/2) / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := match.DefaultScore(tt.jobLabels, wl(tt.worker), tt.reqs)
			require.InDelta(t, tt.want, got, 1e-12)
			require.GreaterOrEqual(t, got, 0.0)
			require.LessOrEqual(t, got, 1.0)
		})
	}
}

func TestDefaultScoreIsDeterministic(t *testing.T) {
	// The label part iterates a map; the result must not depend on its order.
	job := map[string]any{}
	worker := map[string]any{}
	for i := range 50 {
		job[fmt.Sprint("k", i)] = i
		if i%3 == 0 {
			worker[fmt.Sprint("k", i)] = float64(i)
		}
	}
	want := match.DefaultScore(job, wl(worker), nil)
	require.InDelta(t, 17.0/50, want, 1e-12)
	for range 20 {
		require.Equal(t, want, match.DefaultScore(job, wl(worker), nil))
	}
}

func ids(cs []match.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestLongestIdle(t *testing.T) {
	cands := func() []match.Candidate {
		return []match.Candidate{
			{ID: "e", LoadRatio: 0.5, IdleSince: at(0)},
			{ID: "d", LoadRatio: 0, IdleSince: at(30)},
			{ID: "c", LoadRatio: 0, IdleSince: at(10)},
			{ID: "b", LoadRatio: 0, IdleSince: at(10)},
			{ID: "a", LoadRatio: 0.25, IdleSince: at(5)},
			{ID: "f", LoadRatio: 0, IdleSince: at(20)},
		}
	}
	// Lowest load ratio, then longest idle (earliest IdleSince), then ID.
	all := []string{"b", "c", "f", "d", "a", "e"}
	tests := []struct {
		k    int
		want []string
	}{
		{0, []string{}},
		{1, all[:1]},
		{3, all[:3]},
		{6, all},
		{100, all},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("k=", tt.k), func(t *testing.T) {
			require.Equal(t, tt.want, ids(match.LongestIdle(cands(), tt.k)))
		})
	}
	require.Empty(t, match.LongestIdle(nil, 3))
}

func TestRoundRobin(t *testing.T) {
	cands := func() []match.Candidate {
		return []match.Candidate{{ID: "c"}, {ID: "a"}, {ID: "d"}, {ID: "b"}}
	}
	tests := []struct {
		name string
		last string
		k    int
		want []string
	}{
		{"empty last starts at lowest", "", 2, []string{"a", "b"}},
		{"starts after last", "a", 2, []string{"b", "c"}},
		{"wraps around", "c", 3, []string{"d", "a", "b"}},
		{"last is the highest", "d", 1, []string{"a"}},
		{"last gone: starts after it in ID order", "bb", 2, []string{"c", "d"}},
		{"last gone, above every ID", "z", 2, []string{"a", "b"}},
		{"last gone, below every ID", "0", 1, []string{"a"}},
		{"k equals n: every candidate once", "b", 4, []string{"c", "d", "a", "b"}},
		{"k greater than n: every candidate once", "b", 10, []string{"c", "d", "a", "b"}},
		{"k zero", "a", 0, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ids(match.RoundRobin(cands(), tt.last, tt.k)))
		})
	}
	t.Run("no candidates", func(t *testing.T) {
		require.Empty(t, match.RoundRobin(nil, "a", 3))
	})
	t.Run("successive calls cycle", func(t *testing.T) {
		last := ""
		var got []string
		for range 6 {
			p := match.RoundRobin(cands(), last, 1)
			require.Len(t, p, 1)
			last = p[0].ID
			got = append(got, last)
		}
		require.Equal(t, []string{"a", "b", "c", "d", "a", "b"}, got)
	})
}

func TestBest(t *testing.T) {
	cands := func() []match.Candidate {
		return []match.Candidate{
			{ID: "nan", Score: math.NaN(), IdleSince: at(0)},
			{ID: "low", Score: 0.1, IdleSince: at(0)},
			{ID: "high", Score: 0.9, IdleSince: at(50)},
			{ID: "mid-b", Score: 0.5, IdleSince: at(10)},
			{ID: "mid-a", Score: 0.5, IdleSince: at(10)},
			{ID: "mid-idle", Score: 0.5, IdleSince: at(5)},
		}
	}
	tests := []struct {
		name       string
		descending bool
		k          int
		want       []string
	}{
		{"descending", true, 10, []string{"high", "mid-idle", "mid-a", "mid-b", "low", "nan"}},
		{"ascending", false, 10, []string{"low", "mid-idle", "mid-a", "mid-b", "high", "nan"}},
		{"descending first two", true, 2, []string{"high", "mid-idle"}},
		{"ascending first one", false, 1, []string{"low"}},
		{"k zero", true, 0, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, ids(match.Best(cands(), tt.k, tt.descending)))
		})
	}
	t.Run("all NaN: idle then ID", func(t *testing.T) {
		cs := []match.Candidate{
			{ID: "b", Score: math.NaN(), IdleSince: at(1)},
			{ID: "c", Score: math.NaN(), IdleSince: at(0)},
			{ID: "a", Score: math.NaN(), IdleSince: at(1)},
		}
		require.Equal(t, []string{"c", "a", "b"}, ids(match.Best(cs, 3, true)))
	})
	t.Run("equal scores: longest idle then ID", func(t *testing.T) {
		cs := []match.Candidate{
			{ID: "b", Score: 1, IdleSince: at(2)},
			{ID: "a", Score: 1, IdleSince: at(2)},
			{ID: "z", Score: 1, IdleSince: at(1)},
		}
		require.Equal(t, []string{"z", "a", "b"}, ids(match.Best(cs, 3, false)))
	})
}

// TestBestNaNRanksLast pins the documented "A NaN score ranks last" against infinite
// scores (which a ScoringFunc may return), and checks that Best does not rewrite the
// caller's scores.
func TestBestNaNRanksLast(t *testing.T) {
	t.Run("descending: NaN after -Inf", func(t *testing.T) {
		cs := []match.Candidate{
			{ID: "nan", Score: math.NaN(), IdleSince: at(0)},
			{ID: "neginf", Score: math.Inf(-1), IdleSince: at(10)},
		}
		require.Equal(t, []string{"neginf", "nan"}, ids(match.Best(cs, 2, true)))
	})
	t.Run("ascending: NaN after +Inf", func(t *testing.T) {
		cs := []match.Candidate{
			{ID: "nan", Score: math.NaN(), IdleSince: at(0)},
			{ID: "posinf", Score: math.Inf(1), IdleSince: at(10)},
		}
		require.Equal(t, []string{"posinf", "nan"}, ids(match.Best(cs, 2, false)))
	})
	t.Run("scores are not rewritten", func(t *testing.T) {
		cs := []match.Candidate{{ID: "nan", Score: math.NaN()}, {ID: "one", Score: 1}}
		out := match.Best(cs, 2, true)
		require.Equal(t, "nan", out[1].ID)
		require.True(t, math.IsNaN(out[1].Score), "got %v", out[1].Score)
	})
}
