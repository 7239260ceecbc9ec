package engine

import tbtree "github.com/tidwall/btree"

// workerTree is an ordered set of workers: a queue's listeners by ID, and the
// offerable ones of a queue or class in LongestIdle order (lessIdle) and, for
// RoundRobin, by ID (lessID).
//
// It is github.com/tidwall/btree's B-tree with a path hint of its own. Its
// search calls the comparison directly, where google/btree's goes through
// sort.Search and a closure, two indirect calls a step; and the hint (where the
// last operation went, level by level) starts each search where the last one
// ended, which is where a busy queue's changes cluster: LongestIdle offers go to
// the head of the tree, and a worker freed at the engine's time goes to the end of
// its load ratio's run, or among the head's ties while the clock stands still (a
// simulation, B1). Inserting and removing a worker were 3,600 of B1's 39,100
// instructions a lifecycle at 10,000 workers.
//
// The tree always holds treeHead, which sorts before every worker in both orders,
// so that it never empties: tidwall/btree frees its root node with its last item
// and allocates one for the next, two allocations per offer in a queue with one
// free worker at a time. Counts and walks leave it out.
type workerTree struct {
	t    *tbtree.BTreeG[*workerState]
	hint tbtree.PathHint
}

// treeHead is in every workerTree, first: a load ratio below any worker's (those
// are 0..1) and the empty ID, below any worker's. It is never written to.
var treeHead = &workerState{ikey: wkey{load: -1}}

// newWorkerTree returns an empty tree ordered by less (lessIdle or lessID).
func newWorkerTree(less func(a, b *workerState) bool) *workerTree {
	x := &workerTree{t: tbtree.NewBTreeGOptions(less, tbtree.Options{Degree: workerTreeDegree, NoLocks: true})}
	x.t.Set(treeHead)
	return x
}

// insert adds w, or replaces the worker equal to w in the tree's order (the same
// worker: the orders end with the ID). O(log n).
func (x *workerTree) insert(w *workerState) { x.t.SetHint(w, &x.hint) }

// remove deletes w (the worker equal to w in the tree's order) if it is there.
// O(log n).
func (x *workerTree) remove(w *workerState) { x.t.DeleteHint(w, &x.hint) }

// get returns the worker equal to w in the tree's order, if there is one: never
// treeHead, which a probe with the empty ID (RoundRobin's cursor before its first
// offer) would otherwise find in an ID-ordered tree. O(log n).
func (x *workerTree) get(w *workerState) (*workerState, bool) {
	if found, ok := x.t.GetHint(w, &x.hint); ok && found != treeHead {
		return found, true
	}
	return nil, false
}

// len returns the number of workers. O(1).
func (x *workerTree) len() int { return x.t.Len() - 1 }

// min returns the first worker, if any. O(log n).
func (x *workerTree) min() (*workerState, bool) { return x.t.GetAt(1) }

// ascend calls fn with each worker in order until fn returns false.
// O(log n + workers visited).
func (x *workerTree) ascend(fn func(w *workerState) bool) {
	x.t.Scan(func(w *workerState) bool { return w == treeHead || fn(w) })
}

// ascendFrom calls fn with each worker not before pivot, in order, until fn
// returns false. O(log n + workers visited).
func (x *workerTree) ascendFrom(pivot *workerState, fn func(w *workerState) bool) {
	x.t.Ascend(pivot, func(w *workerState) bool { return w == treeHead || fn(w) })
}

// ascendBelow calls fn with each worker before pivot, in order, until fn returns
// false. O(workers visited).
func (x *workerTree) ascendBelow(pivot *workerState, fn func(w *workerState) bool) {
	x.ascend(func(w *workerState) bool { return x.t.Less(w, pivot) && fn(w) })
}

// workerTreeDegree is the worker trees' degree: nodes of up to 63 workers. With
// the path hint, wider nodes cost fewer levels for the same hits; B1 at 10,000
// workers counted 38,455 instructions a lifecycle at degree 8 (as they had under
// google/btree), 37,975 at 16, 37,681 at 32 and 37,914 at 64.
const workerTreeDegree = 32
