package simtest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/naive"
)

// The operations: each draws its choices from its own source (s.rng) against the
// state after the last operation, then runs the command on both routers.

func (s *Sim) run(op Op) {
	switch op.Kind {
	case KindMoveTime:
		s.moveTime()
	case KindAtExpiry:
		s.atExpiry()
	case KindCreateJob:
		s.createJob()
	case KindUpdateJob:
		s.updateJob()
	case KindAccept:
		s.accept()
	case KindDecline:
		s.decline()
	case KindComplete:
		s.complete()
	case KindClose:
		s.closeJob()
	case KindCancel:
		s.cancel()
	case KindUnassign:
		s.unassign()
	case KindDeleteJob:
		s.deleteJob(s.someJobID(func(j engine.Job) bool { return j.Status.Terminal() }))
	case KindAddWorker:
		s.upsertWorker(workerIDs[op.Arg%uint32(len(workerIDs))], true)
	case KindUpsertWorker:
		s.upsertWorker(pick(s.rng, workerIDs), !s.chance(10))
	case KindDeleteWorker:
		s.deleteWorker()
	case KindAddQueue:
		s.addQueue(queueIDs[op.Arg%uint32(len(queueIDs))])
	case KindUpsertQueue:
		q := pick(s.rng, queueIDs)
		s.upsertQueue(q, pick(s.rng, policyIDs), !s.chance(4))
	case KindDeleteQueue:
		s.deleteQueue()
	case KindAddPolicy:
		id := policyIDs[op.Arg%uint32(len(policyIDs))]
		s.upsertPolicy(id, defaultMode[id], true)
	case KindUpsertPolicy:
		s.changePolicy()
	case KindDeletePolicy:
		s.deletePolicy()
	case KindRead:
		s.readSomething()
	case KindQueueStats:
		s.queueStats()
	case KindUpsertClassification:
		s.upsertClassification()
	case KindDeleteClassification:
		s.deleteClassification()
	case KindUpsertException:
		s.upsertException()
	case KindDeleteException:
		s.deleteException()
	case KindReclassify:
		s.reclassify()
	default:
		s.fail("operation", "unknown kind %v", op.Kind)
	}
}

func (s *Sim) chance(n int) bool { return s.rng.IntN(n) == 0 }

// cmdTime is the time a command is given: now, or now and then a moment in the past
// (a clock that jumped back, which both sides must treat as standing still).
func (s *Sim) cmdTime() time.Time {
	if s.chance(40) {
		return s.now.Add(-7 * time.Second)
	}
	return s.now
}

// hasOpenOffers and hasHeldJobs are what the generator looks at.
func (s *Sim) hasOpenOffers() bool {
	for _, w := range s.curWorkers {
		if len(w.Offers) > 0 {
			return true
		}
	}
	return false
}

func (s *Sim) hasHeldJobs() bool {
	for _, j := range s.curJobs {
		if j.Status == engine.JobAssigned || j.Status == engine.JobCompleted {
			return true
		}
	}
	return false
}

// ---- policies and queues ----

var defaultMode = map[string]engine.ModeKind{"p-rr": engine.RoundRobin, "p-best": engine.BestWorker, "p-idle": engine.LongestIdle}

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

func (s *Sim) randomMode(kind engine.ModeKind) engine.Mode {
	r := s.rng
	lo := pick(r, []int{1, 1, 1, 2, 3})
	hi := lo + r.IntN(4-lo)
	m := engine.Mode{Kind: kind, MinConcurrentOffers: lo, MaxConcurrentOffers: hi, BypassSelectors: s.chance(6)}
	if s.chance(5) {
		m.MinConcurrentOffers = 0 // defaults to 1
		if s.chance(2) {
			m.MaxConcurrentOffers = 0
		}
	}
	if kind == engine.BestWorker {
		m.Descending = !s.chance(4)
		switch r.IntN(5) {
		case 0:
			m.Score, m.ScoreOrigin = scoreByLevel, scoreByLevel
		case 1:
			m.Score, m.ScoreOrigin = scoreFlaky, scoreFlaky
		}
	}
	return m
}

