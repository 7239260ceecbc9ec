package engine

import (
	"math"
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/match"
)

// match issues every offer that the state allows, as one pass over the queued jobs
// would.
//
// The rule (the reference the naive router implements literally): jobs are visited in
// queue order across all queues (match.Less); each takes, from the workers eligible
// for it now, up to MaxConcurrentOffers minus the offers it holds, chosen by its
// queue's distribution mode, provided that its open offers plus the new ones reach
// MinConcurrentOffers (else it waits and offers nothing). Because earlier jobs choose
// first, a worker that frees up is offered the first job in queue order among every
// queue it listens on **(ours: cross-queue fairness)**, and no queued job is passed
// over for a later one by a worker eligible for both (except for a job still short of
// its MinConcurrentOffers).
//
// The engine never runs that pass in full. After every pass the state is stable: no
// queued job can take an offer. Only a gain breaks that — a job that may be eligible
// for more workers than before (gainJob: queued, requeued, an offer ended, a decline's
// retry time came, a selector expired) or a worker that may be eligible for more jobs
// (gainWorker: registered, updated, capacity or an offer slot released). A job that
// neither gained nor is eligible for a worker that gained has the same eligible
// workers as in the last stable state, minus those taken since, so the full pass
// would offer it nothing. This pass therefore visits, in queue order, just the jobs
// that gained and the jobs of the groups linked to the workers that gained (each only
// while one of those workers could still take it), and each visited job chooses among
// all its eligible workers through the class indexes, exactly as the full pass would.
//
// Cost: O(v × (log n + c)) for v visited jobs and c linked worker classes, plus the
// workers each visited job chooses among (want of them for LongestIdle and
// RoundRobin; every eligible one for BestWorker). A change of a distribution policy
// or a queue's policy runs the full pass once (dirtyAll).
func (e *Engine) match(now time.Time) {
	for e.dirtyAll || len(e.dirtyJobs) > 0 || len(e.dirtyWorkers) > 0 {
		e.pass++
		all := e.dirtyAll
		jobs, workers := e.dirtyJobs, e.dirtyWorkers
		// The lists fill again during the pass: into the buffers of the pass before.
		// They are handed over, not shared: should a pass panic (the shell recovers),
		// no buffer is left both the spare and the dirty list.
		e.dirtyAll, e.dirtyJobs, e.dirtyWorkers = false, e.spareJobs, e.spareWorkers
		e.spareJobs, e.spareWorkers = nil, nil
		if e.freeWorkers > 0 {
			if all {
				e.fullPass(now)
			} else {
				e.incrementalPass(now, jobs, workers)
			}
		}
		clear(jobs)
		clear(workers)
		e.spareJobs, e.spareWorkers = jobs[:0], workers[:0]
	}
	if e.cfg.Checks {
		if err := e.CheckIndexes(); err != nil {
			panic("engine: matching index check failed: " + err.Error())
		}
	}
}

// fullPass visits every queued job in queue order. O(q log q) to order the q queued
// jobs, plus their choices.
func (e *Engine) fullPass(now time.Time) {
	for _, j := range e.queuedJobs() {
		if e.freeWorkers == 0 {
			return
		}
		e.offerJob(now, j)
	}
}

// queuedJobs returns every queued job, in queue order across all queues.
// O(q log q).
func (e *Engine) queuedJobs() []*jobState {
	var all []*jobState
	for _, qid := range sortedKeys(e.queues) {
		e.queues[qid].order.ascend(func(j *jobState) bool {
			all = append(all, j)
			return true
		})
	}
	slices.SortFunc(all, func(a, b *jobState) int {
		if lessJob(a, b) {
			return -1
		}
		return 1
	})
	return all
}

// stream is one ordered source of jobs for the incremental pass: the dirty jobs, or
// one activated job group.
type stream struct {
	g    *jobGroup   // nil: the dirty jobs
	jobs []*jobState // the dirty jobs, sorted
	head *jobState
}

func (s *stream) next() {
	if s.g == nil {
		if len(s.jobs) == 0 {
			s.head = nil
			return
		}
		s.head, s.jobs = s.jobs[0], s.jobs[1:]
		return
	}
	after := s.head
	s.head = nil
	s.g.jobs.AscendGreaterOrEqual(after, func(j *jobState) bool {
		if j == after {
			return true
		}
		s.head = j
		return false
	})
}

