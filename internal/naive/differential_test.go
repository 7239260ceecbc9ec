package naive_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/naive"
)

// The differential test drives the engine and the naive router with the same seeded
// sequence of commands and time moves, and requires after every step the same
// returned values and errors, the same events, the same listed state and the same
// next deadline.
//
//	NAIVE_DIFF_SEEDS=5000 go test ./internal/naive -run TestDifferential   # more seeds
//	NAIVE_DIFF_STEPS=2000 ...                                              # longer runs
//	NAIVE_DIFF_SEED=123 go test ./internal/naive -run TestDifferential -v  # replay one seed
//	NAIVE_DIFF_STATS=1 go test ./internal/naive -run TestDifferential -v   # what ran
const (
	defaultSeeds = 300
	defaultSteps = 300
	maxJobs      = 30
)

var diffT0 = time.Date(2025, time.June, 2, 8, 0, 0, 0, time.UTC)

// Both routers have the same lifecycle command set.
var (
	_ naive.Core = (*engine.Engine)(nil)
	_ naive.Core = (*naive.Router)(nil)
)

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	require.NoError(t, err, "%s", name)
	return n
}

func TestDifferential(t *testing.T) {
	steps := envInt(t, "NAIVE_DIFF_STEPS", defaultSteps)
	if s := os.Getenv("NAIVE_DIFF_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		runDiff(t, seed, steps)
		return
	}
	seeds := envInt(t, "NAIVE_DIFF_SEEDS", defaultSeeds)
	// The runs allocate fast and keep little: collecting less often saves about a
	// quarter of the CPU time under -race.
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	var mu sync.Mutex
	total := map[string]int{}
	t.Run("seeds", func(t *testing.T) {
		for seed := range uint64(seeds) {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Parallel()
				counts := runDiff(t, seed, steps)
				mu.Lock()
				defer mu.Unlock()
				for k, v := range counts {
					total[k] += v
				}
			})
		}
	})
	if os.Getenv("NAIVE_DIFF_STATS") != "" {
		var lines []string
		for k, v := range total {
			lines = append(lines, fmt.Sprintf("%9d %s", v, k))
		}
		slices.Sort(lines)
		t.Logf("%d seeds × %d steps:\n%s", seeds, steps, strings.Join(lines, "\n"))
	}
}

// runDiff runs one seed and returns how many of each command and event it ran.
func runDiff(t *testing.T, seed uint64, steps int) map[string]int {
	d := newDiff(t, seed)
	d.setup()
	for d.step = 1; d.step <= steps; d.step++ {
		d.randomStep()
	}
	return d.counts
}

// diff is one differential run.
type diff struct {
	t    *testing.T
	seed uint64
	rng  *rand.Rand
	cfg  string // the configuration, for the report
	now  time.Time
	e    naive.Core // the engine
	n    naive.Core // the naive router
	step int
	log  []entry // every command so far, for the report

	rrQueue  map[string]bool // queues that always use RoundRobin (modeChangesToRoundRobin)
	jobSeq   int             // job IDs handed out by the generator
	offerIDs []string        // every offer ID seen, to try offers that are no longer open

	// The state after the last step (equal on both sides), for the generator.
	curJobs    []engine.Job
	curWorkers []engine.Worker
	curQueues  []engine.Queue
	counts     map[string]int // commands and events, for NAIVE_DIFF_STATS
}

// counterIDs is a deterministic Config.NewID: n1, n2, …
func counterIDs() func() string {
	n := 0
	return func() string {
		n++
		return "n" + strconv.Itoa(n)
	}
}

func newDiff(t *testing.T, seed uint64) *diff {
	rng := rand.New(rand.NewPCG(seed, 0xd1ff))
	cfg := engine.Config{KeepWorkersOnOfferExpiry: rng.IntN(3) == 0}
	cfg.MaxJobAge = []time.Duration{0, 2 * time.Hour, 6 * time.Hour, -1}[rng.IntN(4)]
	return newDiffWith(t, seed, rng, cfg)
}