func (s *Sim) upsertPolicy(id string, kind engine.ModeKind, valid bool) {
	p := engine.DistributionPolicy{ID: id, Name: "policy " + id,
		OfferExpiresAfter: pick(s.rng, []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute}),
		Mode:              s.randomMode(kind)}
	if !valid {
		switch s.rng.IntN(6) {
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
		case 5:
			p.Mode.MaxConcurrentOffers = -1
		}
	}
	now := s.cmdTime()
	s.both(cmd("UpsertDistributionPolicy %s", polBrief(p)),
		func(r naive.Core) (any, error) {
			v, err := r.UpsertDistributionPolicy(now, p)
			return policyView(v), err
		})
}

func polBrief(p engine.DistributionPolicy) string {
	m := p.Mode
	return fmt.Sprintf("{ID:%q Expires:%v Mode:%d Offers:%d..%d Bypass:%v Score:%s Descending:%v BatchSize:%d}",
		p.ID, p.OfferExpiresAfter, m.Kind, m.MinConcurrentOffers, m.MaxConcurrentOffers, m.BypassSelectors,
		strings.TrimPrefix(fn(m.Score), "github.com/openjobrouter/jobrouter/internal/simtest."), m.Descending, m.BatchSize)
}

// policyView makes a policy comparable: scoring functions compare by name.
type policyViewT struct {
	P                  engine.DistributionPolicy
	Score, ScoreOrigin string
}

func policyView(p engine.DistributionPolicy) policyViewT {
	v := policyViewT{P: p, Score: fn(p.Mode.Score), ScoreOrigin: fn(p.Mode.ScoreOrigin)}
	v.P.Mode.Score, v.P.Mode.ScoreOrigin = nil, nil
	return v
}

func policyViews(ps []engine.DistributionPolicy) []policyViewT {
	var out []policyViewT
	for _, p := range ps {
		out = append(out, policyView(p))
	}
	return out
}

func (s *Sim) changePolicy() {
	id := pick(s.rng, policyIDs)
	kind := defaultMode[id]
	if s.chance(4) {
		kind = pick(s.rng, []engine.ModeKind{engine.RoundRobin, engine.BestWorker, engine.LongestIdle})
	}
	s.upsertPolicy(id, kind, !s.chance(5))
}

func (s *Sim) deletePolicy() {
	id := pick(s.rng, append(policyIDs, "p-none"))
	now := s.cmdTime()
	s.both(cmd("DeleteDistributionPolicy %s", id),
		func(r naive.Core) (any, error) { return nil, r.DeleteDistributionPolicy(now, id) })
}

// addQueue creates or replaces a queue with a policy that exists.
func (s *Sim) addQueue(id string) {
	policy := "p-none"
	if len(s.curPols) > 0 {
		policy = pick(s.rng, s.curPols).ID
	}
	s.upsertQueue(id, policy, true)
}

func (s *Sim) upsertQueue(id, policyID string, valid bool) {
	q := engine.Queue{ID: id, Name: "queue " + id, DistributionPolicyID: policyID}
	if s.chance(3) {
		q.Labels = engine.Labels{"region": pick(s.rng, []string{"eu", "us"})}
	}
	if s.world.Policies && !s.chance(3) {
		q.ExceptionPolicyID = pick(s.rng, excIDs)
	}
	if !valid {
		switch s.rng.IntN(4) {
		case 0:
			q.DistributionPolicyID = "p-none"
		case 1:
			q.ExceptionPolicyID = "ep-none"
		case 2:
			q.DistributionPolicyID = ""
		case 3:
			q.Labels = engine.Labels{"Id": "other"}
		}
	}
	now := s.cmdTime()
	s.both(cmd("UpsertQueue %+v", q),
		func(r naive.Core) (any, error) { return r.UpsertQueue(now, q) })
}

func (s *Sim) deleteQueue() {
	id := pick(s.rng, append(queueIDs, "q-none"))
	now := s.cmdTime()
	s.both(cmd("DeleteQueue %s", id),
		func(r naive.Core) (any, error) { return nil, r.DeleteQueue(now, id) })
}

