package naive_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/naive"
	"github.com/openjobrouter/jobrouter/internal/simtest"
)

// A differential run for the incremental matching's class and group indexes, on the
// simulator of internal/simtest (which compares the engine with this package's
// router after every command, and checks its invariants). simtest's generator gives
// every worker a "level" of 0..9 and often a "rating", so worker classes (same labels
// but "Id", same channel IDs) almost always have one member, and no selector or job
// label names "Id". Here workers draw from a few coarse labels, so that classes have
// many members (bestByClass score levels, sources() choosing the queue's own trees,
// RoundRobin over several classes), jobs select on and carry "Id", and a Score
// function tells every worker apart. Between its own commands it runs simtest's
// operations (accept, decline, complete, close, unassign, time moves, reads, invalid
// commands, …) in that world.
//
//	REVIEW_DIFF_SEEDS=2000 go test ./internal/naive -run TestReviewDifferential
//	REVIEW_DIFF_SEED=17 go test ./internal/naive -run TestReviewDifferential -v
//	REVIEW_DIFF_STEPS=2000 ...   longer runs
//	REVIEW_DIFF_STATS=1 ...      what ran
var (
	reviewWorkerIDs = []string{"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "w11"}
	reviewQueueIDs  = []string{"q1", "q2", "q3"}
	reviewPolicies  = []string{"p-rr", "p-best", "p-idle"}
)

const reviewMaxJobs = 30 // simtest's CreateJob makes room past this

// envInt returns the number in the environment variable name, else def.
func envInt(t *testing.T, name string, def int) int {
	if s, ok := os.LookupEnv(name); ok {
		_, err := fmt.Sscan(s, &def)
		require.NoError(t, err, "%s", name)
	}
	return def
}

func TestReviewDifferential(t *testing.T) {
	steps := envInt(t, "REVIEW_DIFF_STEPS", 300)
	if s := os.Getenv("REVIEW_DIFF_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err)
		runReview(t, seed, steps)
		return
	}
	seeds := envInt(t, "REVIEW_DIFF_SEEDS", 60)
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	t.Run("seeds", func(t *testing.T) {
		for seed := range uint64(seeds) {
			t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
				t.Parallel()
				runReview(t, seed, steps)
			})
		}
	})
}

// review is one run: the simulator, simtest's generator for its operations, and the
// source of this run's own choices.
type review struct {
	t      *testing.T
	seed   uint64
	s      *simtest.Sim
	g      *simtest.Generator
	rng    *rand.Rand
	jobSeq int
}

func runReview(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed^0x5eed_0f_7e71e3, 0xd1ff))
	w := simtest.World{KeepWorkersOnOfferExpiry: rng.IntN(3) == 0,
		MaxJobAge: pick(rng, []time.Duration{0, 2 * time.Hour, 6 * time.Hour, -1})}
	stats := os.Getenv("REVIEW_DIFF_STATS") != ""
	d := &review{t: t, seed: seed, s: simtest.New(w, simtest.Options{Text: true, Counts: stats}), g: simtest.NewGeneratorIn(seed, w), rng: rng}
	d.setup()
	for d.s.Step() < steps {
		d.step()
	}
	d.check(d.s.Finish())
	if stats {
		t.Logf("%v", d.s.Counts())
	}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (d *review) chance(n int) bool { return d.rng.IntN(n) == 0 }

// check stops the run at a failure, with the history before it.
func (d *review) check(f *simtest.Failure) {
	d.t.Helper()
	if f != nil {
		d.t.Fatalf("seed %d: %v\nreplay: REVIEW_DIFF_SEED=%d go test ./internal/naive -run 'TestReviewDifferential$' -v\nhistory (last lines):\n%s",
			d.seed, f, d.seed, f.Tail)
	}
}

// op runs one of simtest's operations.
func (d *review) op(k simtest.Kind) { d.check(d.s.Apply(simtest.Op{Kind: k, Arg: d.rng.Uint32()})) }

func (d *review) setup() {
	d.policy("p-rr", engine.RoundRobin)
	d.policy("p-best", engine.BestWorker)
	d.policy("p-idle", engine.LongestIdle)
	for i := range reviewQueueIDs {
		d.check(d.s.Apply(simtest.Op{Kind: simtest.KindAddQueue, Arg: uint32(i) | d.rng.Uint32()<<8}))
	}
	for _, id := range reviewWorkerIDs[:4+d.rng.IntN(len(reviewWorkerIDs)-4)] {
		d.upsertWorker(id)
	}
}

func (d *review) step() {
	switch n := d.rng.IntN(100); {
	case n < 18:
		d.createJob()
	case n < 28:
		d.upsertWorker(pick(d.rng, reviewWorkerIDs))
	case n < 30:
		d.policy(pick(d.rng, reviewPolicies), pick(d.rng, []engine.ModeKind{engine.RoundRobin, engine.BestWorker, engine.LongestIdle}))
	case n < 32:
		d.op(simtest.KindAddQueue) // a valid queue, with a policy that exists
	default:
		d.check(d.s.Apply(d.g.Next(d.s)))
	}
}

// scoreByTierAndID tells every worker apart: tier, then the worker's number.
func scoreByTierAndID(in engine.ScoringInput) (float64, error) {
	v, _ := labels.Number(in.WorkerLabels["tier"])
	n, _ := strconv.Atoi(in.WorkerID[1:])
	return 100*v + float64(n%7), nil
}

// scoreByTier ties every member of a class.
func scoreByTier(in engine.ScoringInput) (float64, error) {
	v, _ := labels.Number(in.WorkerLabels["tier"])
	return v, nil
}