// newDiffWith returns a differential run of the engine and the naive router, each
// with cfg and its own counter NewID.
func newDiffWith(t *testing.T, seed uint64, rng *rand.Rand, cfg engine.Config) *diff {
	d := &diff{t: t, seed: seed, rng: rng, now: diffT0, counts: map[string]int{},
		cfg: fmt.Sprintf("KeepWorkersOnOfferExpiry=%v MaxJobAge=%v MaxIDLength=%d", cfg.KeepWorkersOnOfferExpiry, cfg.MaxJobAge, cfg.MaxIDLength)}
	ce, cn := cfg, cfg
	ce.NewID, cn.NewID = counterIDs(), counterIDs()
	ce.Checks = true
	d.e, d.n = engine.New(ce), naive.New(cn)
	return d
}

// fail reports a difference with everything needed to replay it.
func (d *diff) fail(what string, eng, nv any) {
	d.t.Helper()
	var lines []string
	for _, e := range d.log[max(0, len(d.log)-400):] {
		lines = append(lines, e.String())
	}
	msg := fmt.Sprintf("seed %d, step %d: %s differs (expected = engine, actual = naive)\nconfig: %s\nreplay: NAIVE_DIFF_SEED=%d go test ./internal/naive -run 'TestDifferential$' -v\ncommands:\n%s",
		d.seed, d.step, what, d.cfg, d.seed, strings.Join(lines, "\n"))
	require.Equal(d.t, eng, nv, msg)
	d.t.Fatalf("%s\n(equal by reflect.DeepEqual: the hand-written comparison disagrees)", msg)
}

// entry is one logged command, formatted only when a report needs it.
type entry struct {
	step   int
	at     time.Duration
	format string
	args   []any
	err    error
}

func (e entry) String() string {
	s := fmt.Sprintf("%3d +%-12v ", e.step, e.at) + fmt.Sprintf(e.format, e.args...)
	if e.err != nil {
		s += "\n                  -> " + e.err.Error()
	}
	return s
}

// cmd describes a command for the log.
func cmd(format string, args ...any) entry { return entry{format: format, args: args} }

// errView is what must match of an error: its code, entity and ID.
type errView struct {
	IsEngineError bool
	Code          engine.Code
	Entity, ID    string
}

func viewErr(err error) *errView {
	if err == nil {
		return nil
	}
	var ee *engine.Error
	if !errors.As(err, &ee) {
		return &errView{}
	}
	return &errView{IsEngineError: true, Code: ee.Code, Entity: ee.Entity, ID: ee.ID}
}

// policyView makes a policy comparable: Score functions compare by identity.
type policyView struct {
	P                  engine.DistributionPolicy
	Score, ScoreOrigin uintptr
}

func viewPolicy(p engine.DistributionPolicy) policyView {
	v := policyView{P: p}
	if p.Mode.Score != nil {
		v.Score = reflect.ValueOf(p.Mode.Score).Pointer()
	}
	if p.Mode.ScoreOrigin != nil {
		v.ScoreOrigin = reflect.ValueOf(p.Mode.ScoreOrigin).Pointer()
	}
	v.P.Mode.Score, v.P.Mode.ScoreOrigin = nil, nil
	return v
}

func viewPolicies(ps []engine.DistributionPolicy) []policyView {
	var out []policyView
	for _, p := range ps {
		out = append(out, viewPolicy(p))
	}
	return out
}

// result is one command's outcome on one side.
type result struct {
	Value any
	Err   *errView
}

// both runs a command on each side, then checks the outcome, the events and the state.
func (d *diff) both(c entry, onEngine, onNaive func() (any, error)) {
	d.t.Helper()
	c.step, c.at = d.step, d.now.Sub(diffT0)
	d.log = append(d.log, c)
	ve, errE := onEngine()
	vn, errN := onNaive()
	re, rn := result{ve, viewErr(errE)}, result{vn, viewErr(errN)}
	if !reflect.DeepEqual(re, rn) {
		d.fail("the result", re, rn)
	}
	d.log[len(d.log)-1].err = errE
	name, _, _ := strings.Cut(c.format, " ")
	if errE != nil {
		name += " (error)"
	}
	d.counts[name]++
	d.compareState()
}

