package naive_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// The command generator of the differential test: a small random world and the
// commands, valid and not, that it draws.

var (
	queueIDs  = []string{"q1", "q2", "q3"}
	workerIDs = []string{"w1", "w2", "w3", "w4", "w5", "w6"}
	policyIDs = []string{"p-rr", "p-best", "p-idle"}
	channels  = []string{"voice", "chat"}
)

// modeChangesToRoundRobin lets a queue that offered by another mode switch to
// RoundRobin (by a queue or policy update). It is off while the engine's RoundRobin
// cursor ignores the other modes' offers (TestEngineBug_RoundRobinCursorAfterModeChange):
// turn it on once they agree. Off, queue q1 (and q3 when rrQueue says so) always
// uses RoundRobin policy p-rr, the other queues p-best or p-idle, which switch
// between BestWorker and LongestIdle only.
const modeChangesToRoundRobin = true

// policyFor picks a policy for a queue update.
func (d *diff) policyFor(queueID string) string {
	switch {
	case modeChangesToRoundRobin:
		return pick(d.rng, policyIDs)
	case d.rrQueue[queueID]:
		return "p-rr"
	}
	return pick(d.rng, []string{"p-best", "p-idle"})
}

func (d *diff) setup() {
	d.upsertPolicy("p-rr", engine.RoundRobin, true)
	d.upsertPolicy("p-best", engine.BestWorker, true)
	d.rrQueue = map[string]bool{"q1": true, "q2": false, "q3": d.chance(2)}
	nq := 2 + d.rng.IntN(2)
	for _, q := range queueIDs[:nq] {
		d.upsertQueue(q, d.policyFor(q), true)
	}
	nw := 1 + d.rng.IntN(6)
	for i := range nw {
		d.upsertWorker(workerIDs[i], true)
	}
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (d *diff) chance(n int) bool { return d.rng.IntN(n) == 0 }

// ---- policies and queues ----

// Scoring functions, named (not closures) so that they compare by identity.
func scoreByLevel(in engine.ScoringInput) (float64, error) {
	v, _ := labels.Number(in.WorkerLabels["level"])
	return v + float64(len(in.Selectors)), nil
}

func scoreFlaky(in engine.ScoringInput) (float64, error) {
	v, _ := labels.Number(in.WorkerLabels["level"])
	switch int(v) {
	case 3:
		return 0, errors.New("no score")
	case 5:
		return math.NaN(), nil
	case 7:
		panic("scoring failed")
	}
	return -v, nil
}

func (d *diff) randomMode(kind engine.ModeKind) engine.Mode {
	r := d.rng
	lo := pick(r, []int{1, 1, 1, 2, 3})
	hi := lo + r.IntN(4-lo)
	m := engine.Mode{Kind: kind, MinConcurrentOffers: lo, MaxConcurrentOffers: hi, BypassSelectors: d.chance(6)}
	if d.chance(5) {
		m.MinConcurrentOffers = 0 // defaults to 1
		if d.chance(2) {
			m.MaxConcurrentOffers = 0
		}
	}
	if kind == engine.BestWorker {
		m.Descending = !d.chance(4)
		switch r.IntN(5) {
		case 0:
			m.Score, m.ScoreOrigin = scoreByLevel, scoreByLevel
		case 1:
			m.Score, m.ScoreOrigin = scoreFlaky, scoreFlaky
		}
	}
	return m
}

func (d *diff) upsertPolicy(id string, kind engine.ModeKind, valid bool) {
	p := engine.DistributionPolicy{ID: id, Name: "policy " + id,
		OfferExpiresAfter: pick(d.rng, []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}),
		Mode:              d.randomMode(kind)}
	if !valid {
		switch d.rng.IntN(5) {
		case 0:
			p.OfferExpiresAfter = 0
		case 1:
			p.Mode.MinConcurrentOffers, p.Mode.MaxConcurrentOffers = 3, 2
		case 2:
			p.Mode.Kind = 0
		case 3:
			p.Mode.BatchSize = -1
		case 4:
			p.ID = ""
		}
	}
	now := d.cmdTime()
	d.both(cmd("UpsertDistributionPolicy %+v", p),
		func() (any, error) { v, err := d.e.UpsertDistributionPolicy(now, p); return viewPolicy(v), err },
		func() (any, error) { v, err := d.n.UpsertDistributionPolicy(now, p); return viewPolicy(v), err })
}

