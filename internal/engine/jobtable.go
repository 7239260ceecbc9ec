package engine

import (
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"math/bits"
	"slices"
	"strings"
)

// jobTable is the engine's jobs that are not terminal, by ID (jobStore.live): an
// open-addressing hash set of record
// pointers keyed by the record's own ID, so a slot costs 8 bytes plus a 1-byte
// tag, where a Go map stores the 16-byte string key beside the pointer (B4).
//
// Slots are probed linearly from the home slot, given by the top bits of the ID's
// hash; each slot's tag holds seven other bits of the hash, so a probe dereferences
// a record (a cache miss in a large table) only when the tag matches. A deletion
// leaves a tombstone rather than shifting the cluster back, because shifting needs
// each following entry's home, a dereference and a hash apiece.
//
// Growth is incremental, never a stop-the-world rehash (B2 measures the latency of
// single calls with a million jobs). When live entries and tombstones would pass
// 3/4 of the slots, a table twice the size (or, when less than half of that is live,
// one the same size, to sweep the tombstones) becomes current, and each later put
// and del moves the next migrateStep slots of the old table into it, in index
// order, before doing its own work. The old table never takes an insert; a moved
// or deleted entry leaves a tombstone there, so its probe chains stay intact. The
// table does not shrink (nor does a Go map).
//
// Why 3/4: a linear probe for an absent ID expects (1 + 1/(1-a)²)/2 slots at a load
// a: 8.5 at 3/4, 32.5 at 7/8 (tombstones count as load). Why migrateStep is 8:
// the old table lives only while an eighth of its size in puts and dels go by, a
// sixth of the time the table grows through; so both tables are allocated less
// often (at a million jobs, B4's figure, the migration that began at 786,432 has
// ended), for at most 8 slots moved per call.
//
// Migration always ends before the new table itself reaches 3/4. Let C be the old
// table's size, C' the new one's and L the live entries when migration starts.
// The new table's used slots (live and tombstones) grow only by the at most L
// entries moved and by one per put; a del there turns a live slot into a
// tombstone. The put that starts the migration inserts after it, and every later
// put and del first moves migrateStep slots, so at most C/8 - 1 more puts insert
// while it lasts (C is a power of two ≥ 16): the new table uses at most L + C/8
// slots. Doubling: L ≤ 3C/4 and C' = 2C, and 3C/4 + C/8 < 3C/2 = 3C'/4. Same
// size: L < 3C/8, and 3C/8 + C/8 < 3C/4 (with a step of 2, 3C/8 + C/2, it would
// not be). TestJobTableMigrationBound checks it.
//
// The hash seed is random per table, as a Go map's is, so that no choice of IDs
// can force long probe chains. It decides only where an entry sits, never what a
// call returns; nothing outside tests and checks iterates the table.
//
// The zero jobTable is empty and ready to use. It allocates only when it grows.
type jobTable struct {
	seed maphash.Seed
	// testHash, when set (only by tests), replaces the seeded maphash, so that a
	// table's layout, and a failure, replay from a seed a test can print.
	testHash func(id string) uint64
	cur      jobSlots // takes every put
	old      jobSlots // being moved into cur; empty when not migrating
	next     int      // old's slots below next have been moved
	n        int      // live entries in cur and old

	// recent holds the jobs put or found last, direct-mapped by eight bits of the
	// ID's hash (not the tag's nor the home slot's): a get that finds its job here
	// reads no slot. A slot of a table of a million jobs is a cache miss, two for a
	// job found (its tag, then its pointer), and the lifecycle of B1 finds its job
	// twice (CompleteJob, CloseJob) while 31 others go through the engine: a CPU
	// profile of B1 put 6 % of its time on loading the tags. Only live jobs are
	// held: del clears the entry of the job it removes. 2 KiB.
	recent [256]*jobState

	// moved counts the slots migrated, for tests of the per-call bound.
	moved int
}