func (e *Engine) incrementalPass(now time.Time, dirtyJobs []*jobState, dirtyWorkers []*workerState) {
	streams := e.streams[:0]
	defer func() {
		clear(streams)
		e.streams = streams[:0]
	}()
	if len(dirtyJobs) > 0 {
		js := dirtyJobs[:0]
		for _, j := range dirtyJobs {
			if j.group != nil {
				js = append(js, j)
			}
		}
		// A job that gained twice is listed twice (gainJob): its copies sort
		// together, and the pass visits it once (its visit mark).
		slices.SortFunc(js, func(a, b *jobState) int {
			switch {
			case a == b:
				return 0
			case lessJob(a, b):
				return -1
			}
			return 1
		})
		if len(js) > 0 {
			streams = append(streams, stream{jobs: js})
			streams[len(streams)-1].next()
		}
	}
	for _, w := range dirtyWorkers {
		if !w.inFree {
			continue
		}
		for _, c := range w.classes {
			for _, g := range c.groups {
				if g.jobs.Len() == 0 || !w.canTake(g.channel) {
					continue
				}
				if g.pass != e.pass {
					g.pass = e.pass
					g.acts = g.acts[:0]
					s := stream{g: g}
					if first, ok := g.jobs.Min(); ok {
						s.head = first
					}
					streams = append(streams, s)
				}
				g.acts = append(g.acts, w)
			}
		}
	}
	for len(streams) > 0 && e.freeWorkers > 0 {
		// The stream with the first head in queue order (few streams: a linear scan).
		bi := -1
		for i := range streams {
			s := &streams[i]
			if s.head == nil {
				continue
			}
			if bi < 0 || lessJob(s.head, streams[bi].head) {
				bi = i
			}
		}
		if bi < 0 {
			break
		}
		s := &streams[bi]
		j := s.head
		s.next()
		if j.visit == e.pass {
			continue
		}
		if s.g == nil {
			j.visit = e.pass
			e.offerJob(now, j)
			continue
		}
		// A group's job is visited only while one of the workers that activated the
		// group could take it; when none can take an offer any more, the group is done.
		q := j.inQueue
		bp := e.bypass(q)
		acts := s.g.acts[:0]
		can := false
		for _, w := range s.g.acts {
			if !w.inFree || !w.canTake(s.g.channel) {
				continue
			}
			acts = append(acts, w)
			if !can && e.eligible(w, j, bp) {
				can = true
			}
		}
		clear(s.g.acts[len(acts):])
		s.g.acts = acts
		if len(acts) == 0 {
			s.head = nil
			continue
		}
		if can {
			j.visit = e.pass
			e.offerJob(now, j)
		}
	}
	for i := range streams {
		if g := streams[i].g; g != nil {
			clear(g.acts)
			g.acts = g.acts[:0]
		}
	}
}

