package engine

import "github.com/google/btree"

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