// recentAt is the entry of recent for hash h.
func (t *jobTable) recentAt(h uint64) **jobState {
	return &t.recent[(h>>8)&uint64(len(t.recent)-1)]
}

// jobSlots is one open-addressing array: jobs[i] is live when tags[i] ≥ tagLive.
type jobSlots struct {
	tags  []uint8
	jobs  []*jobState
	used  int  // live slots and tombstones
	shift uint // 64 - log2(len(jobs)): the home slot is hash >> shift
}

// Slot tags: empty, a tombstone, or tagLive with seven bits of the hash.
const (
	tagEmpty   uint8 = 0
	tagDeleted uint8 = 1
	tagLive    uint8 = 0x80
)

const (
	// minJobSlots is the size of the first table; the migration proof needs ≥ 16.
	minJobSlots = 16
	// migrateStep is how many old slots each put and del moves while migrating;
	// the proof in jobTable's doc needs at least 3.
	migrateStep = 8
)

// maxUsed is how many of c slots may be used (live or tombstones): 3/4.
func maxUsed(c int) int { return c - c>>2 }

// len returns the number of jobs in t. O(1).
func (t *jobTable) len() int { return t.n }

// get returns the job whose ID is id and whether there is one, as a map's
// comma-ok lookup does. Expected O(1) probes (at most 3/4 of the slots are used);
// it changes nothing and allocates nothing.
func (t *jobTable) get(id string) (*jobState, bool) {
	j, _, ok := t.lookup(id)
	return j, ok
}

// lookup is get that also returns id's hash (t.hash), which jobStore reuses; the
// hash is 0 while t has no seed, before its first put (no job has a hash then).
func (t *jobTable) lookup(id string) (_ *jobState, h uint64, _ bool) {
	if t.seed == (maphash.Seed{}) && t.testHash == nil {
		return nil, 0, false
	}
	h = t.hash(id)
	if t.n == 0 {
		return nil, h, false
	}
	r := t.recentAt(h)
	if j := *r; j != nil && j.ID == id {
		return j, h, true
	}
	if i := t.cur.find(id, h); i >= 0 {
		*r = t.cur.jobs[i]
		return *r, h, true
	}
	if t.old.jobs != nil {
		if i := t.old.find(id, h); i >= 0 {
			*r = t.old.jobs[i]
			return *r, h, true
		}
	}
	return nil, h, false
}

// put adds j, keyed by j.ID, which the caller guarantees is not in t (the engine
// looks an ID up before it creates a job). Expected O(1) probes; while migrating
// it also moves up to migrateStep old slots. It allocates only when it starts a
// migration (grow).
func (t *jobTable) put(j *jobState) {
	if t.seed == (maphash.Seed{}) {
		t.seed = maphash.MakeSeed()
	}
	h := t.hash(j.ID)
	t.step()
	if t.old.jobs == nil && t.cur.used >= maxUsed(len(t.cur.jobs)) {
		t.grow()
	} else if t.cur.used >= maxUsed(len(t.cur.jobs)) {
		// Unreachable by the proof in jobTable's doc. Should it be wrong, finishing
		// the migration into cur could fill cur (and a full table's probes never
		// end): rebuild into one table with room instead, slow but correct.
		t.rebuild()
	}
	t.cur.insert(j, h)
	*t.recentAt(h) = j
	t.n++
}

// del removes the job whose ID is id and reports whether it was there. Expected
// O(1) probes; while migrating it also moves up to migrateStep old slots. It
// allocates nothing.
func (t *jobTable) del(id string) bool {
	_, ok := t.remove(id)
	return ok
}

// remove is del that also returns id's hash (t.hash), which jobStore reuses; the
// hash is 0 when t is empty.
func (t *jobTable) remove(id string) (h uint64, _ bool) {
	if t.n == 0 {
		return 0, false
	}
	t.step()
	h = t.hash(id)
	s := &t.cur
	i := s.find(id, h)
	if i < 0 && t.old.jobs != nil {
		s = &t.old
		i = s.find(id, h)
	}
	if i < 0 {
		return h, false
	}
	if r := t.recentAt(h); *r == s.jobs[i] {
		*r = nil
	}
	s.tags[i], s.jobs[i] = tagDeleted, nil
	t.n--
	return h, true
}

