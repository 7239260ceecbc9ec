package engine

import (
	"github.com/google/btree"
	tbtree "github.com/tidwall/btree"
)

// idIndex is an ordered set of IDs: the order in which ListJobs and ListWorkers walk
// their entities, so that a page costs a seek and a short scan instead of a sort of
// every ID.
//
// It is a B-tree (github.com/google/btree) rather than a sorted slice: inserting into
// or deleting from a sorted slice moves up to n strings, which at a million jobs costs
// far more than the page a caller asks for; the B-tree does both in O(log n) and seeks
// to any ID in O(log n). The tree is an ordinary data structure: no goroutine, no clock,
// and its node free list is only ever used under the shell's lock.
//
// The zero value is an empty index.
type idIndex struct {
	t *btree.BTreeG[string]
}

// indexDegree is the B-tree's degree: nodes of up to 2*32-1 IDs keep the tree shallow
// (4 levels for a million IDs) and each node a few cache lines of string headers.
const indexDegree = 32

// insert adds id. O(log n).
func (x *idIndex) insert(id string) {
	if x.t == nil {
		x.t = btree.NewOrderedG[string](indexDegree)
	}
	x.t.ReplaceOrInsert(id)
}

// remove deletes id if it is there. O(log n).
func (x *idIndex) remove(id string) {
	if x.t != nil {
		x.t.Delete(id)
	}
}

// len returns the number of IDs. O(1).
func (x *idIndex) len() int {
	if x.t == nil {
		return 0
	}
	return x.t.Len()
}

// neighbours returns the IDs just before and just after id, which need not be in
// the index, and whether there are any. O(log n).
func (x *idIndex) neighbours(id string) (prev, next string, hasPrev, hasNext bool) {
	if x.t == nil {
		return
	}
	x.t.DescendLessOrEqual(id, func(s string) bool {
		if s == id {
			return true
		}
		prev, hasPrev = s, true
		return false
	})
	x.t.AscendGreaterOrEqual(id, func(s string) bool {
		if s == id {
			return true
		}
		next, hasNext = s, true
		return false
	})
	return
}

// ascendAfter calls fn with each ID greater than after (every ID when after is
// empty), in ascending order, until fn returns false. O(log n + IDs visited).
func (x *idIndex) ascendAfter(after string, fn func(id string) bool) {
	if x.t == nil {
		return
	}
	x.t.AscendGreaterOrEqual(after, func(id string) bool {
		if id == after {
			return true // strictly after: the caller's last ID is not repeated
		}
		return fn(id)
	})
}

// jobIndex is an ordered set of jobs by ID: idIndex's job counterpart, for the
// indexes over every job and over the active ones, which hold a million entries when
// a million jobs are queued.
//
// It holds *jobState, not the ID: an 8-byte item instead of a 16-byte string header
// halves the tree's memory (issue 4, B4), and a listing reads the job from the item
// without a map lookup. Ordering by a.ID costs one more pointer to follow per
// comparison.
//
// The tree is github.com/tidwall/btree's rather than google/btree's for its Load: an
// ID above every ID in the tree is appended to the rightmost leaf after one
// comparison on the way down, where an insert searches every node of the path.
// IDs that ascend (a counter, ULIDs, version 7 UUIDs, B1's) are the common case, and
// each job passes through both indexes: B1's insert into the closed jobs' index, at
// the end of a tree of every job closed so far, cost 1,800 instructions of the
// lifecycle's 40,000. Any other ID costs one comparison more than an insert.
//
// The tree always holds indexHead, whose ID is empty and thus below every job's (IDs
// are never empty), so that it never empties: tidwall/btree frees its root node when
// its last item goes and allocates another for the next, as queueOrder's comment
// tells. Counts and walks leave it out.
//
// The zero value is an empty index.
type jobIndex struct {
	t     *tbtree.BTreeG[*jobState]
	probe *jobState // the search key of ascendAfter and byID, reused so that they allocate none
	// removeHint is where the last removal went: jobs end roughly in the order
	// they were created, so with ascending IDs removals cluster at the low end.
	removeHint tbtree.PathHint
}

// indexHead is in every jobIndex, before every job. It is never written to.
var indexHead = &jobState{}

func jobIDLess(a, b *jobState) bool { return a.ID < b.ID }

