package naive

import (
	"maps"
	"math"
	"sort"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// queueOrder returns every queued job, across all queues, in queue order: an active
// expedite selector first, then higher priority, then earlier EnqueuedAt, then
// creation order (so the map's iteration order does not matter).
func (r *Router) queueOrder() []*job {
	var out []*job
	expedite := map[*job]bool{}
	for _, j := range r.open {
		if j.Status == engine.JobQueued {
			out = append(out, j)
			expedite[j] = j.expedite()
		}
	}
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if expedite[x] != expedite[y] {
			return expedite[x]
		}
		if x.Priority != y.Priority {
			return x.Priority > y.Priority
		}
		if !x.EnqueuedAt.Equal(y.EnqueuedAt) {
			return x.EnqueuedAt.Before(y.EnqueuedAt)
		}
		return x.seq < y.seq
	})
	return out
}

// match runs one matching pass at now: each queued job in queue order takes, from the
// workers eligible for it, up to its policy's MaxConcurrentOffers minus the offers it
// holds, chosen by the distribution mode, provided it then holds at least
// MinConcurrentOffers; otherwise it waits and is offered to no one.
func (r *Router) match(now time.Time) {
	for _, j := range r.queueOrder() {
		r.matchJob(now, j)
	}
}

// candidate is an eligible worker as a distribution mode sees it.
type candidate struct {
	w         *worker
	loadRatio float64
	score     float64
}

func (r *Router) matchJob(now time.Time, j *job) {
	q := r.queues[j.QueueID]
	pol := r.policies[q.DistributionPolicyID]
	mode := pol.Mode
	held := len(r.jobOffers(j.ID))
	want := mode.MaxConcurrentOffers - held
	if want <= 0 {
		return
	}
	cands := r.scratch[:0]
	defer func() { clear(cands); r.scratch = cands[:0] }() // holding no worker
	for _, w := range r.byID {
		if w.listens(q.ID) && r.eligible(now, w, j, mode.BypassSelectors) {
			cands = append(cands, candidate{w: w, loadRatio: r.loadRatio(w)})
		}
	}
	if len(cands) == 0 || held+len(cands) < mode.MinConcurrentOffers {
		return
	}
	var picked []candidate
	switch mode.Kind {
	case engine.LongestIdle:
		picked = best(cands, want, idler)
	case engine.RoundRobin:
		// cands is in ID order: start after the last worker this queue offered a
		// job to, by whatever mode (SEMANTICS.md).
		start := 0
		for start < len(cands) && cands[start].w.ID <= q.lastOffered {
			start++
		}
		for i := range min(want, len(cands)) {
			picked = append(picked, cands[(start+i)%len(cands)])
		}
	case engine.BestWorker:
		for i := range cands {
			cands[i].score = score(mode, j, cands[i].w)
		}
		picked = best(cands, want, scoredBetter(mode.Descending))
	}
	for _, c := range picked {
		ch, _ := c.w.channel(j.ChannelID)
		r.issueOffer(now, j, c.w, ch.CapacityCostPerJob, pol.OfferExpiresAfter)
		q.lastOffered = c.w.ID
	}
}

// idler is LongestIdle's order: lower load ratio first, then longer idle.
func idler(x, y candidate) bool {
	if x.loadRatio != y.loadRatio {
		return x.loadRatio < y.loadRatio
	}
	return longerIdle(x.w, y.w)
}

// scoredBetter is BestWorker's order: a better score first (higher when descending),
// a NaN score last, then longer idle.
func scoredBetter(descending bool) func(x, y candidate) bool {
	return func(x, y candidate) bool {
		if xn, yn := math.IsNaN(x.score), math.IsNaN(y.score); xn || yn {
			if xn != yn {
				return yn
			}
		} else if x.score != y.score {
			if descending {
				return x.score > y.score
			}
			return x.score < y.score
		}
		return longerIdle(x.w, y.w)
	}
}

// best moves the n candidates that come first by better (a strict total order) to
// the front of cands, in that order, and returns them. For the few offers a job
// usually wants that is n linear scans of the eligible workers, O(n·w), where a sort
// would cost O(w log w); for more than a few it is that sort.
func best(cands []candidate, n int, better func(x, y candidate) bool) []candidate {
	n = min(n, len(cands))
	if n > 8 {
		sort.Slice(cands, func(a, b int) bool { return better(cands[a], cands[b]) })
		return cands[:n]
	}
	for i := range n {
		b := i
		for k := i + 1; k < len(cands); k++ {
			if better(cands[k], cands[b]) {
				b = k
			}
		}
		cands[i], cands[b] = cands[b], cands[i]
	}
	return cands[:n]
}