func (d *diff) compareState() {
	d.t.Helper()
	ee, en := d.e.TakeEvents(), d.n.TakeEvents()
	if !reflect.DeepEqual(ee, en) {
		d.fail("the events", ee, en)
	}
	for _, ev := range ee {
		d.counts["event "+string(ev.Type)]++
		if ev.OfferID != "" && ev.Type == engine.EvOfferIssued {
			d.offerIDs = append(d.offerIDs, ev.OfferID)
		}
	}
	if a, b := d.e.ListJobs(engine.JobFilter{}), d.n.ListJobs(engine.JobFilter{}); !slices.EqualFunc(a, b, equalJobs) || (a == nil) != (b == nil) {
		d.fail("ListJobs", a, b)
	} else {
		d.curJobs = a
	}
	if a, b := d.e.ListWorkers(engine.WorkerFilter{}), d.n.ListWorkers(engine.WorkerFilter{}); !slices.EqualFunc(a, b, equalWorkers) || (a == nil) != (b == nil) {
		d.fail("ListWorkers", a, b)
	} else {
		d.curWorkers = a
	}
	if a, b := d.e.ListQueues(engine.Page{}), d.n.ListQueues(engine.Page{}); !slices.EqualFunc(a, b, equalQueues) || (a == nil) != (b == nil) {
		d.fail("ListQueues", a, b)
	} else {
		d.curQueues = a
	}
	if a, b := viewPolicies(d.e.ListDistributionPolicies(engine.Page{})), viewPolicies(d.n.ListDistributionPolicies(engine.Page{})); !reflect.DeepEqual(a, b) {
		d.fail("ListDistributionPolicies", a, b)
	}
	te, oke := d.e.NextDeadline()
	tn, okn := d.n.NextDeadline()
	if !te.Equal(tn) || oke != okn {
		d.fail("NextDeadline", fmt.Sprint(te, oke), fmt.Sprint(tn, okn))
	}
}

// equalJobs, equalWorkers and equalQueues are reflect.DeepEqual written out, because
// comparing the whole state after every step is most of the test's time (and far
// more under -race). TestEqualFuncsCoverEveryField keeps them complete.
func equalJobs(a, b engine.Job) bool {
	return a.ID == b.ID && a.ChannelID == b.ChannelID && a.ChannelReference == b.ChannelReference &&
		a.QueueID == b.QueueID && a.ClassificationPolicyID == b.ClassificationPolicyID && a.Priority == b.Priority &&
		equalSlices(a.RequestedWorkerSelectors, b.RequestedWorkerSelectors) && equalMaps(a.Labels, b.Labels) &&
		equalMaps(a.Tags, b.Tags) && equalSlices(a.Notes, b.Notes) && a.MatchingMode == b.MatchingMode &&
		a.Status == b.Status && a.CreatedAt == b.CreatedAt && a.EnqueuedAt == b.EnqueuedAt && a.ScheduledAt == b.ScheduledAt &&
		equalSlices(a.AttachedWorkerSelectors, b.AttachedWorkerSelectors) && equalMaps(a.Assignments, b.Assignments) &&
		a.DispositionCode == b.DispositionCode && a.UnassignmentCount == b.UnassignmentCount
}

func equalWorkers(a, b engine.Worker) bool {
	return a.ID == b.ID && equalSlices(a.Queues, b.Queues) && a.Capacity == b.Capacity &&
		equalSlices(a.Channels, b.Channels) && equalMaps(a.Labels, b.Labels) && equalMaps(a.Tags, b.Tags) &&
		a.AvailableForOffers == b.AvailableForOffers && a.MaxConcurrentOffers == b.MaxConcurrentOffers &&
		a.State == b.State && equalSlices(a.Offers, b.Offers) && equalSlices(a.AssignedJobs, b.AssignedJobs) &&
		a.LoadRatio == b.LoadRatio
}