// ---- workers ----

func (s *Sim) randomWorker(id string) engine.Worker {
	r := s.rng
	w := engine.Worker{ID: id, Capacity: pick(r, []int{0, 1, 1, 2, 2, 3, 4}), AvailableForOffers: !s.chance(5),
		MaxConcurrentOffers: pick(r, []int{0, 0, 1, 2, 3})}
	for _, q := range s.curQueues {
		if !s.chance(3) {
			w.Queues = append(w.Queues, q.ID)
		}
	}
	for _, c := range channels {
		if !s.chance(4) {
			w.Channels = append(w.Channels, engine.ChannelConfig{ChannelID: c, CapacityCostPerJob: pick(r, []int{0, 1, 1, 1, 2}), MaxNumberOfJobs: pick(r, []int{0, 0, 1, 2})})
		}
	}
	w.Labels = engine.Labels{"level": r.IntN(10)}
	if !s.chance(3) {
		w.Labels["lang"] = pick(r, []string{"en", "fr"})
	}
	if s.chance(2) {
		w.Labels["vip"] = s.chance(2)
	}
	if s.chance(4) {
		w.Labels["rating"] = float64(r.IntN(70)-20) / 10
	}
	if s.chance(4) {
		w.Tags = engine.Labels{"team": pick(r, []string{"a", "b"})}
	}
	return w
}

func (s *Sim) curWorker(id string) (engine.Worker, bool) {
	for _, w := range s.curWorkers {
		if w.ID == id {
			return w, true
		}
	}
	return engine.Worker{}, false
}

