package engine

import (
	"math"
	"time"

	"github.com/openjobrouter/jobrouter/internal/match"
)

// match runs one matching pass when anything changed since the last one.
//
// Jobs are visited in queue order across all queues (match.Less); each takes, from
// the workers eligible for it now, up to MaxConcurrentOffers minus the offers it
// holds, chosen by its queue's distribution mode, provided that its open offers plus
// the new ones reach MinConcurrentOffers (else it waits and offers nothing). Because
// earlier jobs choose first, a worker that frees up is offered the first job in queue
// order among every queue it listens on **(ours: cross-queue fairness)**, and no
// queued job is passed over for a later one by a worker eligible for both (except
// for a job still short of its MinConcurrentOffers).
//
// O(queued jobs × workers listening on their queues); the performance issue replaces
// the scan with indexes.
func (e *Engine) match(now time.Time) {
	if !e.dirty {
		return
	}
	e.dirty = false
	if !e.anyWorkerFree() {
		return
	}
	for i := 0; i < len(e.queued); i++ {
		e.matchJob(now, e.queued[i])
	}
	// Offers issued above change nothing that a second pass could use: a worker only
	// loses capacity. The flag they set is cleared.
	e.dirty = false
}

// anyWorkerFree reports whether any worker could take an offer at all. O(workers).
func (e *Engine) anyWorkerFree() bool {
	for _, w := range e.workers {
		if w.State == WorkerActive && w.AvailableForOffers &&
			(w.MaxConcurrentOffers == 0 || len(w.offers) < w.MaxConcurrentOffers) {
			return true
		}
	}
	return false
}

func (e *Engine) matchJob(now time.Time, j *jobState) {
	q := e.queues[j.QueueID]
	pol := e.policies[q.DistributionPolicyID]
	mode := pol.Mode
	want := mode.MaxConcurrentOffers - len(j.offers)
	if want <= 0 || len(q.workers) == 0 {
		return
	}
	var cands []match.Candidate
	for _, w := range q.workers {
		if e.eligible(now, w, j, mode.BypassSelectors) {
			cands = append(cands, match.Candidate{ID: w.ID, LoadRatio: w.loadRatio(), IdleSince: w.idleSince})
		}
	}
	if len(cands) == 0 || len(j.offers)+len(cands) < mode.MinConcurrentOffers {
		return
	}
	var picked []match.Candidate
	switch mode.Kind {
	case LongestIdle:
		picked = match.LongestIdle(cands, want)
	case RoundRobin:
		picked = match.RoundRobin(cands, q.rrLast, want)
	case BestWorker:
		for i := range cands {
			cands[i].Score = e.score(mode, j, e.workers[cands[i].ID])
		}
		picked = match.Best(cands, want, mode.Descending)
	}
	// The RoundRobin cursor follows every offer made from the queue, whatever the
	// mode at the time, so that a switch to RoundRobin starts after the last worker
	// offered.
	q.rrLast = picked[len(picked)-1].ID
	for _, c := range picked {
		w := e.workers[c.ID]
		ch, _ := w.channel(j.ChannelID)
		e.issueOffer(now, j, w, ch.CapacityCostPerJob, pol.OfferExpiresAfter)
	}
}

// eligible is the full eligibility rule of a worker for a queued job (the worker
// listens on the job's queue: the caller iterates that queue's listeners).
// O(selectors + the worker's offers and holdings).
func (e *Engine) eligible(now time.Time, w *workerState, j *jobState, bypass bool) bool {
	if w.State != WorkerActive || !w.AvailableForOffers {
		return false
	}
	if w.MaxConcurrentOffers > 0 && len(w.offers) >= w.MaxConcurrentOffers {
		return false
	}
	ch, ok := w.channel(j.ChannelID)
	if !ok || w.Capacity-w.used < ch.CapacityCostPerJob {
		return false
	}
	if ch.MaxNumberOfJobs > 0 && w.onChannel(j.ChannelID) >= ch.MaxNumberOfJobs {
		return false
	}
	for _, o := range j.offers {
		if o.WorkerID == w.ID {
			return false
		}
	}
	if j.declined(w, now) {
		return false
	}
	return bypass || match.AllHold(j.reqs, w.Labels)
}

// score is BestWorker's score of w for j: the policy's scoring function, or the
// default. A scoring function that fails or panics gives the worst score.
func (e *Engine) score(mode Mode, j *jobState, w *workerState) (s float64) {
	if mode.Score == nil {
		return match.DefaultScore(j.Labels, w.Labels, j.reqs)
	}
	worst := math.Inf(-1)
	if !mode.Descending {
		worst = math.Inf(1)
	}
	defer func() {
		if recover() != nil {
			s = worst
		}
	}()
	var sel []Selector
	for _, list := range [][]Selector{j.RequestedWorkerSelectors, j.AttachedWorkerSelectors} {
		for _, x := range list {
			if !x.Expired {
				sel = append(sel, x)
			}
		}
	}
	v, err := mode.Score(ScoringInput{JobLabels: j.Labels, WorkerLabels: w.Labels, WorkerID: w.ID, Selectors: sel})
	if err != nil || math.IsNaN(v) {
		return worst
	}
	return v
}