func (d *diff) upsertQueue(id, policyID string, valid bool) {
	q := engine.Queue{ID: id, Name: "queue " + id, DistributionPolicyID: policyID}
	if d.chance(3) {
		q.Labels = engine.Labels{"region": pick(d.rng, []string{"eu", "us"})}
	}
	if !valid {
		switch d.rng.IntN(4) {
		case 0:
			q.DistributionPolicyID = "p-none"
		case 1:
			q.ExceptionPolicyID = "ep"
		case 2:
			q.DistributionPolicyID = ""
		case 3:
			q.Labels = engine.Labels{"Id": "other"}
		}
	}
	now := d.cmdTime()
	d.both(cmd("UpsertQueue %+v", q),
		func() (any, error) { return d.e.UpsertQueue(now, q) },
		func() (any, error) { return d.n.UpsertQueue(now, q) })
}

// ---- workers ----

func (d *diff) randomWorker(id string) engine.Worker {
	r := d.rng
	w := engine.Worker{ID: id, Capacity: pick(r, []int{0, 1, 1, 2, 2, 3, 4}), AvailableForOffers: !d.chance(5),
		MaxConcurrentOffers: pick(r, []int{0, 0, 1, 2, 3})}
	for _, q := range queueIDs {
		if !d.chance(3) {
			if _, err := d.e.GetQueue(q); err == nil {
				w.Queues = append(w.Queues, q)
			}
		}
	}
	for _, c := range channels {
		if !d.chance(4) {
			w.Channels = append(w.Channels, engine.ChannelConfig{ChannelID: c, CapacityCostPerJob: pick(r, []int{0, 1, 1, 1, 2}), MaxNumberOfJobs: pick(r, []int{0, 0, 1, 2})})
		}
	}
	w.Labels = engine.Labels{"level": r.IntN(10)}
	if !d.chance(3) {
		w.Labels["lang"] = pick(r, []string{"en", "fr"})
	}
	if d.chance(2) {
		w.Labels["vip"] = d.chance(2)
	}
	if d.chance(4) {
		w.Labels["rating"] = float64(r.IntN(70)-20) / 10
	}
	if d.chance(4) {
		w.Tags = engine.Labels{"team": pick(r, []string{"a", "b"})}
	}
	return w
}

func (d *diff) upsertWorker(id string, valid bool) {
	var w engine.Worker
	if old, err := d.e.GetWorker(id); err == nil && !d.chance(3) {
		// Change one thing of the stored worker (read-only fields are ignored).
		w = old
		w.Labels = cloneLabels(old.Labels)
		w.Queues, w.Channels = slices.Clone(old.Queues), slices.Clone(old.Channels)
		fresh := d.randomWorker(id)
		switch d.rng.IntN(7) {
		case 0, 1:
			w.AvailableForOffers = !w.AvailableForOffers || d.chance(2)
		case 2:
			w.Capacity = fresh.Capacity
		case 3:
			w.Queues = fresh.Queues
		case 4:
			w.Channels = fresh.Channels
		case 5:
			w.Labels = fresh.Labels
		case 6:
			w.MaxConcurrentOffers = fresh.MaxConcurrentOffers
		}
	} else {
		w = d.randomWorker(id)
	}
	if !valid {
		switch d.rng.IntN(7) {
		case 0:
			w.Capacity = -1
		case 1:
			w.Queues = append(w.Queues, "q-none")
		case 2:
			w.Channels = append(w.Channels, engine.ChannelConfig{ChannelID: "voice"}, engine.ChannelConfig{ChannelID: "voice"})
		case 3:
			w.Labels = engine.Labels{"Id": "someone else"}
		case 4:
			w.MaxConcurrentOffers = -2
		case 5:
			w.ID = strings.Repeat("w", 300)
		case 6:
			w.Tags = engine.Labels{"bad": []int{1}}
		}
	}
	now := d.cmdTime()
	we, wn := cloneWorker(w), cloneWorker(w)
	d.both(cmd("UpsertWorker %v", workerBrief(w)),
		func() (any, error) { return d.e.UpsertWorker(now, we) },
		func() (any, error) { return d.n.UpsertWorker(now, wn) })
}