// grow starts a migration to a table twice the size of the current one, or the
// same size when less than half of its allowed use is live entries (the rest being
// tombstones). It allocates the new table, 9 B a slot; moving happens in step.
func (t *jobTable) grow() {
	size := len(t.cur.jobs) * 2
	switch {
	case size == 0:
		size = minJobSlots
	case t.n < maxUsed(len(t.cur.jobs))/2:
		size = len(t.cur.jobs)
	}
	t.old, t.next = t.cur, 0
	t.cur = newJobSlots(size)
	if t.old.used == 0 {
		t.old = jobSlots{}
	}
}

// newJobSlots returns an empty array of size slots, a power of two: 9 B a slot.
func newJobSlots(size int) jobSlots {
	return jobSlots{tags: make([]uint8, size), jobs: make([]*jobState, size), shift: jobShift(size)}
}

// jobShift is the shift that takes a hash's top bits to a home slot among size.
func jobShift(size int) uint { return uint(64 - bits.TrailingZeros(uint(size))) }

// rebuild moves every job of cur and old, in one call, into one new table where
// they and one more use at most half of the allowed slots, and ends any migration.
// It is put's fallback should the migration bound ever fail: O(n), allocating.
func (t *jobTable) rebuild() {
	size := max(len(t.cur.jobs), minJobSlots)
	for maxUsed(size)/2 < t.n+1 {
		size *= 2
	}
	s := newJobSlots(size)
	for j := range t.all() {
		s.insert(j, t.hash(j.ID))
	}
	t.cur, t.old, t.next = s, jobSlots{}, 0
}

// hash is id's hash in t: the seeded maphash, or a test's replacement. O(len(id)).
func (t *jobTable) hash(id string) uint64 {
	if t.testHash != nil {
		return t.testHash(id)
	}
	return maphash.String(t.seed, id)
}

// step moves the next migrateStep slots of the old table, if migrating. O(1).
func (t *jobTable) step() {
	if t.old.jobs == nil {
		return
	}
	end := min(t.next+migrateStep, len(t.old.jobs))
	for i := t.next; i < end; i++ {
		if t.old.tags[i] >= tagLive {
			j := t.old.jobs[i]
			t.cur.insert(j, t.hash(j.ID))
			t.old.tags[i], t.old.jobs[i] = tagDeleted, nil
		}
	}
	t.moved += end - t.next
	t.next = end
	if end == len(t.old.jobs) {
		t.old, t.next = jobSlots{}, 0
	}
}

// find returns the slot of the job whose ID is id (with hash h), or -1. s must
// have an empty slot, which it always has: at most 3/4 are used.
func (s *jobSlots) find(id string, h uint64) int {
	if s.jobs == nil {
		return -1
	}
	mask := len(s.jobs) - 1
	tag := tagLive | uint8(h)
	for i := int(h >> s.shift); ; i = (i + 1) & mask {
		switch s.tags[i] {
		case tagEmpty:
			return -1
		case tag:
			if s.jobs[i].ID == id {
				return i
			}
		}
	}
}

// insert puts j (with hash h) in the first empty slot or tombstone from its home.
func (s *jobSlots) insert(j *jobState, h uint64) {
	mask := len(s.jobs) - 1
	i := int(h >> s.shift)
	for s.tags[i] >= tagLive {
		i = (i + 1) & mask
	}
	if s.tags[i] == tagEmpty {
		s.used++
	}
	s.tags[i], s.jobs[i] = tagLive|uint8(h), j
}