// insert adds j. O(log n): one comparison per level when j's ID is above every ID
// in the index, a search of each node on the path otherwise.
func (x *jobIndex) insert(j *jobState) {
	if x.t == nil {
		x.t = tbtree.NewBTreeGOptions(jobIDLess, tbtree.Options{Degree: indexDegree, NoLocks: true})
		x.t.Set(indexHead)
	}
	x.t.Load(j)
}

// remove deletes j (the job with j's ID) if it is there. O(log n).
func (x *jobIndex) remove(j *jobState) {
	if x.t != nil {
		x.t.DeleteHint(j, &x.removeHint)
	}
}

// get returns the job with j's ID, if it is there. O(log n).
func (x *jobIndex) get(j *jobState) (*jobState, bool) {
	if x.t == nil || j.ID == "" {
		return nil, false
	}
	return x.t.Get(j)
}

// byID returns the job whose ID is id, if it is there. O(log n); it allocates
// nothing after the index's first search.
func (x *jobIndex) byID(id string) (*jobState, bool) {
	if x.t == nil || id == "" {
		return nil, false
	}
	if x.probe == nil {
		x.probe = &jobState{}
	}
	x.probe.ID = id
	j, ok := x.t.Get(x.probe)
	x.probe.ID = ""
	return j, ok
}

// maxID returns the greatest ID in the index, "" when it holds no job. O(log n),
// down the rightmost path.
func (x *jobIndex) maxID() string {
	if x.t == nil {
		return ""
	}
	j, _ := x.t.Max() // indexHead, whose ID is "", when no job is left
	return j.ID
}

// len returns the number of jobs. O(1).
func (x *jobIndex) len() int {
	if x.t == nil {
		return 0
	}
	return x.t.Len() - 1
}

// ascendAfter calls fn with each job whose ID is greater than after (every job when
// after is empty), in ascending ID order, until fn returns false.
// O(log n + jobs visited).
func (x *jobIndex) ascendAfter(after string, fn func(j *jobState) bool) {
	if x.t == nil {
		return
	}
	if x.probe == nil {
		x.probe = &jobState{}
	}
	x.probe.ID = after
	x.t.Ascend(x.probe, func(j *jobState) bool {
		if j.ID == after {
			return true // strictly after: the caller's last ID is not repeated (nor indexHead)
		}
		return fn(j)
	})
}

// ascendMerged calls fn with each job of a or b (which share none) whose ID is
// greater than after, in ascending ID order, until fn returns false: the two walks
// merged. It walks a, and, each time b's next job comes first, the run of b's jobs
// up to a's next one; each switch to b costs a seek. O(log n × switches + jobs
// visited): a page of k jobs costs O(k log n) at worst. No coroutine or goroutine
// (iter.Pull would start one), so it allocates nothing of its own.
func ascendMerged(a, b *jobIndex, after string, fn func(j *jobState) bool) {
	nb := b.firstAfter(after) // b's next job, or nil when b has no more
	stopped := false
	// runOfB calls fn with b's jobs from nb on while their ID is below limit's (to
	// b's end when limit is nil), and leaves nb at the first job not visited.
	runOfB := func(limit *jobState) {
		from := nb
		nb = nil
		b.t.Ascend(from, func(x *jobState) bool {
			if limit != nil && x.ID > limit.ID {
				nb = x
				return false
			}
			if !fn(x) {
				stopped = true
				return false
			}
			return true
		})
	}
	a.ascendAfter(after, func(na *jobState) bool {
		if nb != nil && nb.ID < na.ID {
			if runOfB(na); stopped {
				return false
			}
		}
		if !fn(na) {
			stopped = true
			return false
		}
		return true
	})
	if !stopped && nb != nil {
		runOfB(nil)
	}
}

// firstAfter returns the job with the lowest ID greater than after, or nil.
// O(log n).
func (x *jobIndex) firstAfter(after string) *jobState {
	var first *jobState
	x.ascendAfter(after, func(j *jobState) bool {
		first = j
		return false
	})
	return first
}

// firstActiveJob returns the active job with the lowest ID that passes f, or nil.
// O(active jobs).
func (e *Engine) firstActiveJob(f func(j *jobState) bool) *jobState {
	var found *jobState
	e.activeIDs.ascendAfter("", func(j *jobState) bool {
		if f(j) {
			found = j
		}
		return found == nil
	})
	return found
}
