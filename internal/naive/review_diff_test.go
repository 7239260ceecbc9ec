package naive_test

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// A second differential generator, for the incremental matching's class and group
// indexes. The main generator gives every worker a "level" of 0..9 and often a
// "rating", so worker classes (same labels but "Id", same channel IDs) almost always
// have one member, and no selector or job label names "Id". Here workers draw from a
// few coarse labels, so that classes have many members (bestByClass score levels,
// sources() choosing the queue's own trees, RoundRobin over several classes), jobs
// select on and carry "Id", and a Score function tells every worker apart.
//
//	REVIEW_DIFF_SEEDS=2000 go test ./internal/naive -run TestReviewDifferential
//	REVIEW_DIFF_SEED=17 go test ./internal/naive -run TestReviewDifferential -v
//	REVIEW_DIFF_FUTURE=1 ...   instead run commands at a time past pending deadlines,
//	                           without Advance, and decline with no RetryOfferAt
//	                           (engine TestReview_RetryPassedWithoutAdvance)
//	REVIEW_DIFF_FUTURE=2 ...   and decline with RetryOfferAt = now too (engine
//	                           TestReview_ImmediateRetryThenEarlierDeadline). Since
//	                           d9e6bcd the engine lapses a decline when its retry
//	                           deadline fires (at once when already past), while
//	                           naive.declined still compares RetryOfferAt with the
//	                           matching instant: the two differ in when the decliner
//	                           is offered again (e.g. seed 982) until naive follows.
var reviewWorkerIDs = []string{"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "w11"}

func TestReviewDifferential(t *testing.T) {
	steps := envInt(t, "NAIVE_DIFF_STEPS", defaultSteps)
	if s := os.Getenv("REVIEW_DIFF_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
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

func runReview(t *testing.T, seed uint64, steps int) {
	d := newDiff(t, seed^0x5eed_0f_7e71e3)
	d.seed = seed
	d.reviewSetup()
	future := os.Getenv("REVIEW_DIFF_FUTURE") != ""
	defer func() {
		if p := recover(); p != nil {
			var lines []string
			for _, e := range d.log[max(0, len(d.log)-150):] {
				lines = append(lines, e.String())
			}
			t.Fatalf("seed %d, step %d: panic: %v\ncommands:\n%s", seed, d.step, p, strings.Join(lines, "\n"))
		}
	}()
	for d.step = 1; d.step <= steps; d.step++ {
		d.reviewStep(future)
	}
	if os.Getenv("REVIEW_DIFF_STATS") != "" {
		t.Logf("%v", d.counts)
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

func (d *diff) reviewPolicy(id string, kind engine.ModeKind) {
	p := engine.DistributionPolicy{ID: id, Name: id, OfferExpiresAfter: pick(d.rng, []time.Duration{time.Minute, 2 * time.Minute}),
		Mode: d.randomMode(kind)}
	if kind == engine.BestWorker {
		switch d.rng.IntN(4) {
		case 0:
			p.Mode.Score, p.Mode.ScoreOrigin = scoreByTierAndID, scoreByTierAndID
		case 1:
			p.Mode.Score, p.Mode.ScoreOrigin = scoreByTier, scoreByTier
		default:
			p.Mode.Score, p.Mode.ScoreOrigin = nil, nil
		}
	}
	now := d.now
	d.both(cmd("UpsertDistributionPolicy %+v", p),
		func() (any, error) { v, err := d.e.UpsertDistributionPolicy(now, p); return viewPolicy(v), err },
		func() (any, error) { v, err := d.n.UpsertDistributionPolicy(now, p); return viewPolicy(v), err })
}

func (d *diff) reviewSetup() {
	d.reviewPolicy("p-rr", engine.RoundRobin)
	d.reviewPolicy("p-best", engine.BestWorker)
	d.reviewPolicy("p-idle", engine.LongestIdle)
	for _, q := range queueIDs {
		d.upsertQueue(q, pick(d.rng, policyIDs), true)
	}
	for _, id := range reviewWorkerIDs[:4+d.rng.IntN(len(reviewWorkerIDs)-4)] {
		d.reviewUpsertWorker(id)
	}
}

func (d *diff) reviewWorker(id string) engine.Worker {
	r := d.rng
	w := engine.Worker{ID: id, Capacity: pick(r, []int{1, 1, 2, 3}), AvailableForOffers: !d.chance(6),
		MaxConcurrentOffers: pick(r, []int{0, 0, 0, 1, 2})}
	for _, q := range queueIDs {
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

func (d *diff) reviewUpsertWorker(id string) {
	w := d.reviewWorker(id)
	if old, err := d.e.GetWorker(id); err == nil && !d.chance(3) {
		fresh := w
		w = cloneWorker(old)
		w.Offers, w.AssignedJobs = nil, nil
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
	now := d.now
	we, wn := cloneWorker(w), cloneWorker(w)
	d.both(cmd("UpsertWorker %v", workerBrief(w)),
		func() (any, error) { return d.e.UpsertWorker(now, we) },
		func() (any, error) { return d.n.UpsertWorker(now, wn) })
}

func (d *diff) reviewSelector() engine.Selector {
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

func (d *diff) reviewCreateJob() {
	if len(d.curJobs) >= maxJobs {
		d.createJob() // makes room
		return
	}
	r := d.rng
	d.jobSeq++
	j := engine.Job{ID: "j" + strconv.Itoa(d.jobSeq), ChannelID: pick(r, []string{"voice", "voice", "voice", "chat"}),
		QueueID: pick(r, queueIDs), Priority: pick(r, []int{1, 1, 1, 2, -1})}
	for range pick(r, []int{0, 1, 1, 2}) {
		j.RequestedWorkerSelectors = append(j.RequestedWorkerSelectors, d.reviewSelector())
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
	now := d.now
	je, jn := cloneJob(j), cloneJob(j)
	d.both(cmd("CreateJob %v", jobBrief(j)),
		func() (any, error) { return d.e.CreateJob(now, je) },
		func() (any, error) { return d.n.CreateJob(now, jn) })
}

func (d *diff) reviewStep(future bool) {
	r := d.rng
	switch n := r.IntN(100); {
	case n < 18:
		d.reviewCreateJob()
	case n < 28:
		d.reviewUpsertWorker(pick(r, reviewWorkerIDs))
	case n < 30:
		d.reviewPolicy(pick(r, policyIDs), pick(r, []engine.ModeKind{engine.RoundRobin, engine.BestWorker, engine.LongestIdle}))
	case n < 32:
		q := pick(r, queueIDs)
		d.upsertQueue(q, pick(r, policyIDs), true)
	case future:
		d.futureStep()
	default:
		d.randomStep()
	}
}

// futureStep runs commands at a time past pending deadlines, before any Advance.
// Its declines never carry a RetryOfferAt in the future, so that the known
// difference (TestReview_RetryPassedWithoutAdvance) stays out of the way.
func (d *diff) futureStep() {
	r := d.rng
	switch n := r.IntN(100); {
	case n < 8:
		// The next commands run at a time past the next deadline, before any Advance.
		if next, ok := d.e.NextDeadline(); ok && next.Sub(d.now) < time.Hour {
			d.now = next.Add(time.Duration(r.IntN(3)) * time.Second)
		}
	case n < 18:
		d.moveTime()
	case n < 26:
		d.createJob()
	case n < 32:
		d.updateJob()
	case n < 50:
		if offers := d.openOffers(); len(offers) > 0 {
			o := pick(r, offers)
			now := d.now
			d.both(cmd("AcceptOffer worker=%s offer=%s", o.WorkerID, o.ID),
				func() (any, error) { j, a, err := d.e.AcceptOffer(now, o.WorkerID, o.ID); return [2]string{j, a}, err },
				func() (any, error) { j, a, err := d.n.AcceptOffer(now, o.WorkerID, o.ID); return [2]string{j, a}, err })
		}
	case n < 60:
		if offers := d.openOffers(); len(offers) > 0 {
			o := pick(r, offers)
			now := d.now
			var retry time.Time
			if os.Getenv("REVIEW_DIFF_FUTURE") == "2" && d.chance(3) {
				retry = now // TestReview_ImmediateRetryThenEarlierDeadline
			}
			d.both(cmd("DeclineOffer worker=%s offer=%s retryAt=%v", o.WorkerID, o.ID, sinceT0(retry)),
				func() (any, error) { return nil, d.e.DeclineOffer(now, o.WorkerID, o.ID, retry) },
				func() (any, error) { return nil, d.n.DeclineOffer(now, o.WorkerID, o.ID, retry) })
		}
	case n < 72:
		held := d.jobs(status(engine.JobAssigned, engine.JobCompleted))
		if len(held) == 0 {
			return
		}
		j := pick(r, held)
		aid := ""
		for _, w := range d.curWorkers {
			for _, a := range w.AssignedJobs {
				if a.JobID == j.ID {
					aid = a.AssignmentID
				}
			}
		}
		now := d.now
		switch r.IntN(3) {
		case 0:
			var closeAt time.Time
			if d.chance(2) {
				closeAt = now.Add(time.Duration(5+r.IntN(60)) * time.Second)
			}
			d.both(cmd("CloseJob job=%s assignment=%s closeAt=%v", j.ID, aid, sinceT0(closeAt)),
				func() (any, error) { return nil, d.e.CloseJob(now, j.ID, aid, "", "", closeAt) },
				func() (any, error) { return nil, d.n.CloseJob(now, j.ID, aid, "", "", closeAt) })
		case 1:
			suspend := d.chance(3)
			d.both(cmd("UnassignJob job=%s assignment=%s suspend=%v", j.ID, aid, suspend),
				func() (any, error) { return d.e.UnassignJob(now, j.ID, aid, suspend) },
				func() (any, error) { return d.n.UnassignJob(now, j.ID, aid, suspend) })
		default:
			d.both(cmd("CancelJob job=%s", j.ID),
				func() (any, error) { return nil, d.e.CancelJob(now, j.ID, "", "") },
				func() (any, error) { return nil, d.n.CancelJob(now, j.ID, "", "") })
		}
	case n < 76:
		id := pick(r, reviewWorkerIDs)
		now := d.now
		d.both(cmd("DeleteWorker %s", id),
			func() (any, error) { return nil, d.e.DeleteWorker(now, id) },
			func() (any, error) { return nil, d.n.DeleteWorker(now, id) })
	case n < 80:
		if done := d.jobs(func(j engine.Job) bool { return j.Status.Terminal() }); len(done) > 0 {
			id := pick(r, done).ID
			now := d.now
			d.both(cmd("DeleteJob %s", id),
				func() (any, error) { return nil, d.e.DeleteJob(now, id) },
				func() (any, error) { return nil, d.n.DeleteJob(now, id) })
		}
	default:
		d.reviewCreateJob()
	}
}