// all yields every job, in no particular order; t must not change meanwhile.
func (t *jobTable) all() iter.Seq[*jobState] {
	return func(yield func(*jobState) bool) {
		for _, s := range [...]*jobSlots{&t.old, &t.cur} {
			for i, tag := range s.tags {
				if tag >= tagLive && !yield(s.jobs[i]) {
					return
				}
			}
		}
	}
}

// sorted returns every job in ID order. It is for checks and tests: O(n log n).
func (t *jobTable) sorted() []*jobState {
	js := slices.Collect(t.all())
	slices.SortFunc(js, func(a, b *jobState) int { return strings.Compare(a.ID, b.ID) })
	return js
}

// check verifies t's invariants: the sizes and counts agree with the slots, a
// live slot's tag is its job's hash and the job is found from its home slot in
// the table it is in (so no ID is in t twice), moved old slots are empty, and the
// migration bound of jobTable's doc holds. It is for CheckIndexes: O(n) probes.
func (t *jobTable) check() error {
	live, oldLive := 0, 0
	for k, s := range [...]*jobSlots{&t.cur, &t.old} {
		which := [...]string{"current", "old"}[k]
		size := len(s.jobs)
		switch {
		case len(s.tags) != size:
			return fmt.Errorf("job table: %s has %d tags for %d slots", which, len(s.tags), size)
		case size != 0 && (size < minJobSlots || size&(size-1) != 0 || s.shift != jobShift(size)):
			return fmt.Errorf("job table: %s has %d slots and shift %d", which, size, s.shift)
		case size != 0 && s.used > maxUsed(size):
			return fmt.Errorf("job table: %s uses %d of %d slots", which, s.used, size)
		}
		used := 0
		for i, tag := range s.tags {
			j := s.jobs[i]
			if tag != tagEmpty {
				used++
			}
			if tag < tagLive {
				if tag > tagDeleted || j != nil {
					return fmt.Errorf("job table: %s slot %d has tag %#x and a job", which, i, tag)
				}
				continue
			}
			live++
			if s == &t.old {
				oldLive++
			}
			if j == nil {
				return fmt.Errorf("job table: %s slot %d is live and empty", which, i)
			}
			h := t.hash(j.ID)
			switch {
			case tag != tagLive|uint8(h):
				return fmt.Errorf("job table: job %q has tag %#x, want %#x", j.ID, tag, tagLive|uint8(h))
			case s.find(j.ID, h) != i:
				return fmt.Errorf("job table: job %q in %s slot %d is not found there", j.ID, which, i)
			case s == &t.old && (i < t.next || t.cur.find(j.ID, h) >= 0):
				return fmt.Errorf("job table: job %q is in the old table's slot %d, moved up to %d, or in both", j.ID, i, t.next)
			}
		}
		if used != s.used {
			return fmt.Errorf("job table: %s counts %d used slots, has %d", which, s.used, used)
		}
	}
	if live != t.n {
		return fmt.Errorf("job table: counts %d jobs, holds %d", t.n, live)
	}
	for k, j := range t.recent {
		if j == nil {
			continue
		}
		h := t.hash(j.ID)
		switch i, o := t.cur.find(j.ID, h), t.old.find(j.ID, h); {
		case t.recentAt(h) != &t.recent[k]:
			return fmt.Errorf("job table: job %q is in recent entry %d, not its own", j.ID, k)
		case (i < 0 || t.cur.jobs[i] != j) && (o < 0 || t.old.jobs[o] != j):
			return fmt.Errorf("job table: recent entry %d holds job %q, which the table does not", k, j.ID)
		}
	}
	if t.old.jobs == nil {
		if t.next != 0 {
			return errors.New("job table: a migration cursor without an old table")
		}
		return nil
	}
	calls := (len(t.old.jobs) - t.next + migrateStep - 1) / migrateStep
	if t.cur.used+oldLive+calls > maxUsed(len(t.cur.jobs)) {
		return fmt.Errorf("job table: %d used, %d to move in %d calls: past 3/4 of %d slots before the migration ends",
			t.cur.used, oldLive, calls, len(t.cur.jobs))
	}
	return nil
}