func equalQueues(a, b engine.Queue) bool {
	return a.ID == b.ID && a.Name == b.Name && a.DistributionPolicyID == b.DistributionPolicyID &&
		a.ExceptionPolicyID == b.ExceptionPolicyID && equalMaps(a.Labels, b.Labels)
}

// equalSlices and equalMaps are reflect.DeepEqual for slices and maps of comparable
// values (label values are scalars): nil differs from empty.
func equalSlices[T comparable](a, b []T) bool { return (a == nil) == (b == nil) && slices.Equal(a, b) }

func equalMaps[V comparable](a, b map[string]V) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// cmdTime is the time a command is given: now, or now and then a moment in the past
// (a clock that jumped back, which both sides must treat as standing still).
func (d *diff) cmdTime() time.Time {
	if d.rng.IntN(40) == 0 {
		return d.now.Add(-7 * time.Second)
	}
	return d.now
}

// TestEqualFuncsCoverEveryField checks that each hand-written equality notices a
// change of any field, and agrees with reflect.DeepEqual.
func TestEqualFuncsCoverEveryField(t *testing.T) {
	labelsA := engine.Labels{"a": 1}
	checkEveryField(t, equalJobs, engine.Job{ID: "j", Labels: labelsA, Tags: engine.Labels{},
		Assignments: map[string]engine.Assignment{"x": {ID: "x"}}, RequestedWorkerSelectors: []engine.Selector{{Key: "k", Value: 1}},
		AttachedWorkerSelectors: []engine.Selector{}, Notes: []engine.Note{{Message: "m"}}})
	checkEveryField(t, equalWorkers, engine.Worker{ID: "w", Queues: []string{"q"}, Channels: []engine.ChannelConfig{},
		Labels: labelsA, Tags: engine.Labels{}, Offers: []engine.Offer{{ID: "o"}}, AssignedJobs: []engine.AssignedJob{}})
	checkEveryField(t, equalQueues, engine.Queue{ID: "q", Labels: labelsA})

	// nil and empty differ, and so do 1 and 1.0, as for reflect.DeepEqual.
	a := engine.Job{ID: "j", Labels: labelsA}
	b := a
	b.Notes = []engine.Note{}
	require.False(t, equalJobs(a, b))
	b = a
	b.Labels = engine.Labels{"a": 1.0}
	require.False(t, equalJobs(a, b))
}

// checkEveryField requires eq(a, a), and !eq(a, b) for each b that differs from a in
// one field (a's maps and slices must be non-nil).
func checkEveryField[T any](t *testing.T, eq func(a, b T) bool, a T) {
	t.Helper()
	require.True(t, eq(a, a))
	typ := reflect.TypeFor[T]()
	for i := range typ.NumField() {
		b := a
		f := reflect.ValueOf(&b).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Int, reflect.Uint8:
			if f.CanInt() {
				f.SetInt(f.Int() + 1)
			} else {
				f.SetUint(f.Uint() + 1)
			}
		case reflect.Float64:
			f.SetFloat(f.Float() + 0.5)
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Slice, reflect.Map:
			require.False(t, f.IsNil(), "%s.%s: give it a non-nil value", typ.Name(), typ.Field(i).Name)
			f.Set(reflect.Zero(f.Type()))
		case reflect.Struct:
			if f.Type() == reflect.TypeFor[time.Time]() {
				f.Set(reflect.ValueOf(diffT0))
			} else {
				f.Set(reflect.ValueOf(engine.MatchingMode{Kind: engine.Suspend}))
			}
		default:
			t.Fatalf("%s.%s of kind %s: extend this test", typ.Name(), typ.Field(i).Name, f.Kind())
		}
		require.False(t, eq(a, b), "%s.%s", typ.Name(), typ.Field(i).Name)
		require.False(t, reflect.DeepEqual(a, b))
	}
}
