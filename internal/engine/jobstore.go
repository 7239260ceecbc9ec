package engine

import (
	"fmt"
	"slices"
	"strings"
)

// jobStore is the engine's jobs by ID. A job that is not terminal is in live, a
// hash table of records (jobtable.go). A closed or cancelled job leaves it
// (retire) for the ID index that lists the terminal jobs (Engine.doneIDs, a
// B-tree), where a lookup finds it.
//
// Why: a router keeps a terminal job until DeleteJob, as Azure does, so where the
// callers do not delete them the terminal jobs come to outnumber the others by
// far, and in the one table they made it grow, migrate, miss the cache and be
// scanned by the collector: B1, which closes a job a lifecycle and never deletes
// one, runs about 5 % faster with its closed jobs out of the table (BENCHMARKS.md).
//
// The question a lookup asks most is whether an ID is new (CreateJob's check), and
// for a new ID the index must not be searched, which costs a cache miss a level.
// Two tests answer it in O(1):
//
//   - maxDone is the greatest terminal ID: an ID above it is none of theirs. Where
//     IDs ascend as strings (fixed-width counters, ULIDs, version 7 UUIDs, B1's),
//     that is every new ID, and nothing else is needed. Unpadded counters ("id-9"
//     sorts after "id-10") and random UUIDs (the Router's default NewID) do not
//     ascend.
//   - done is the multiset of the terminal IDs' hashes (hashSet: 8 bytes a job, no
//     pointer), for IDs that do not ascend (random UUIDs, NewID's default). It is
//     kept only once it is needed, since each close would add to it, a cache
//     miss per close in a large set (a Go map in its place, kept from the start,
//     took most of the gain back): after filterAfterMisses lookups of IDs below maxDone that
//     the index did not hold (new IDs that do not ascend, or lookups of deleted
//     ones), it is built, filterStep terminal jobs per call in ID order (no call
//     hashes them all), and kept from then on, for good. While it is being built
//     it answers for the IDs up to built, the last one added.
//
// The cost is the lookup of a terminal job (GetJob, DeleteJob, and the calls
// refused because the job is closed or cancelled): O(log n) comparisons of IDs in
// the index instead of a hash probe.
//
// The zero jobStore is not ready: New points doneIDs at the engine's index.
type jobStore struct {
	live    jobTable  // the jobs that are neither closed nor cancelled
	maxDone string    // the greatest terminal job's ID; "" when there is none
	doneIDs *jobIndex // the engine's index of the terminal jobs

	done     hashSet // live.hash of the terminal IDs up to built (all when whole)
	misses   int     // lookups below maxDone that the index did not hold
	building bool    // done is being built: it holds the terminal IDs up to built
	whole    bool    // done holds every terminal ID's hash
	built    string  // while building, the greatest ID whose hash done holds
}

const (
	// filterAfterMisses is how many lookups below maxDone of IDs that are no
	// terminal job's start the building of done.
	filterAfterMisses = 8
	// filterStep is how many terminal jobs each call adds to done while it is
	// being built.
	filterStep = 8
)

// covers reports whether done answers for id: it holds the hash of every terminal
// job whose ID is id.
func (s *jobStore) covers(id string) bool {
	return s.whole || (s.building && id <= s.built)
}

// get returns the job whose ID is id and whether there is one. O(1) for a job
// that is not terminal and for an ID no job has (above maxDone, or once done is
// kept, unless its hash is a terminal job's); O(log n) for a terminal job, and for
// an ID below maxDone that done does not cover yet, which also counts a miss and,
// while done is being built, adds a step to it (O(log n + filterStep), allocating
// when done grows). It changes no job; it does change the store's bookkeeping, as
// every engine call may (the engine is used under one lock).
func (s *jobStore) get(id string) (*jobState, bool) {
	j, h, ok := s.live.lookup(id)
	if ok || id > s.maxDone {
		return j, ok
	}
	if s.covers(id) && !s.done.has(h) {
		return nil, false
	}
	j, ok = s.doneIDs.byID(id)
	if !ok && !s.covers(id) {
		s.misses++
		if s.misses >= filterAfterMisses && !s.building && !s.whole {
			s.building, s.built = true, ""
		}
		s.buildStep()
	}
	return j, ok
}

// put adds j, which is not terminal, keyed by j.ID, which no job has. O(1)
// expected (jobTable.put).
func (s *jobStore) put(j *jobState) { s.live.put(j) }