// offerJob lets one queued job take the offers it can: up to MaxConcurrentOffers minus
// the offers it holds, from the workers eligible for it now, chosen by its queue's
// distribution mode, provided that its open offers plus the new ones reach
// MinConcurrentOffers.
// O(c × want × log n) for c linked classes with LongestIdle and RoundRobin (plus the
// ineligible workers skipped); O(eligible workers × scoring) with BestWorker.
func (e *Engine) offerJob(now time.Time, j *jobState) {
	g := j.group
	if g == nil {
		return
	}
	q := j.inQueue
	pol := q.pol
	mode := pol.Mode
	want := mode.MaxConcurrentOffers - int(j.nOffers)
	need := max(1, mode.MinConcurrentOffers-int(j.nOffers))
	if want <= 0 {
		return
	}
	bp := mode.BypassSelectors
	cands := e.cands[:0]
	add := func(w *workerState) {
		cands = append(cands, match.Candidate{ID: w.ID, LoadRatio: w.ikey.load, IdleSince: w.idleSince})
	}
	defer func() { e.cands = cands[:0] }()
	whole, classes := e.sources(q, g)
	var picked []match.Candidate
	switch mode.Kind {
	case LongestIdle:
		// Each source contributes its first want eligible workers in LongestIdle
		// order; the first want of their union are the first want overall.
		firstEligible := func(t *workerTree) {
			n := 0
			t.ascend(func(w *workerState) bool {
				if e.eligible(w, j, bp) {
					add(w)
					n++
				}
				return n < want
			})
		}
		if whole {
			firstEligible(q.free)
		}
		for _, c := range classes {
			firstEligible(c.free)
		}
		if len(cands) < need {
			return
		}
		picked = match.LongestIdle(cands, want)
	case RoundRobin:
		// Each source contributes its first want eligible workers after the cursor
		// and its first want from the lowest ID: enough for any want in cyclic order.
		pivot := &e.pivot // a probe, so that a RoundRobin offer allocates no worker
		pivot.ID = q.rrLast
		cyclic := func(t *workerTree) {
			n := 0
			t.ascendFrom(pivot, func(w *workerState) bool {
				if w.ID > q.rrLast && e.eligible(w, j, bp) {
					add(w)
					n++
				}
				return n < want
			})
			n = 0
			t.ascendBelow(pivot, func(w *workerState) bool {
				if e.eligible(w, j, bp) {
					add(w)
					n++
				}
				return n < want
			})
			// The worker named by the cursor itself comes last in cyclic order.
			if w, ok := t.get(pivot); ok && e.eligible(w, j, bp) {
				add(w)
			}
		}
		if whole {
			cyclic(q.freeByID)
		}
		for _, c := range classes {
			cyclic(c.freeByID)
		}
		if len(cands) < need {
			return
		}
		picked = match.RoundRobin(cands, q.rrLast, want)
	case BestWorker:
		every := func(t *workerTree) {
			t.ascend(func(w *workerState) bool {
				if e.eligible(w, j, bp) {
					add(w)
				}
				return true
			})
		}
		if mode.Score == nil && !namesID(j) {
			// The default score reads only the labels that the job's labels and
			// selectors name, and none names "Id": every member of a class scores
			// alike. Score each linked class once and visit the classes from the best
			// score down, a whole score level at a time (its ties fall to idle time
			// and ID), until want workers are found.
			cands = e.bestByClass(j, g, mode, want, cands)
		} else {
			if whole {
				every(q.free)
			}
			for _, c := range classes {
				every(c.free)
			}
			for i := range cands {
				cands[i].Score = e.score(mode, j, e.workers[cands[i].ID])
			}
		}
		if len(cands) < need {
			return
		}
		picked = match.Best(cands, want, mode.Descending)
	}
	// The RoundRobin cursor follows every offer made from the queue, whatever the
	// mode at the time, so that a switch to RoundRobin starts after the last worker
	// offered.
	q.rrLast = picked[len(picked)-1].ID
	for _, c := range picked {
		w := e.workers[c.ID]
		ch, _ := w.channel(j.ChannelID())
		e.issueOffer(now, j, w, ch.CapacityCostPerJob, pol.OfferExpiresAfter)
	}
}

// namesID reports whether j's labels or active selectors name the "Id" label, which
// differs within a worker class.
func namesID(j *jobState) bool {
	if _, ok := j.Labels["Id"]; ok {
		return true
	}
	for _, r := range j.reqs() {
		if r.Key == "Id" {
			return true
		}
	}
	return false
}

// bestByClass gathers BestWorker candidates for j when every member of a class has
// the same default score: the classes linked to j's group are scored once each and
// visited from the best score down, a whole score level at a time, until at least
// want eligible workers are gathered (each scored with its class's score). Every
// worker of a better level is gathered before any of a worse one, so the best want
// among the gathered are the best want overall.
// O(c log c) for c linked classes, plus the members of the levels visited.
func (e *Engine) bestByClass(j *jobState, g *jobGroup, mode Mode, want int, cands []match.Candidate) []match.Candidate {
	type scored struct {
		c *workerClass
		s float64
	}
	ensureClassTrees(g.q)
	levels := make([]scored, 0, len(g.classes))
	for _, c := range g.classes {
		if c.nFree > 0 {
			levels = append(levels, scored{c, match.DefaultScore(j.Labels, c.matchLabels(), j.reqs())})
		}
	}
	better := func(a, b float64) bool {
		an, bn := math.IsNaN(a), math.IsNaN(b)
		if an != bn {
			return bn
		}
		if mode.Descending {
			return a > b
		}
		return a < b
	}
	slices.SortStableFunc(levels, func(a, b scored) int {
		switch {
		case better(a.s, b.s):
			return -1
		case better(b.s, a.s):
			return 1
		}
		return 0
	})
	bp := mode.BypassSelectors
	for i := 0; i < len(levels); {
		k := i
		for k < len(levels) && !better(levels[i].s, levels[k].s) && !better(levels[k].s, levels[i].s) {
			s := levels[k].s
			levels[k].c.free.ascend(func(w *workerState) bool {
				if e.eligible(w, j, bp) {
					cands = append(cands, match.Candidate{ID: w.ID, LoadRatio: w.ikey.load, IdleSince: w.idleSince, Score: s})
				}
				return true
			})
			k++
		}
		if len(cands) >= want {
			break
		}
		i = k
	}
	return cands
}

