package engine

// hashSet is a multiset of 64-bit hashes: the terminal jobs' IDs' hashes, by which
// jobStore tells in O(1) that an ID is no terminal job's. It holds no pointer, so
// the collector never scans it, and a slot is 8 bytes.
//
// Open addressing with linear probing from the home slot (the value's top bits),
// at most half the slots used (live values and tombstones), so that a probe for an
// absent value, the usual question, expects (1 + 1/(1-1/2)²)/2 = 2.5 slots: one
// cache line. A value may be in the set more than once (two IDs with one hash);
// remove takes one occurrence away.
//
// Growth is incremental, as jobTable's is and for the same reason (no call
// rehashes everything): when the used slots would pass half, a table twice the
// size (or the same size, to sweep tombstones, when less than half of that is
// live) becomes current, and each later add and remove first moves the next
// migrateStep old slots into it. A move reads the value alone (no record to
// dereference, unlike jobTable's). Migration ends before the new table passes
// half: with C old slots, L ≤ C/2 live and at most C/8 - 1 adds while it lasts,
// the new table uses at most L + C/8 slots: 5C/8 < C when doubling, 3C/8 < C/2
// when sweeping (L < C/4). TestHashSetMigrationBound and TestHashSetSweeps check
// that the rebuild, add's fallback, never runs.
//
// The zero hashSet is empty and ready to use; it allocates only when it grows.
type hashSet struct {
	cur, old hashSlots
	next     int // old's slots below next have been moved
	n        int // values in cur and old
	moved    int // slots migrated, for tests of the per-call bound
	sweeps   int // migrations into a table of the same size, for tests
	rebuilds int // add's fallback taken, for tests (never, by the bound above)
}

// hashSlots is one open-addressing array of values: 0 is empty, 1 a tombstone.
type hashSlots struct {
	vals  []uint64
	used  int  // values and tombstones
	shift uint // 64 - log2(len(vals)): the home slot is v >> shift
}

const (
	hashEmpty   uint64 = 0
	hashDeleted uint64 = 1
	// minHashSlots is the size of the first table.
	minHashSlots = 16
)

// setValue is how h is stored: bit 1 set, so that it is never empty or a
// tombstone. Hashes that differ in bit 1 only are one value, which a filter may
// tolerate: jobStore checks a hit against the terminal jobs' index.
func setValue(h uint64) uint64 { return h | 2 }

// len returns the number of values, each occurrence counted. O(1).
func (s *hashSet) len() int { return s.n }

// has reports whether h is in s. Expected O(1) probes; it changes nothing.
func (s *hashSet) has(h uint64) bool {
	if s.n == 0 {
		return false
	}
	v := setValue(h)
	return s.cur.find(v) >= 0 || (s.old.vals != nil && s.old.find(v) >= 0)
}

// add adds one occurrence of h. Expected O(1) probes; while migrating it also moves
// up to migrateStep old slots. It allocates only when it starts a migration.
func (s *hashSet) add(h uint64) {
	s.step()
	if s.cur.used+1 > len(s.cur.vals)/2 {
		if s.old.vals == nil {
			s.grow()
		} else {
			s.rebuild() // unreachable by the bound in hashSet's doc; slow but correct
		}
	}
	s.cur.insert(setValue(h))
	s.n++
}

// remove takes one occurrence of h out of s and reports whether there was one.
// Expected O(1) probes; while migrating it also moves up to migrateStep old slots.
func (s *hashSet) remove(h uint64) bool {
	if s.n == 0 {
		return false
	}
	s.step()
	v := setValue(h)
	t := &s.cur
	i := t.find(v)
	if i < 0 && s.old.vals != nil {
		t = &s.old
		i = t.find(v)
	}
	if i < 0 {
		return false
	}
	t.vals[i] = hashDeleted
	s.n--
	return true
}

// grow starts a migration to a table twice the size of the current one, or the same
// size when less than half of its allowed use is live values.
func (s *hashSet) grow() {
	size := len(s.cur.vals) * 2
	switch {
	case size == 0:
		size = minHashSlots
	case s.n < len(s.cur.vals)/4:
		size = len(s.cur.vals)
		s.sweeps++
	}
	s.old, s.next = s.cur, 0
	s.cur = newHashSlots(size)
	if s.old.used == 0 {
		s.old = hashSlots{}
	}
}

// rebuild moves every value into one new table where they and one more use at most
// a quarter of the slots, and ends any migration. O(n), allocating.
func (s *hashSet) rebuild() {
	s.rebuilds++
	size := max(len(s.cur.vals), minHashSlots)
	for size/4 < s.n+1 {
		size *= 2
	}
	t := newHashSlots(size)
	for _, from := range [...]*hashSlots{&s.old, &s.cur} {
		for _, v := range from.vals {
			if v > hashDeleted {
				t.insert(v)
			}
		}
	}
	s.cur, s.old, s.next = t, hashSlots{}, 0
}

// step moves the next migrateStep slots of the old table, if migrating. O(1).
func (s *hashSet) step() {
	if s.old.vals == nil {
		return
	}
	end := min(s.next+migrateStep, len(s.old.vals))
	for i := s.next; i < end; i++ {
		if v := s.old.vals[i]; v > hashDeleted {
			s.cur.insert(v)
			s.old.vals[i] = hashDeleted
		}
	}
	s.moved += end - s.next
	s.next = end
	if end == len(s.old.vals) {
		s.old, s.next = hashSlots{}, 0
	}
}

// newHashSlots returns an empty array of size slots, a power of two.
func newHashSlots(size int) hashSlots {
	return hashSlots{vals: make([]uint64, size), shift: jobShift(size)}
}

// find returns the slot of an occurrence of v, or -1. t has an empty slot: at most
// half are used.
func (t *hashSlots) find(v uint64) int {
	if t.vals == nil {
		return -1
	}
	mask := len(t.vals) - 1
	for i := int(v >> t.shift); ; i = (i + 1) & mask {
		switch t.vals[i] {
		case v:
			return i
		case hashEmpty:
			return -1
		}
	}
}

// insert puts v in the first empty or deleted slot from its home.
func (t *hashSlots) insert(v uint64) {
	mask := len(t.vals) - 1
	i := int(v >> t.shift)
	for t.vals[i] > hashDeleted {
		i = (i + 1) & mask
	}
	if t.vals[i] == hashEmpty {
		t.used++
	}
	t.vals[i] = v
}