// workerBrief formats a worker for the log.
type workerBrief engine.Worker

func (w workerBrief) String() string {
	return fmt.Sprintf("{ID:%s Avail:%v Cap:%d MaxOffers:%d Queues:%v Channels:%+v Labels:%v Tags:%v}",
		w.ID, w.AvailableForOffers, w.Capacity, w.MaxConcurrentOffers, w.Queues, w.Channels, w.Labels, w.Tags)
}

func cloneWorker(w engine.Worker) engine.Worker {
	w.Queues, w.Channels = slices.Clone(w.Queues), slices.Clone(w.Channels)
	w.Labels, w.Tags = cloneLabels(w.Labels), cloneLabels(w.Tags)
	w.Offers, w.AssignedJobs = slices.Clone(w.Offers), slices.Clone(w.AssignedJobs)
	return w
}

func cloneLabels(l engine.Labels) engine.Labels {
	if l == nil {
		return nil
	}
	c := engine.Labels{}
	for k, v := range l {
		c[k] = v
	}
	return c
}

// ---- jobs ----

// negativeThresholds lets ordering selectors have negative values. It is off while
// the engine's default BestWorker score divides by |value| where SEMANTICS.md
// divides by value (TestEngineBug_ScoreNegativeThreshold): turn it on once they
// agree.
const negativeThresholds = true

func (d *diff) randomSelector() engine.Selector {
	r := d.rng
	low := 0
	if negativeThresholds {
		low = -3
	}
	var s engine.Selector
	switch r.IntN(5) {
	case 0, 1:
		s = engine.Selector{Key: "level", Op: pick(r, []labels.Operator{labels.Equal, labels.NotEqual, labels.LessThan,
			labels.LessThanOrEqual, labels.GreaterThan, labels.GreaterThanOrEqual}), Value: low + r.IntN(10-low)}
	case 2:
		s = engine.Selector{Key: "lang", Op: pick(r, []labels.Operator{labels.Equal, labels.NotEqual}), Value: pick(r, []string{"en", "fr"})}
	case 3:
		s = engine.Selector{Key: "vip", Op: labels.Equal, Value: true}
	case 4:
		s = engine.Selector{Key: "rating", Op: pick(r, []labels.Operator{labels.GreaterThan, labels.LessThanOrEqual}), Value: float64(10*low+r.IntN(50-10*low)) / 10}
	}
	if d.chance(3) {
		s.ExpiresAfter = pick(r, []time.Duration{20 * time.Second, 45 * time.Second, time.Minute, 5 * time.Minute})
	}
	s.Expedite = d.chance(6)
	return s
}

func (d *diff) randomSelectors() []engine.Selector {
	var out []engine.Selector
	for range pick(d.rng, []int{0, 0, 0, 1, 1, 2}) {
		out = append(out, d.randomSelector())
	}
	return out
}

func (d *diff) randomJobLabels() engine.Labels {
	l := engine.Labels{}
	if !d.chance(3) {
		l["lang"] = pick(d.rng, []string{"en", "fr"})
	}
	if d.chance(2) {
		l["level"] = d.rng.IntN(10)
	}
	if d.chance(4) {
		l["vip"] = true
	}
	if len(l) == 0 && d.chance(2) {
		return nil
	}
	return l
}

func (d *diff) randomMatchingMode() engine.MatchingMode {
	switch d.rng.IntN(12) {
	case 0:
		return engine.MatchingMode{Kind: engine.Suspend}
	case 1, 2:
		return engine.MatchingMode{Kind: engine.ScheduleAndSuspend, ScheduleAt: d.now.Add(pick(d.rng,
			[]time.Duration{-10 * time.Second, 0, 30 * time.Second, 2 * time.Minute, time.Hour}))}
	}
	return engine.MatchingMode{}
}

// anyQueueID returns a queue ID: usually one that exists.
func (d *diff) anyQueueID() string {
	if d.chance(25) || len(d.curQueues) == 0 {
		return pick(d.rng, append(queueIDs, "", "q-none"))
	}
	return pick(d.rng, d.curQueues).ID
}