// sources picks where offerJob looks for the workers of j's group g: the queue's own
// free trees (whole) when the linked classes hold at least half of the queue's free
// workers, so that a scan in the mode's order meets an eligible worker within a few
// steps, else the linked classes' trees, merged (building them the first time:
// ensureClassTrees). O(1) when g is linked to every class of q (a job without
// selectors, say, or a queue of one class): each listener is in one class of its
// queue, so those classes hold every free listener, and the classes' trees are not
// needed. Else O(linked classes).
func (e *Engine) sources(q *queueState, g *jobGroup) (whole bool, classes []*workerClass) {
	if len(g.classes) == len(q.classList) {
		return q.free.len() > 0, nil
	}
	n := 0
	for _, c := range g.classes {
		n += c.nFree
	}
	if n == 0 {
		return false, nil
	}
	if len(g.classes) > 1 && 2*n >= q.free.len() {
		return true, nil
	}
	ensureClassTrees(q)
	return false, g.classes
}

// canTake reports whether w could take an offer on channel now, whatever the job:
// the parts of eligibility that do not depend on the job. A worker that gained but
// cannot take a job of a group's channel (its MaxNumberOfJobs there reached, say,
// while another channel is free) does not make the pass walk that group.
// O(channels).
func (w *workerState) canTake(channel string) bool {
	if w.state != phaseActive || !w.AvailableForOffers ||
		(w.MaxConcurrentOffers > 0 && int(w.nOffers) >= w.MaxConcurrentOffers) {
		return false
	}
	ch, ok := w.channel(channel)
	return ok && w.Capacity-w.used >= ch.CapacityCostPerJob &&
		(ch.MaxNumberOfJobs == 0 || w.onChannel(channel) < ch.MaxNumberOfJobs)
}

// eligible is the full eligibility rule of a worker for a queued job (the worker
// listens on the job's queue: the caller takes it from that queue's classes).
// O(channels + selectors + min(the job's offers, the worker's offers)).
func (e *Engine) eligible(w *workerState, j *jobState, bypass bool) bool {
	if !w.canTake(j.ChannelID()) {
		return false
	}
	if holdsOfferFor(w, j) {
		return false
	}
	if j.declined(w) {
		return false
	}
	return bypass || match.AllHold(j.reqs(), w.matchLabels())
}

// score is BestWorker's score of w for j: the policy's scoring function, or the
// default. A scoring function that fails or panics gives the worst score.
func (e *Engine) score(mode Mode, j *jobState, w *workerState) (s float64) {
	if mode.Score == nil {
		return match.DefaultScore(j.Labels, w.matchLabels(), j.reqs())
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
	for _, list := range [][]Selector{j.requested(), j.cold().AttachedWorkerSelectors} {
		for _, x := range list {
			if !x.Expired {
				sel = append(sel, x)
			}
		}
	}
	v, err := mode.Score(ScoringInput{JobLabels: j.Labels, WorkerLabels: WorkerLabelMap(&w.labels.Set, w.ID), WorkerID: w.ID, Selectors: sel})
	if err != nil || math.IsNaN(v) {
		return worst
	}
	return v
}

// holdsOfferFor reports whether w holds an open offer for j, looking through the
// shorter of the two lists of open offers: a job offered to a thousand workers at
// once (a large MaxConcurrentOffers) is checked against each candidate through the
// candidate's few offers, not the job's thousand. O(min(the job's offers, the
// worker's offers)).
func holdsOfferFor(w *workerState, j *jobState) bool {
	if int64(j.nOffers) <= int64(w.nOffers) {
		for o := j.offers.first; o != nil; o = o.jlinks.next {
			if o.worker == w {
				return true
			}
		}
		return false
	}
	for o := w.offers.first; o != nil; o = o.next {
		if o.job == j {
			return true
		}
	}
	return false
}