// longerIdle orders workers by idle time, longest first, then by ID.
func longerIdle(a, b *worker) bool {
	if !a.idleSince.Equal(b.idleSince) {
		return a.idleSince.Before(b.idleSince)
	}
	return a.ID < b.ID
}

// eligible reports whether w (which listens on j's queue) may be offered j at now.
func (r *Router) eligible(now time.Time, w *worker, j *job, bypassSelectors bool) bool {
	if w.State != engine.WorkerActive || !w.AvailableForOffers {
		return false
	}
	offers := w.offers
	if w.MaxConcurrentOffers > 0 && len(offers) >= w.MaxConcurrentOffers {
		return false
	}
	ch, ok := w.channel(j.ChannelID)
	if !ok || w.Capacity-r.used(w) < ch.CapacityCostPerJob {
		return false
	}
	if ch.MaxNumberOfJobs > 0 && r.onChannel(w, j.ChannelID) >= ch.MaxNumberOfJobs {
		return false
	}
	for _, o := range offers {
		if o.JobID == j.ID {
			return false
		}
	}
	if j.declined(w) {
		return false
	}
	if bypassSelectors {
		return true
	}
	for _, s := range j.activeSelectors() {
		if !holds(s, w.Labels) {
			return false
		}
	}
	return true
}

// holds reports whether the worker labels satisfy the selector.
func holds(s engine.Selector, workerLabels engine.Labels) bool {
	v, ok := workerLabels[s.Key]
	return labels.Match(s.Op, v, ok, s.Value)
}

// score is BestWorker's score of w for j: the policy's Score function (an error, a
// NaN or a panic is the worst score), or the default scoring.
func score(mode engine.Mode, j *job, w *worker) (s float64) {
	if mode.Score == nil {
		return defaultScore(j.Labels, w.Labels, j.activeSelectors())
	}
	worst := math.Inf(1)
	if mode.Descending {
		worst = math.Inf(-1)
	}
	defer func() {
		if recover() != nil {
			s = worst
		}
	}()
	v, err := mode.Score(engine.ScoringInput{JobLabels: j.Labels, WorkerLabels: maps.Clone(w.Labels), WorkerID: w.ID, Selectors: j.activeSelectors()}) // a map of its own: the function may write to it (ScoringInput)
	if err != nil || math.IsNaN(v) {
		return worst
	}
	return v
}

// defaultScore is the mean of the parts that apply (0 when none does):
//   - labels: the share of the job's labels the worker has with the same value;
//   - selectors: the mean over the active selectors of 1 or 0 for a held or failed
//     Equal or NotEqual, and for an ordering operator the logistic 1/(1+e^-x) of
//     x = (label-value)/|value|, reversed for less-than, or 0 when the label is
//     missing or not a number. SEMANTICS.md divides by value; dividing by |value|,
//     as the engine does (internal/match.DefaultScore, README "Decisions of ours"),
//     keeps "more is better" for a negative threshold. SEMANTICS leaves a value of 0
//     open (a division by zero); there, as the engine does, x = label-value.
//
// The sums run in selector order so that the floating-point result is exactly the
// engine's.
func defaultScore(jobLabels, workerLabels engine.Labels, sels []engine.Selector) float64 {
	var sum float64
	parts := 0
	if len(jobLabels) > 0 {
		same := 0
		for k, v := range jobLabels {
			if x, ok := workerLabels[k]; ok && labels.Same(v, x) {
				same++
			}
		}
		sum += float64(same) / float64(len(jobLabels))
		parts++
	}
	if len(sels) > 0 {
		var s float64
		for _, sel := range sels {
			s += selectorScore(sel, workerLabels)
		}
		sum += s / float64(len(sels))
		parts++
	}
	if parts == 0 {
		return 0
	}
	return sum / float64(parts)
}

func selectorScore(s engine.Selector, workerLabels engine.Labels) float64 {
	switch s.Op {
	case labels.Equal, labels.NotEqual:
		if holds(s, workerLabels) {
			return 1
		}
		return 0
	}
	have, ok1 := labels.Number(workerLabels[s.Key])
	want, ok2 := labels.Number(s.Value)
	if !ok1 || !ok2 {
		return 0
	}
	x := have - want
	if s.Op == labels.LessThan || s.Op == labels.LessThanOrEqual {
		x = want - have
	}
	if want != 0 {
		// (ours, documented in internal/match and README): divide by |value|, so
		// that a worker further above a negative threshold still scores higher.
		x /= math.Abs(want)
	}
	return 1 / (1 + math.Exp(-x))
}