func (d *diff) createJob() {
	r := d.rng
	if len(d.curJobs) >= maxJobs && !d.chance(5) {
		// The world is full: make room, or let time pass.
		if done := d.jobs(func(j engine.Job) bool { return j.Status.Terminal() }); len(done) > 0 {
			id := pick(r, done).ID
			now := d.cmdTime()
			d.both(cmd("DeleteJob %s", id),
				func() (any, error) { return nil, d.e.DeleteJob(now, id) },
				func() (any, error) { return nil, d.n.DeleteJob(now, id) })
		} else {
			d.moveTime()
		}
		return
	}
	var id string
	switch {
	case d.chance(10):
		id = "" // generated
	case d.chance(20):
		id = "n" + strconv.Itoa(1+r.IntN(40)) // may collide with generated IDs
	case d.chance(20) && d.jobSeq > 0:
		id = "j" + strconv.Itoa(1+r.IntN(d.jobSeq)) // exists, unless deleted: conflict
	default:
		d.jobSeq++
		id = "j" + strconv.Itoa(d.jobSeq)
	}
	j := engine.Job{ID: id, ChannelID: pick(r, channels), QueueID: d.anyQueueID(),
		Priority: pick(r, []int{0, 0, 1, 2, 3, -1, 5}), Labels: d.randomJobLabels(),
		RequestedWorkerSelectors: d.randomSelectors(), MatchingMode: d.randomMatchingMode()}
	if d.chance(4) {
		j.ChannelReference = "ref-" + strconv.Itoa(r.IntN(100))
	}
	if d.chance(5) {
		j.Tags = engine.Labels{"source": "web"}
	}
	if d.chance(8) {
		j.Notes = []engine.Note{{Message: "created", AddedAt: d.now}}
	}
	if d.chance(30) {
		d.invalidJob(&j)
	}
	if all := d.jobs(nil); len(all) >= maxJobs {
		j.ID = pick(r, all).ID // the world is full: a conflict
	}
	now := d.cmdTime()
	je, jn := cloneJob(j), cloneJob(j)
	d.both(cmd("CreateJob %v", jobBrief(j)),
		func() (any, error) { return d.e.CreateJob(now, je) },
		func() (any, error) { return d.n.CreateJob(now, jn) })
}

func (d *diff) invalidJob(j *engine.Job) {
	switch d.rng.IntN(8) {
	case 0:
		j.ChannelID = ""
	case 1:
		j.Priority = 101
	case 2:
		j.ClassificationPolicyID = "cp"
	case 3:
		j.RequestedWorkerSelectors = append(j.RequestedWorkerSelectors, engine.Selector{Key: "level", Op: labels.GreaterThan, Value: "high"})
	case 4:
		j.RequestedWorkerSelectors = append(j.RequestedWorkerSelectors, engine.Selector{Key: "level", Op: labels.Equal, Value: 1, ExpiresAfter: -time.Second})
	case 5:
		j.MatchingMode = engine.MatchingMode{Kind: engine.ScheduleAndSuspend}
	case 6:
		j.Labels = engine.Labels{"x": struct{}{}}
	case 7:
		j.RequestedWorkerSelectors = append(j.RequestedWorkerSelectors, engine.Selector{Key: "", Op: labels.Equal, Value: 1})
	}
}

// jobBrief formats a job for the log.
type jobBrief engine.Job

func (j jobBrief) String() string {
	return fmt.Sprintf("{ID:%q Queue:%q Channel:%q Prio:%d Labels:%v Selectors:%+v Mode:%+v Ref:%q Tags:%v Notes:%d CP:%q}",
		j.ID, j.QueueID, j.ChannelID, j.Priority, j.Labels, j.RequestedWorkerSelectors, j.MatchingMode, j.ChannelReference, j.Tags, len(j.Notes), j.ClassificationPolicyID)
}

func cloneJob(j engine.Job) engine.Job {
	j.RequestedWorkerSelectors = slices.Clone(j.RequestedWorkerSelectors)
	j.AttachedWorkerSelectors = slices.Clone(j.AttachedWorkerSelectors)
	j.Labels, j.Tags = cloneLabels(j.Labels), cloneLabels(j.Tags)
	j.Notes = slices.Clone(j.Notes)
	return j
}

