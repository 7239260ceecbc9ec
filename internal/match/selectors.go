package match

import (
	"math"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// Requirement is one active worker selector as matching sees it.
type Requirement struct {
	Key   string
	Op    labels.Operator
	Value any
}

// WorkerLabels is a worker's labels as matching reads them: its stored label set,
// which never holds "Id", and its ID, which is its "Id" label (every worker carries
// the label Id = its ID). Keeping "Id" out of the stored set lets workers with equal
// labels share one set. An empty ID means no "Id" label: the labels a worker class
// shares, which class-level checks read without "Id".
type WorkerLabels struct {
	ID  string
	Set *labels.Set
}

// Get returns the worker's label key, and whether it has it. O(log labels).
// Matching itself does not call it: it would put the ID in an interface on the
// heap at each read of "Id", where the code below passes it straight to the label
// operators, which keep nothing.
func (w WorkerLabels) Get(key string) (any, bool) {
	if w.isID(key) {
		return w.ID, true
	}
	return w.Set.Get(key)
}

// isID reports whether key is the worker's "Id" label.
func (w WorkerLabels) isID(key string) bool { return key == "Id" && w.ID != "" }

// Holds reports whether the worker labels satisfy r. O(log labels).
func (r Requirement) Holds(w WorkerLabels) bool {
	if w.isID(r.Key) {
		return labels.Match(r.Op, w.ID, true, r.Value)
	}
	v, ok := w.Set.Get(r.Key)
	return labels.Match(r.Op, v, ok, r.Value)
}

// AllHold reports whether every requirement holds for the worker labels.
// O(len(reqs) × log labels).
func AllHold(reqs []Requirement, workerLabels WorkerLabels) bool {
	for _, r := range reqs {
		if !r.Holds(workerLabels) {
			return false
		}
	}
	return true
}

// DefaultScore is BestWorker's default score of a worker for a job, in [0, 1]:
// the mean of the parts that apply.
//   - Label part (when the job has labels): the share of the job's labels that the
//     worker has with an equal value.
//   - Selector part (when there are selectors): the mean over selectors of 1 for a
//     satisfied Equal or NotEqual (0 otherwise), and for the ordering operators the
//     logistic 1/(1+e^-x) of x = (label-value)/|value| (x = (value-label)/|value| for
//     the less-than operators), or 0 when the label is missing or not a number.
//     **(ours)** The division is by |value|, not value, so that a higher label still
//     scores higher against a negative threshold; when value is 0 the division is
//     skipped: x = label-value.
//
// With neither part the score is 0, and ties fall to idle time and ID.
// O((len(jobLabels) + len(reqs)) × log labels).
func DefaultScore(jobLabels map[string]any, workerLabels WorkerLabels, reqs []Requirement) float64 {
	var sum float64
	parts := 0
	if len(jobLabels) > 0 {
		matched := 0
		for k, v := range jobLabels {
			if workerLabels.isID(k) {
				if labels.Same(v, workerLabels.ID) {
					matched++
				}
			} else if wv, ok := workerLabels.Set.Get(k); ok && labels.Same(v, wv) {
				matched++
			}
		}
		sum += float64(matched) / float64(len(jobLabels))
		parts++
	}
	if len(reqs) > 0 {
		var s float64
		for _, r := range reqs {
			s += selectorScore(r, workerLabels)
		}
		sum += s / float64(len(reqs))
		parts++
	}
	if parts == 0 {
		return 0
	}
	return sum / float64(parts)
}

func selectorScore(r Requirement, workerLabels WorkerLabels) float64 {
	if !r.Op.Ordering() {
		if r.Holds(workerLabels) {
			return 1
		}
		return 0
	}
	if workerLabels.isID(r.Key) {
		return 0 // the ID is a string, never a number
	}
	lv, ok := workerLabels.Set.Get(r.Key)
	if !ok {
		return 0
	}
	have, ok1 := labels.Number(lv)
	want, ok2 := labels.Number(r.Value)
	if !ok1 || !ok2 {
		return 0
	}
	x := have - want
	if r.Op == labels.LessThan || r.Op == labels.LessThanOrEqual {
		x = want - have
	}
	if want != 0 {
		x /= math.Abs(want)
	}
	return 1 / (1 + math.Exp(-x))
}