func (s *Sim) upsertWorker(id string, valid bool) {
	var w engine.Worker
	if old, ok := s.curWorker(id); ok && !s.chance(3) {
		// Change one thing of the stored worker (read-only fields are ignored).
		w = CloneWorker(old)
		fresh := s.randomWorker(id)
		switch s.rng.IntN(7) {
		case 0, 1:
			w.AvailableForOffers = !w.AvailableForOffers || s.chance(2)
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
		w = s.randomWorker(id)
	}
	if !valid {
		switch s.rng.IntN(8) {
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
		case 7:
			w.Channels = append(w.Channels, engine.ChannelConfig{ChannelID: "video", CapacityCostPerJob: -1})
		}
	}
	now := s.cmdTime()
	s.both(cmd("UpsertWorker %v", workerBrief(w)),
		func(r naive.Core) (any, error) { return r.UpsertWorker(now, CloneWorker(w)) })
}

func (s *Sim) deleteWorker() {
	id := pick(s.rng, append(workerIDs, "w-none"))
	now := s.cmdTime()
	s.both(cmd("DeleteWorker %s", id),
		func(r naive.Core) (any, error) { return nil, r.DeleteWorker(now, id) })
}

// workerBrief formats a worker for the history.
type workerBrief engine.Worker

func (w workerBrief) String() string {
	return fmt.Sprintf("{ID:%s Avail:%v Cap:%d MaxOffers:%d Queues:%v Channels:%+v Labels:%v Tags:%v}",
		w.ID, w.AvailableForOffers, w.Capacity, w.MaxConcurrentOffers, w.Queues, w.Channels, w.Labels, w.Tags)
}

// CloneWorker returns a copy of w that shares no slice or map with it: each router
// given a command gets its own. O(size of w).
func CloneWorker(w engine.Worker) engine.Worker {
	w.Queues, w.Channels = slices.Clone(w.Queues), slices.Clone(w.Channels)
	w.Labels, w.Tags = labels.Clone(w.Labels), labels.Clone(w.Tags)
	w.Offers, w.AssignedJobs = slices.Clone(w.Offers), slices.Clone(w.AssignedJobs)
	return w
}

// ---- jobs ----

func (s *Sim) randomSelector() engine.Selector {
	r := s.rng
	low := -3
	var x engine.Selector
	switch r.IntN(5) {
	case 0, 1:
		x = engine.Selector{Key: "level", Op: pick(r, []labels.Operator{labels.Equal, labels.NotEqual, labels.LessThan,
			labels.LessThanOrEqual, labels.GreaterThan, labels.GreaterThanOrEqual}), Value: low + r.IntN(10-low)}
	case 2:
		x = engine.Selector{Key: "lang", Op: pick(r, []labels.Operator{labels.Equal, labels.NotEqual}), Value: pick(r, []string{"en", "fr"})}
	case 3:
		x = engine.Selector{Key: "vip", Op: labels.Equal, Value: true}
	case 4:
		x = engine.Selector{Key: "rating", Op: pick(r, []labels.Operator{labels.GreaterThan, labels.LessThanOrEqual}), Value: float64(10*low+r.IntN(50-10*low)) / 10}
	}
	if s.chance(3) {
		x.ExpiresAfter = pick(r, []time.Duration{20 * time.Second, 45 * time.Second, time.Minute, 5 * time.Minute})
	}
	x.Expedite = s.chance(6)
	return x
}

func (s *Sim) randomSelectors() []engine.Selector {
	var out []engine.Selector
	for range pick(s.rng, []int{0, 0, 0, 1, 1, 2}) {
		out = append(out, s.randomSelector())
	}
	return out
}

func (s *Sim) randomJobLabels() engine.Labels {
	l := engine.Labels{}
	if !s.chance(3) {
		l["lang"] = pick(s.rng, []string{"en", "fr"})
	}
	if s.chance(2) {
		l["level"] = s.rng.IntN(10)
	}
	if s.chance(4) {
		l["vip"] = true
	}
	if s.world.Policies && s.chance(2) {
		l["region"] = pick(s.rng, []string{"eu", "us", "apac"})
	}
	if len(l) == 0 && s.chance(2) {
		return nil
	}
	return l
}

func (s *Sim) randomMatchingMode() engine.MatchingMode {
	switch s.rng.IntN(12) {
	case 0:
		return engine.MatchingMode{Kind: engine.Suspend}
	case 1, 2:
		return engine.MatchingMode{Kind: engine.ScheduleAndSuspend, ScheduleAt: s.now.Add(pick(s.rng,
			[]time.Duration{-10 * time.Second, 0, 30 * time.Second, 2 * time.Minute, time.Hour}))}
	}
	return engine.MatchingMode{}
}

// anyQueueID returns a queue ID: usually one that exists.
func (s *Sim) anyQueueID() string {
	if s.chance(25) || len(s.curQueues) == 0 {
		return pick(s.rng, append(queueIDs, "", "q-none"))
	}
	return pick(s.rng, s.curQueues).ID
}

func (s *Sim) createJob() {
	r := s.rng
	if len(s.curJobs) >= maxJobs && !s.chance(5) {
		// The world is full: make room, or let time pass.
		if done := s.jobs(func(j engine.Job) bool { return j.Status.Terminal() }); len(done) > 0 {
			s.deleteJob(pick(r, done).ID)
		} else {
			s.moveTime()
		}
		return
	}
	var id string
	switch {
	case s.chance(10):
		id = "" // generated
	case s.chance(20):
		id = "n" + strconv.Itoa(1+r.IntN(40)) // may collide with generated IDs
	case s.chance(20) && s.jobSeq > 0:
		id = "j" + strconv.Itoa(1+r.IntN(s.jobSeq)) // exists, unless deleted: conflict
	default:
		s.jobSeq++
		id = "j" + strconv.Itoa(s.jobSeq)
	}
	j := engine.Job{ID: id, ChannelID: pick(r, channels), QueueID: s.anyQueueID(),
		Priority: pick(r, []int{0, 0, 1, 2, 3, -1, 5}), Labels: s.randomJobLabels(),
		RequestedWorkerSelectors: s.randomSelectors(), MatchingMode: s.randomMatchingMode()}
	if s.chance(4) {
		j.ChannelReference = "ref-" + strconv.Itoa(r.IntN(100))
	}
	if s.chance(5) {
		j.Tags = engine.Labels{"source": "web"}
	}
	if s.chance(8) {
		j.Notes = []engine.Note{{Message: "created", AddedAt: s.now}}
	}
	if s.world.Policies && s.chance(2) {
		j.ClassificationPolicyID = pick(r, classIDs)
		if s.chance(2) {
			j.QueueID = "" // the policy chooses
		}
	}
	if s.chance(30) {
		s.invalidJob(&j)
	}
	if all := s.jobs(nil); len(all) >= maxJobs {
		j.ID = pick(r, all).ID // the world is full: a conflict
	}
	now := s.cmdTime()
	s.both(cmd("CreateJob %v", jobBrief(j)),
		func(r naive.Core) (any, error) { return r.CreateJob(now, CloneJob(j)) })
}

func (s *Sim) invalidJob(j *engine.Job) {
	switch s.rng.IntN(9) {
	case 0:
		j.ChannelID = ""
	case 1:
		j.Priority = 101
	case 2:
		j.ClassificationPolicyID = "cp-none"
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
	case 8:
		j.RequestedWorkerSelectors = append(j.RequestedWorkerSelectors, engine.Selector{Key: "level", Op: "between", Value: 1})
	}
}

// jobBrief formats a job for the history.
type jobBrief engine.Job

func (j jobBrief) String() string {
	return fmt.Sprintf("{ID:%q Queue:%q Channel:%q Prio:%d Labels:%v Selectors:%+v Mode:%v Ref:%q Tags:%v Notes:%d CP:%q}",
		j.ID, j.QueueID, j.ChannelID, j.Priority, j.Labels, j.RequestedWorkerSelectors, modeBrief(j.MatchingMode), j.ChannelReference, j.Tags, len(j.Notes), j.ClassificationPolicyID)
}

func modeBrief(m engine.MatchingMode) string {
	switch m.Kind {
	case engine.QueueAndMatch:
		return "queueAndMatch"
	case engine.Suspend:
		return "suspend"
	case engine.ScheduleAndSuspend:
		return "scheduleAt" + sinceT0(m.ScheduleAt).String()
	}
	return fmt.Sprintf("mode%d", m.Kind)
}

// CloneJob is CloneWorker for a job.
func CloneJob(j engine.Job) engine.Job {
	j.RequestedWorkerSelectors = slices.Clone(j.RequestedWorkerSelectors)
	j.AttachedWorkerSelectors = slices.Clone(j.AttachedWorkerSelectors)
	j.Labels, j.Tags = labels.Clone(j.Labels), labels.Clone(j.Tags)
	j.Notes = slices.Clone(j.Notes)
	return j
}

// jobs returns the jobs after the last operation that pass pred.
func (s *Sim) jobs(pred func(engine.Job) bool) []engine.Job {
	var out []engine.Job
	for _, j := range s.curJobs {
		if pred == nil || pred(j) {
			out = append(out, j)
		}
	}
	return out
}

func (s *Sim) curJob(id string) (engine.Job, bool) {
	for _, j := range s.curJobs {
		if j.ID == id {
			return j, true
		}
	}
	return engine.Job{}, false
}

// someJobID returns a job ID: usually one that passes pred, sometimes any or none.
func (s *Sim) someJobID(pred func(engine.Job) bool) string {
	if s.chance(15) {
		return "j-none"
	}
	if js := s.jobs(pred); len(js) > 0 && !s.chance(8) {
		return pick(s.rng, js).ID
	}
	if js := s.jobs(nil); len(js) > 0 {
		return pick(s.rng, js).ID
	}
	return "j1"
}

func status(ss ...engine.JobStatus) func(engine.Job) bool {
	return func(j engine.Job) bool { return slices.Contains(ss, j.Status) }
}

func notTerminal(j engine.Job) bool { return !j.Status.Terminal() }

func (s *Sim) updateJob() {
	id := s.someJobID(notTerminal)
	cur, ok := s.curJob(id)
	if !ok {
		cur = engine.Job{ID: id, QueueID: "q1", ChannelID: "voice"}
	}
	j := CloneJob(cur) // read-only fields stay in: they are ignored
	for range 1 + s.rng.IntN(2) {
		switch s.rng.IntN(11) {
		case 0:
			j.Priority = pick(s.rng, []int{0, 1, 2, 3, -1, 5})
		case 1:
			j.Labels = s.randomJobLabels()
		case 2:
			j.RequestedWorkerSelectors = s.randomSelectors()
		case 3:
			j.QueueID = s.anyQueueID()
		case 4:
			j.ChannelID = pick(s.rng, channels)
		case 5, 6:
			j.MatchingMode = s.randomMatchingMode()
		case 7:
			j.Tags = engine.Labels{"edited": true}
			j.ChannelReference = "ref-x"
		case 8:
			j.Notes = append(j.Notes, engine.Note{Message: "edited", AddedAt: s.now})
		case 9:
			// Keep the selectors, add an expedite one.
			j.RequestedWorkerSelectors = append(j.RequestedWorkerSelectors, engine.Selector{Key: "level", Op: labels.GreaterThanOrEqual, Value: 0, Expedite: true, ExpiresAfter: 30 * time.Second})
		case 10:
			if s.world.Policies {
				j.ClassificationPolicyID = pick(s.rng, append(classIDs, ""))
			}
		}
	}
	if s.chance(30) {
		s.invalidJob(&j)
	}
	now := s.cmdTime()
	s.both(cmd("UpdateJob %v", jobBrief(j)),
		func(r naive.Core) (any, error) { return r.UpdateJob(now, CloneJob(j)) })
}

func (s *Sim) deleteJob(id string) {
	now := s.cmdTime()
	s.both(cmd("DeleteJob %s", id),
		func(r naive.Core) (any, error) { return nil, r.DeleteJob(now, id) })
}

// currentAssignment returns the assignment of a job that holds capacity, else one
// from its history, else a made-up one.
func (s *Sim) currentAssignment(jobID string) string {
	if s.chance(20) {
		return "a-none"
	}
	for _, w := range s.curWorkers {
		for _, a := range w.AssignedJobs {
			if a.JobID == jobID && !s.chance(15) {
				return a.AssignmentID
			}
		}
	}
	if j, ok := s.curJob(jobID); ok {
		ids := make([]string, 0, len(j.Assignments))
		for id := range j.Assignments {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, aid := range ids {
			if s.chance(2) {
				return aid
			}
		}
	}
	return "a-none"
}

func (s *Sim) openOffers() []engine.Offer {
	var out []engine.Offer
	for _, w := range s.curWorkers {
		out = append(out, w.Offers...)
	}
	return out
}

// someOffer returns a worker and an offer ID: usually an open offer and its worker.
func (s *Sim) someOffer() (workerID, offerID string) {
	offers := s.openOffers()
	switch {
	case len(offers) > 0 && !s.chance(10):
		o := pick(s.rng, offers)
		return o.WorkerID, o.ID
	case len(offers) > 0 && s.chance(2):
		o := pick(s.rng, offers)
		return pick(s.rng, workerIDs), o.ID // maybe another worker's
	case len(s.offerIDs) > 0 && s.chance(2):
		return pick(s.rng, workerIDs), pick(s.rng, s.offerIDs) // maybe no longer open
	}
	return pick(s.rng, workerIDs), "o-none"
}

func (s *Sim) acceptOffer(wid, oid string, now time.Time, note string) {
	s.both(cmd("AcceptOffer%s worker=%s offer=%s", note, wid, oid),
		func(r naive.Core) (any, error) {
			j, a, err := r.AcceptOffer(now, wid, oid)
			return [2]string{j, a}, err
		})
}

func (s *Sim) declineOffer(wid, oid string, now, retry time.Time, note string) {
	s.both(cmd("DeclineOffer%s worker=%s offer=%s retryAt=%v", note, wid, oid, sinceT0(retry)),
		func(r naive.Core) (any, error) { return nil, r.DeclineOffer(now, wid, oid, retry) })
}

func (s *Sim) accept() {
	wid, oid := s.someOffer()
	s.acceptOffer(wid, oid, s.cmdTime(), "")
}

func (s *Sim) decline() {
	wid, oid := s.someOffer()
	var retry time.Time
	switch s.rng.IntN(10) {
	case 0:
		retry = s.now.Add(-10 * time.Second)
	case 1:
		retry = s.now
	case 2, 3, 4, 5:
		retry = s.now.Add(time.Duration(10+s.rng.IntN(80)) * time.Second)
	case 6:
		retry = s.now.Add(5 * time.Hour)
	}
	s.declineOffer(wid, oid, s.cmdTime(), retry, "")
}

func (s *Sim) complete() {
	id := s.someJobID(status(engine.JobAssigned))
	aid := s.currentAssignment(id)
	note := pick(s.rng, []string{"", "done"})
	now := s.cmdTime()
	s.both(cmd("CompleteJob job=%s assignment=%s note=%q", id, aid, note),
		func(r naive.Core) (any, error) { return nil, r.CompleteJob(now, id, aid, note) })
}

func (s *Sim) closeJob() {
	id := s.someJobID(status(engine.JobAssigned, engine.JobCompleted))
	aid := s.currentAssignment(id)
	code, note := pick(s.rng, []string{"", "Resolved"}), pick(s.rng, []string{"", "bye"})
	var closeAt time.Time
	switch s.rng.IntN(10) {
	case 0:
		closeAt = s.now.Add(-time.Minute)
	case 1:
		closeAt = s.now
	case 2, 3, 4, 5:
		closeAt = s.now.Add(time.Duration(5+s.rng.IntN(120)) * time.Second)
	case 6:
		closeAt = s.now.Add(3 * time.Hour)
	}
	now := s.cmdTime()
	s.both(cmd("CloseJob job=%s assignment=%s code=%q note=%q closeAt=%v", id, aid, code, note, sinceT0(closeAt)),
		func(r naive.Core) (any, error) { return nil, r.CloseJob(now, id, aid, code, note, closeAt) })
	if s.desc[len(s.desc)-1].err == nil {
		s.chk.closeRequested(id, closeAt)
	}
}

func (s *Sim) cancel() {
	id := s.someJobID(notTerminal)
	code, note := pick(s.rng, []string{"", "Abandoned"}), pick(s.rng, []string{"", "gone"})
	now := s.cmdTime()
	s.both(cmd("CancelJob job=%s code=%q note=%q", id, code, note),
		func(r naive.Core) (any, error) { return nil, r.CancelJob(now, id, code, note) })
}

func (s *Sim) unassign() {
	id := s.someJobID(status(engine.JobAssigned))
	aid := s.currentAssignment(id)
	suspend := s.chance(3)
	now := s.cmdTime()
	s.both(cmd("UnassignJob job=%s assignment=%s suspend=%v", id, aid, suspend),
		func(r naive.Core) (any, error) { return r.UnassignJob(now, id, aid, suspend) })
}

// ---- time ----

// moveTime advances both sides: onto the next deadline, just before or just after
// it, by a few seconds, or by hours.
func (s *Sim) moveTime() {
	r := s.rng
	next, ok := s.e.NextDeadline()
	if ok && next.Sub(s.now) > 2*time.Hour && !s.chance(4) {
		ok = false // mostly stay near the present
	}
	var to time.Time
	switch n := r.IntN(40); {
	case ok && n < 12:
		to = next
	case ok && n < 16:
		to = next.Add(-time.Nanosecond)
	case ok && n < 20:
		to = next.Add(time.Nanosecond)
	case n < 32:
		to = s.now.Add(time.Duration(r.IntN(20)) * time.Second)
	case n < 38:
		to = s.now.Add(time.Duration(20+r.IntN(100)) * time.Second)
	default:
		to = s.now.Add(time.Duration(1+r.IntN(3)) * time.Hour)
	}
	s.advance(to)
}

func (s *Sim) advance(to time.Time) {
	if to.Before(s.now) {
		to = s.now
	}
	s.now = to
	s.both(cmd("Advance"),
		func(r naive.Core) (any, error) {
			if s.twin != nil && r == naive.Core(s.twin) {
				// One deadline at a time.
				for next, ok := s.twin.NextDeadline(); ok && !next.After(to); next, ok = s.twin.NextDeadline() {
					s.twin.Advance(next)
				}
			}
			r.Advance(to)
			return nil, nil
		})
}

// atExpiry moves the clock onto an open offer's ExpiresAt and, before the routers are
// advanced (before the timer fires), accepts or declines that offer: it is closed
// from that instant on whether or not its expiry has fired. Then it advances, as
// the shell would before its next call.
func (s *Sim) atExpiry() {
	next, ok := s.e.NextDeadline()
	var due []engine.Offer
	for _, o := range s.openOffers() {
		if ok && o.ExpiresAt.Equal(next) {
			due = append(due, o)
		}
	}
	if len(due) == 0 {
		s.moveTime()
		return
	}
	o := pick(s.rng, due)
	s.now = next
	if s.chance(2) {
		s.acceptOffer(o.WorkerID, o.ID, next, " (at its ExpiresAt, before Advance)")
	} else {
		s.declineOffer(o.WorkerID, o.ID, next, time.Time{}, " (at its ExpiresAt, before Advance)")
	}
	s.advance(next)
}

// ---- reads ----

// readSomething runs a query on both sides: gets of present and absent entities and
// filtered, paged lists.
func (s *Sim) readSomething() {
	r := s.rng
	switch r.IntN(8) {
	case 0:
		id := s.someJobID(nil)
		s.read(cmd("GetJob %s", id), func(r naive.Core) (any, error) { return r.GetJob(id) })
	case 1:
		id := pick(r, append(workerIDs, "w-none"))
		s.read(cmd("GetWorker %s", id), func(r naive.Core) (any, error) { return r.GetWorker(id) })
	case 2:
		id := pick(r, append(queueIDs, "q-none"))
		s.read(cmd("GetQueue %s", id), func(r naive.Core) (any, error) { return r.GetQueue(id) })
	case 3:
		id := pick(r, append(policyIDs, "p-none"))
		s.read(cmd("GetDistributionPolicy %s", id),
			func(r naive.Core) (any, error) { p, err := r.GetDistributionPolicy(id); return policyView(p), err })
	case 4, 5:
		f := engine.JobFilter{Limit: pick(r, []int{0, 0, 1, 3})}
		switch r.IntN(8) {
		case 0:
			f.Status = pick(r, []engine.JobStatus{engine.JobQueued, engine.JobAssigned, engine.JobCompleted, engine.JobClosed,
				engine.JobCancelled, engine.JobScheduled, engine.JobWaitingForActivation})
		case 1:
			f.Active = true
		case 2:
			f.QueueID = pick(r, queueIDs)
		case 3:
			f.ChannelID = pick(r, channels)
		case 4:
			f.ScheduledBefore = s.now.Add(time.Minute)
		case 5:
			f.ScheduledAfter = s.now
		case 6:
			f.After = "j" + strconv.Itoa(r.IntN(20))
		case 7:
			f.ClassificationPolicyID = pick(r, classIDs)
		}
		s.read(cmd("ListJobs %+v", f),
			func(r naive.Core) (any, error) { return r.ListJobs(f), nil })
	case 6:
		f := engine.WorkerFilter{Limit: pick(r, []int{0, 0, 1, 2})}
		switch r.IntN(6) {
		case 0:
			f.State = pick(r, []engine.WorkerState{engine.WorkerActive, engine.WorkerDraining, engine.WorkerInactive})
		case 1:
			f.ChannelID = pick(r, channels)
		case 2:
			f.QueueID = pick(r, queueIDs)
		case 3:
			f.HasCapacity = true
		case 4:
			f.HasCapacity, f.ChannelID = true, pick(r, channels)
		case 5:
			f.After = pick(r, workerIDs)
		}
		s.read(cmd("ListWorkers %+v", f),
			func(r naive.Core) (any, error) { return r.ListWorkers(f), nil })
	case 7:
		pg := engine.Page{After: pick(r, []string{"", "p-best", "q1"}), Limit: pick(r, []int{0, 1})}
		s.read(cmd("ListQueues+ListDistributionPolicies %+v", pg),
			func(r naive.Core) (any, error) {
				return []any{r.ListQueues(pg), policyViews(r.ListDistributionPolicies(pg))}, nil
			})
	}
}