func (d *review) policy(id string, kind engine.ModeKind) {
	r := d.rng
	min := pick(r, []int{0, 1, 1, 2})
	p := engine.DistributionPolicy{ID: id, Name: id, OfferExpiresAfter: pick(r, []time.Duration{time.Minute, 2 * time.Minute}),
		Mode: engine.Mode{Kind: kind, MinConcurrentOffers: min, MaxConcurrentOffers: max(min, 1) + r.IntN(2), BypassSelectors: d.chance(6)}}
	if kind == engine.BestWorker {
		p.Mode.Descending = !d.chance(4)
		switch r.IntN(4) {
		case 0:
			p.Mode.Score, p.Mode.ScoreOrigin = scoreByTierAndID, scoreByTierAndID
		case 1:
			p.Mode.Score, p.Mode.ScoreOrigin = scoreByTier, scoreByTier
		}
	}
	now := d.s.Now()
	d.check(d.s.Exec(fmt.Sprintf("UpsertDistributionPolicy %+v", p),
		func(r naive.Core) (any, error) { return r.UpsertDistributionPolicy(now, p) }))
}

func (d *review) randomWorker(id string) engine.Worker {
	r := d.rng
	w := engine.Worker{ID: id, Capacity: pick(r, []int{1, 1, 2, 3}), AvailableForOffers: !d.chance(6),
		MaxConcurrentOffers: pick(r, []int{0, 0, 0, 1, 2})}
	for _, q := range reviewQueueIDs {
		if !d.chance(3) {
			w.Queues = append(w.Queues, q)
		}
	}
	w.Channels = []engine.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: pick(r, []int{0, 1, 1, 1}), MaxNumberOfJobs: pick(r, []int{0, 0, 0, 1})}}
	if d.chance(4) {
		w.Channels = append(w.Channels, engine.ChannelConfig{ChannelID: "chat", CapacityCostPerJob: 1})
	}
	w.Labels = engine.Labels{}
	if !d.chance(4) {
		w.Labels["lang"] = pick(r, []string{"en", "fr"})
	}
	if !d.chance(3) {
		w.Labels["tier"] = pick(r, []int{1, 2})
	}
	if d.chance(8) {
		w.Labels["Id"] = id
	}
	return w
}

// upsertWorker registers a worker, or changes one thing of a registered one.
func (d *review) upsertWorker(id string) {
	w := d.randomWorker(id)
	for _, old := range d.s.Workers() {
		if old.ID != id || d.chance(3) {
			continue
		}
		fresh := w
		w = engine.Worker{ID: id, Queues: old.Queues, Capacity: old.Capacity, Channels: old.Channels, Labels: old.Labels,
			Tags: old.Tags, AvailableForOffers: old.AvailableForOffers, MaxConcurrentOffers: old.MaxConcurrentOffers}
		switch d.rng.IntN(6) {
		case 0, 1:
			w.AvailableForOffers = !w.AvailableForOffers || d.chance(2)
		case 2:
			w.Capacity = fresh.Capacity
		case 3:
			w.Queues = fresh.Queues
		case 4:
			w.Labels = fresh.Labels
		case 5:
			w.MaxConcurrentOffers = fresh.MaxConcurrentOffers
		}
	}
	now := d.s.Now()
	d.check(d.s.Exec(fmt.Sprintf("UpsertWorker %+v", w), func(r naive.Core) (any, error) {
		return r.UpsertWorker(now, simtest.CloneWorker(w)) // each side its own copy
	}))
}

func (d *review) selector() engine.Selector {
	r := d.rng
	var s engine.Selector
	switch r.IntN(6) {
	case 0, 1:
		s = engine.Selector{Key: "lang", Op: pick(r, []labels.Operator{labels.Equal, labels.Equal, labels.NotEqual}), Value: pick(r, []string{"en", "fr"})}
	case 2:
		s = engine.Selector{Key: "tier", Op: pick(r, []labels.Operator{labels.GreaterThanOrEqual, labels.LessThan, labels.Equal}), Value: pick(r, []int{1, 2})}
	case 3:
		s = engine.Selector{Key: "Id", Op: pick(r, []labels.Operator{labels.Equal, labels.NotEqual}), Value: pick(r, reviewWorkerIDs)}
	default:
		s = engine.Selector{Key: "lang", Op: labels.NotEqual, Value: "de"}
	}
	if d.chance(4) {
		s.ExpiresAfter = pick(r, []time.Duration{20 * time.Second, 45 * time.Second, 2 * time.Minute})
	}
	s.Expedite = d.chance(10)
	return s
}

func (d *review) createJob() {
	if len(d.s.Jobs()) >= reviewMaxJobs {
		d.op(simtest.KindCreateJob) // makes room
		return
	}
	r := d.rng
	d.jobSeq++
	j := engine.Job{ID: "r" + strconv.Itoa(d.jobSeq), ChannelID: pick(r, []string{"voice", "voice", "voice", "chat"}),
		QueueID: pick(r, reviewQueueIDs), Priority: pick(r, []int{1, 1, 1, 2, -1})}
	for range pick(r, []int{0, 1, 1, 2}) {
		j.RequestedWorkerSelectors = append(j.RequestedWorkerSelectors, d.selector())
	}
	if !d.chance(3) {
		j.Labels = engine.Labels{}
		if !d.chance(3) {
			j.Labels["lang"] = pick(r, []string{"en", "fr"})
		}
		if d.chance(2) {
			j.Labels["tier"] = pick(r, []int{1, 2})
		}
		if d.chance(8) {
			j.Labels["Id"] = pick(r, reviewWorkerIDs)
		}
	}
	now := d.s.Now()
	d.check(d.s.Exec(fmt.Sprintf("CreateJob %+v", j), func(r naive.Core) (any, error) {
		return r.CreateJob(now, simtest.CloneJob(j))
	}))
}