// retire moves j, which has just become terminal, from the live table to the
// terminal jobs' index. O(1) expected for the table and done; O(log n) for the
// index, one comparison a level when j's ID is the greatest; plus a step of
// building done, O(log n + filterStep), while it is being built. Engine.finish,
// the one caller, runs once a job; should j not be in the live table, it is put in
// the index all the same unless it is there already, so no job is lost.
func (s *jobStore) retire(j *jobState) {
	h, inLive := s.live.remove(j.ID)
	if !inLive {
		if _, ok := s.doneIDs.get(j); ok {
			return
		}
	}
	s.doneIDs.insert(j)
	if s.covers(j.ID) {
		if !inLive {
			h = s.live.hash(j.ID)
		}
		s.done.add(h)
	}
	if j.ID > s.maxDone {
		s.maxDone = j.ID
	}
	s.buildStep()
}

// forget drops j, a terminal job being deleted, from the terminal jobs' index and
// from done. O(log n), plus a step of building done while it is being built.
func (s *jobStore) forget(j *jobState) {
	if s.covers(j.ID) {
		s.done.remove(s.live.hash(j.ID))
	}
	s.doneIDs.remove(j)
	if j.ID == s.maxDone {
		s.maxDone = s.doneIDs.maxID()
	}
	s.buildStep()
}

// buildStep adds to done the next filterStep terminal jobs after built, in ID
// order, while done is being built; done is whole once none is left. O(log n +
// filterStep).
func (s *jobStore) buildStep() {
	if !s.building {
		return
	}
	k := 0
	end := true
	s.doneIDs.ascendAfter(s.built, func(j *jobState) bool {
		if k == filterStep {
			end = false
			return false
		}
		s.done.add(s.live.hash(j.ID))
		s.built = j.ID
		k++
		return true
	})
	if end {
		s.building, s.whole, s.built = false, true, ""
	}
}

// len returns the number of jobs, terminal ones included. O(1).
func (s *jobStore) len() int { return s.live.len() + s.doneIDs.len() }

// sorted returns every job in ID order. It is for checks and tests: O(n log n).
func (s *jobStore) sorted() []*jobState {
	js := s.live.sorted()
	s.doneIDs.ascendAfter("", func(j *jobState) bool {
		js = append(js, j)
		return true
	})
	slices.SortFunc(js, func(a, b *jobState) int { return strings.Compare(a.ID, b.ID) })
	return js
}

// check verifies s's invariants: the live table's own (jobTable.check), no
// terminal job in it, every job of the terminal jobs' index terminal and not in
// the table, maxDone the greatest terminal ID, and done holding exactly the hashes
// of the terminal IDs it covers (all when whole, those up to built while being
// built, none before). It is for CheckIndexes: O(n).
func (s *jobStore) check() error {
	if err := s.live.check(); err != nil {
		return err
	}
	for j := range s.live.all() {
		if j.st.terminal() {
			return fmt.Errorf("job store: terminal job %q in the live table", j.ID)
		}
	}
	if s.whole && s.building {
		return fmt.Errorf("job store: done both whole and being built")
	}
	want := map[uint64]int{}
	var bad error
	s.doneIDs.ascendAfter("", func(j *jobState) bool {
		_, inLive := s.live.get(j.ID)
		switch {
		case !j.st.terminal():
			bad = fmt.Errorf("job store: job %q in the terminal jobs' index is %s", j.ID, j.Status())
		case inLive:
			bad = fmt.Errorf("job store: terminal job %q in the live table", j.ID)
		}
		if s.covers(j.ID) {
			want[setValue(s.live.hash(j.ID))]++
		}
		return bad == nil
	})
	if bad != nil {
		return bad
	}
	if s.maxDone != s.doneIDs.maxID() {
		return fmt.Errorf("job store: greatest terminal ID %q, %q in the index", s.maxDone, s.doneIDs.maxID())
	}
	got := map[uint64]int{}
	n := 0
	for _, t := range [...]*hashSlots{&s.done.old, &s.done.cur} {
		for _, v := range t.vals {
			if v > hashDeleted {
				got[v]++
				n++
			}
		}
	}
	if n != s.done.len() || len(got) != len(want) {
		return fmt.Errorf("job store: done counts %d hashes, %d in its slots (%d distinct), %d distinct wanted", s.done.len(), n, len(got), len(want))
	}
	for v, c := range want {
		if got[v] != c {
			return fmt.Errorf("job store: hash %#x held %d times, %d wanted", v, got[v], c)
		}
	}
	return nil
}