// jobs returns the jobs after the last step (both sides hold the same).
func (d *diff) jobs(pred func(engine.Job) bool) []engine.Job {
	var out []engine.Job
	for _, j := range d.curJobs {
		if pred == nil || pred(j) {
			out = append(out, j)
		}
	}
	return out
}

// someJobID returns a job ID: usually one that passes pred, sometimes any or none.
func (d *diff) someJobID(pred func(engine.Job) bool) string {
	if d.chance(15) {
		return "j-none"
	}
	if js := d.jobs(pred); len(js) > 0 && !d.chance(8) {
		return pick(d.rng, js).ID
	}
	if js := d.jobs(nil); len(js) > 0 {
		return pick(d.rng, js).ID
	}
	return "j1"
}

func status(ss ...engine.JobStatus) func(engine.Job) bool {
	return func(j engine.Job) bool { return slices.Contains(ss, j.Status) }
}

func (d *diff) updateJob() {
	id := d.someJobID(func(j engine.Job) bool { return !j.Status.Terminal() })
	j, err := d.e.GetJob(id)
	if err != nil {
		j = engine.Job{ID: id, QueueID: "q1", ChannelID: "voice"}
	}
	j = cloneJob(j) // read-only fields stay in: they are ignored
	for range 1 + d.rng.IntN(2) {
		switch d.rng.IntN(10) {
		case 0:
			j.Priority = pick(d.rng, []int{0, 1, 2, 3, -1, 5})
		case 1:
			j.Labels = d.randomJobLabels()
		case 2:
			j.RequestedWorkerSelectors = d.randomSelectors()
		case 3:
			j.QueueID = d.anyQueueID()
		case 4:
			j.ChannelID = pick(d.rng, channels)
		case 5, 6:
			j.MatchingMode = d.randomMatchingMode()
		case 7:
			j.Tags = engine.Labels{"edited": true}
			j.ChannelReference = "ref-x"
		case 8:
			j.Notes = append(j.Notes, engine.Note{Message: "edited", AddedAt: d.now})
		case 9:
			// Keep the selectors, add an expedite one.
			j.RequestedWorkerSelectors = append(j.RequestedWorkerSelectors, engine.Selector{Key: "level", Op: labels.GreaterThanOrEqual, Value: 0, Expedite: true, ExpiresAfter: 30 * time.Second})
		}
	}
	if d.chance(30) {
		d.invalidJob(&j)
	}
	now := d.cmdTime()
	je, jn := cloneJob(j), cloneJob(j)
	d.both(cmd("UpdateJob %v", jobBrief(j)),
		func() (any, error) { return d.e.UpdateJob(now, je) },
		func() (any, error) { return d.n.UpdateJob(now, jn) })
}

// currentAssignment returns the assignment of a job that holds capacity, else one
// from its history, else a made-up one.
func (d *diff) currentAssignment(jobID string) string {
	if d.chance(20) {
		return "a-none"
	}
	for _, w := range d.curWorkers {
		for _, a := range w.AssignedJobs {
			if a.JobID == jobID && !d.chance(15) {
				return a.AssignmentID
			}
		}
	}
	if j, err := d.e.GetJob(jobID); err == nil {
		for _, aid := range sortedAssignmentIDs(j) {
			if d.chance(2) {
				return aid
			}
		}
	}
	return "a-none"
}

func sortedAssignmentIDs(j engine.Job) []string {
	var ids []string
	for id := range j.Assignments {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (d *diff) openOffers() []engine.Offer {
	var out []engine.Offer
	for _, w := range d.curWorkers {
		out = append(out, w.Offers...)
	}
	return out
}

// someOffer returns a worker and an offer ID: usually an open offer and its worker.
func (d *diff) someOffer() (workerID, offerID string) {
	offers := d.openOffers()
	switch {
	case len(offers) > 0 && !d.chance(10):
		o := pick(d.rng, offers)
		return o.WorkerID, o.ID
	case len(offers) > 0 && d.chance(2):
		o := pick(d.rng, offers)
		return pick(d.rng, workerIDs), o.ID // maybe another worker's
	case len(d.offerIDs) > 0 && d.chance(2):
		return pick(d.rng, workerIDs), pick(d.rng, d.offerIDs) // maybe no longer open
	}
	return pick(d.rng, workerIDs), "o-none"
}
