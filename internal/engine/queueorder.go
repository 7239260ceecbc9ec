package engine

import (
	"math"

	tbtree "github.com/tidwall/btree"
)

// queueOrder is a queue's queued jobs in queue order (lessJob), in a counted B-tree:
// github.com/tidwall/btree keeps the size of every subtree, so the job at a place
// in line is found in O(log n), and a job's place, or where a range of the order
// begins, by a binary search over places in O(log² n), without walking the jobs
// ahead. QueuePosition and QueueStatistics read it so; a queue of a million jobs
// costs them microseconds, not a walk of the line.
//
// The tree always holds orderHead first, so that it is never empty: tidwall/btree
// frees its root node when its last item goes and allocates another for the next,
// two allocations per job in a queue that empties after each (B1). Places here
// leave orderHead out: index 0 is the first job.
//
// The zero value is not usable; newQueueOrder makes one.
type queueOrder struct {
	t *tbtree.BTreeG[*jobState]
	// removeHint is where the last removal went: the head of the line, mostly, as
	// jobs leave it in order when workers accept them. Inserts go through Load,
	// which appends a job that sorts after every other (a job of the lowest level
	// present, the usual case, enqueued last) after one comparison per level.
	removeHint tbtree.PathHint
}

// orderHead is in every queue order before every job: its key is expedited, of
// priority 127 (a job's is -100..100), at the zero time, creation number 0. It is
// never written to.
var orderHead = &jobState{keyExpedite: true, keyPriority: math.MaxInt8}

// queueOrderDegree is the counted tree's degree: nodes of up to 2*32-1 jobs, as the
// ID indexes (a queue can hold a million jobs).
const queueOrderDegree = 32

func newQueueOrder() queueOrder {
	o := queueOrder{t: tbtree.NewBTreeGOptions(lessJob, tbtree.Options{Degree: queueOrderDegree, NoLocks: true})}
	o.t.Set(orderHead)
	return o
}

// insert adds j. O(log n); O(depth) comparisons when j sorts last.
func (o *queueOrder) insert(j *jobState) { o.t.Load(j) }

// remove deletes j. O(log n).
func (o *queueOrder) remove(j *jobState) { o.t.DeleteHint(j, &o.removeHint) }

// has reports whether j is in the order. O(log n).
func (o queueOrder) has(j *jobState) bool {
	x, ok := o.t.Get(j)
	return ok && x == j
}

// len returns the number of jobs. O(1).
func (o queueOrder) len() int { return o.t.Len() - 1 }

// ascend calls fn with each job in queue order until fn returns false.
// O(jobs visited).
func (o queueOrder) ascend(fn func(j *jobState) bool) {
	o.t.Scan(func(j *jobState) bool { return j == orderHead || fn(j) })
}

// at returns the job at index i (0-based) in queue order. O(log n).
func (o queueOrder) at(i int) *jobState {
	j, _ := o.t.GetAt(i + 1)
	return j
}

// search returns the first index in [lo, len) whose job satisfies ok, or len when
// none does; ok must be false for a prefix of the order and true for the rest.
// O(log(len-lo) × log n).
func (o queueOrder) search(lo int, ok func(j *jobState) bool) int {
	hi := o.len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ok(o.at(mid)) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// rank returns j's index in queue order and whether j is there. O(log² n).
func (o queueOrder) rank(j *jobState) (int, bool) {
	i := o.search(0, func(x *jobState) bool { return !lessJob(x, j) })
	return i, i < o.len() && o.at(i) == j
}

// level is a place in queue order's first two keys: expedited jobs first, then by
// priority, highest first. Within a level, jobs are in EnqueuedAt order.
type level struct {
	expedite bool
	priority int8
}

func levelOf(j *jobState) level { return level{j.keyExpedite, j.keyPriority} }

// before reports whether level a comes before level b in queue order.
func (a level) before(b level) bool {
	if a.expedite != b.expedite {
		return a.expedite
	}
	return a.priority > b.priority
}

// levels calls fn with each level that holds queued jobs, in queue order, with its
// first job (which has the level's earliest EnqueuedAt) and its number of jobs.
// O(levels × log² n); there are at most 402 levels (two by 201 priorities).
func (o queueOrder) levels(fn func(l level, first *jobState, count int)) {
	for i, n := 0, o.len(); i < n; {
		first := o.at(i)
		l := levelOf(first)
		end := o.search(i+1, func(x *jobState) bool { return l.before(levelOf(x)) })
		fn(l, first, end-i)
		i = end
	}
}
