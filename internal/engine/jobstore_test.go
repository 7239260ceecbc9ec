package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHashSetDifferential drives a hashSet and a Go map counting values, the
// reference, with the same random adds and removes, from a pool small enough for
// repeats, through several growths (TestHashSetSweeps churns): has, remove's answer and len must
// agree after every call, and no call may move more than migrateStep slots.
func TestHashSetDifferential(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			var s hashSet
			ref := map[uint64]int{} // by setValue, as the set keeps them
			n := 0
			pool := make([]uint64, 64+rng.IntN(4000))
			for i := range pool {
				pool[i] = rng.Uint64()
			}
			pool[0], pool[1] = 4, 6 // differ in bit 1 only: one value to the set
			for op := 0; op < 30_000; op++ {
				h := pool[rng.IntN(len(pool))]
				moved := s.moved
				switch {
				case rng.IntN(100) < 55:
					s.add(h)
					ref[setValue(h)]++
					n++
				default:
					ok := s.remove(h)
					require.Equal(t, ref[setValue(h)] > 0, ok, "op %d: remove(%#x)", op, h)
					if ok {
						ref[setValue(h)]--
						n--
					}
				}
				require.LessOrEqual(t, s.moved-moved, migrateStep, "op %d: slots moved in one call", op)
				require.LessOrEqual(t, s.cur.used, len(s.cur.vals)/2, "op %d: more than half the slots used", op)
				probe := pool[rng.IntN(len(pool))]
				require.Equal(t, ref[setValue(probe)] > 0, s.has(probe), "op %d: has(%#x)", op, probe)
				require.Equal(t, n, s.len(), "op %d: len", op)
			}
			require.True(t, s.has(6) == (ref[setValue(4)] > 0), "4 and 6 are one value")
		})
	}
}

// TestHashSetMigrationBound adds a million values one by one: the current table is
// never more than half used, so the rebuild (add's fallback) never runs, and every
// migration ends before the next begins.
func TestHashSetMigrationBound(t *testing.T) {
	var s hashSet
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 1_000_000; i++ {
		size := len(s.cur.vals)
		s.add(rng.Uint64())
		require.LessOrEqual(t, s.cur.used, len(s.cur.vals)/2)
		if len(s.cur.vals) != size && size != 0 {
			require.Equal(t, 2*size, len(s.cur.vals), "adds only double the table")
		}
	}
	require.Equal(t, 1_000_000, s.len())
	require.Zero(t, s.rebuilds)
}

// TestHashSetSweeps churns a set whose size stays far below its capacity, so that
// tombstones, not values, fill it: it migrates into tables of the same size (the
// sweeps), never rebuilds, and still agrees with a counting map.
func TestHashSetSweeps(t *testing.T) {
	var s hashSet
	rng := rand.New(rand.NewPCG(5, 5))
	ref := map[uint64]int{}
	var vals []uint64
	for i := 0; i < 2000; i++ { // grow to 4,096 slots or more first
		v := rng.Uint64()
		s.add(v)
		ref[setValue(v)]++
		vals = append(vals, v)
	}
	for len(vals) > 100 { // then shrink to 100
		v := vals[len(vals)-1]
		vals = vals[:len(vals)-1]
		require.True(t, s.remove(v))
		ref[setValue(v)]--
	}
	for op := 0; op < 200_000; op++ { // and churn at 100
		i := rng.IntN(len(vals))
		require.True(t, s.remove(vals[i]))
		ref[setValue(vals[i])]--
		vals[i] = rng.Uint64()
		s.add(vals[i])
		ref[setValue(vals[i])]++
		require.LessOrEqual(t, s.cur.used, len(s.cur.vals)/2)
		if op%1000 == 0 {
			for _, v := range vals[:10] {
				require.True(t, s.has(v))
			}
			require.Equal(t, ref[setValue(vals[0]^8)] > 0, s.has(vals[0]^8))
		}
	}
	require.Greater(t, s.sweeps, 10, "tombstones swept")
	require.Zero(t, s.rebuilds)
	require.Equal(t, 100, s.len())
}

// storeModel drives an engine with jobs whose IDs come in a given order, cancels
// and deletes some, and checks every lookup against what it did.
type storeModel struct {
	f      *fixture
	rng    *rand.Rand
	ids    []string        // every ID used, in order of first use
	seen   map[string]bool // the IDs in ids
	status map[string]byte // 'l' live, 't' terminal, 0 none (never made, or deleted)
}

func newStoreModel(t *testing.T, seed uint64, hash func(string) uint64) *storeModel {
	f := newFixture(t)
	if hash != nil {
		f.e.jobs.live.testHash = hash
	}
	f.basic()
	return &storeModel{f: f, rng: rand.New(rand.NewPCG(seed, seed)), seen: map[string]bool{}, status: map[string]byte{}}
}

// step does one random thing to the job id: creates it (whatever its state: a
// live or terminal ID must be refused), cancels it, or deletes it.
func (m *storeModel) step(id string) {
	f := m.f
	switch m.rng.IntN(3) {
	case 0:
		_, err := f.e.CreateJob(f.now, call(id, "q"))
		if m.status[id] == 0 {
			require.NoError(f.t, err, "create %s", id)
			m.status[id] = 'l'
			if !m.seen[id] {
				m.seen[id] = true
				m.ids = append(m.ids, id)
			}
		} else {
			require.Error(f.t, err, "create %s again (%c)", id, m.status[id])
			var e *Error
			require.True(f.t, errors.As(err, &e) && e.Code == CodeConflict, "create %s again: %v", id, err)
		}
	case 1:
		err := f.e.CancelJob(f.now, id, "", "")
		if m.status[id] == 'l' {
			require.NoError(f.t, err, "cancel %s", id)
			m.status[id] = 't'
		} else {
			require.Error(f.t, err, "cancel %s (%c)", id, m.status[id])
		}
	case 2:
		err := f.e.DeleteJob(f.now, id)
		if m.status[id] == 't' {
			require.NoError(f.t, err, "delete %s", id)
			m.status[id] = 0
		} else {
			require.Error(f.t, err, "delete %s (%c)", id, m.status[id])
		}
	}
}

// verify looks every ID up, plus some never used, and counts the live table.
func (m *storeModel) verify() {
	f := m.f
	live := 0
	for _, id := range m.ids {
		j, err := f.e.GetJob(id)
		switch m.status[id] {
		case 0:
			require.Error(f.t, err, "get %s, deleted", id)
		case 'l':
			live++
			require.NoError(f.t, err, "get %s", id)
			require.False(f.t, JobStatus(j.Status) == JobCancelled, "get %s", id)
		case 't':
			require.NoError(f.t, err, "get %s", id)
			require.Equal(f.t, JobCancelled, j.Status, "get %s", id)
		}
	}
	for i := 0; i < 20; i++ {
		_, ok := f.e.jobs.get(fmt.Sprintf("never-%d", m.rng.IntN(1_000_000)))
		require.False(f.t, ok)
	}
	require.Equal(f.t, live, f.e.jobs.live.len(), "the live table holds the jobs that are not terminal, and only those")
	require.NoError(f.t, f.e.CheckIndexes())
}

// idOrder makes the IDs a test uses: ascending, random, or ascending with a
// random one now and then.
func idOrder(kind string, rng *rand.Rand, i int) string {
	switch kind {
	case "ascending":
		return fmt.Sprintf("job-%06d", i)
	case "random":
		return fmt.Sprintf("job-%016x", rng.Uint64())
	default: // mixed
		if i%50 == 0 {
			return fmt.Sprintf("job-%016x", rng.Uint64())
		}
		return fmt.Sprintf("job-%06d", i)
	}
}

// TestJobStoreLookups creates, cancels and deletes jobs with IDs that ascend, are
// random, or mix the two, and checks after every round that each is found (or
// refused) as its state says, that only live jobs are in the hash table, and that
// CheckIndexes, which checks the store's counts, passes: with the engine's hash,
// and with a hash that gives every ID the same value (done then always answers
// "maybe", and the index decides).
func TestJobStoreLookups(t *testing.T) {
	for _, kind := range []string{"ascending", "random", "mixed"} {
		for _, constant := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/constant-hash=%v", kind, constant), func(t *testing.T) {
				var hash func(string) uint64
				if constant {
					hash = func(string) uint64 { return 0x5555 }
				}
				m := newStoreModel(t, 3, hash)
				idRng := rand.New(rand.NewPCG(11, 11))
				for round := 0; round < 40; round++ {
					for k := 0; k < 30; k++ {
						var id string
						if len(m.ids) == 0 || m.rng.IntN(3) == 0 {
							id = idOrder(kind, idRng, round*30+k)
						} else {
							id = m.ids[m.rng.IntN(len(m.ids))]
						}
						m.step(id)
					}
					m.verify()
				}
				if s := &m.f.e.jobs; kind == "random" && !constant {
					require.True(t, s.whole, "random IDs build the filter, which is then whole")
				}
			})
		}
	}
}

// TestJobStoreAscendingIDsNeedNoFilter creates jobs with ascending IDs, cancels,
// looks up and deletes them, never reusing an ID: every lookup of an ID that is no
// job's (each CreateJob's) is above the greatest terminal ID, so done is never
// built (each close would add to it, a cache miss in a large set), and every job
// is found. Then lookups of the deleted IDs, below it, build done.
func TestJobStoreAscendingIDsNeedNoFilter(t *testing.T) {
	f := newFixture(t)
	f.basic()
	for i := 0; i < 500; i++ {
		id := fmt.Sprintf("job-%06d", i)
		f.job(call(id, "q"))
		if i%3 != 0 {
			require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
		}
		if i%7 == 0 && i%3 != 0 {
			require.NoError(t, f.e.DeleteJob(f.now, id))
		}
		if k := i - 10; k >= 0 && (k%7 != 0 || k%3 == 0) { // an earlier job, not deleted
			_, err := f.e.GetJob(fmt.Sprintf("job-%06d", k))
			require.NoError(t, err)
		}
	}
	s := &f.e.jobs
	require.False(t, s.building || s.whole, "no filter built")
	require.Zero(t, s.done.len())
	require.Equal(t, 167, s.live.len(), "the jobs not cancelled")
	require.NoError(t, f.e.CheckIndexes())
	// Lookups of deleted IDs, below the greatest terminal one, are misses the index
	// answers; after filterAfterMisses of them done is built.
	for k := 7; k < 500; k += 7 {
		if k%3 != 0 {
			_, err := f.e.GetJob(fmt.Sprintf("job-%06d", k))
			require.Error(t, err)
		}
	}
	require.True(t, s.building || s.whole)
	require.NoError(t, f.e.CheckIndexes())
}

// TestJobStoreFilterBuildsInSteps checks that done is built a few terminal jobs per
// call, not all at once, and answers for the IDs up to the last it added meanwhile.
func TestJobStoreFilterBuildsInSteps(t *testing.T) {
	f := newFixture(t)
	f.basic()
	const n = 200
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("job-%04d", i)
		f.job(call(id, "q"))
		require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
	}
	s := &f.e.jobs
	require.False(t, s.building || s.whole)
	require.Zero(t, s.done.len(), "ascending IDs: no filter kept")
	for i := 0; i < filterAfterMisses; i++ { // IDs below maxDone that no job has
		_, ok := s.get(fmt.Sprintf("job-%04d-x", i))
		require.False(t, ok)
	}
	require.True(t, s.building, "building after %d misses", filterAfterMisses)
	require.Equal(t, filterStep, s.done.len(), "one step so far")
	require.NoError(t, f.e.CheckIndexes())
	// Each job retired meanwhile moves the building on by a step (and is added
	// itself, at once or when the building reaches its ID).
	extra := 0
	for s.building {
		before := s.done.len()
		id := fmt.Sprintf("job-%04d-y", extra)
		f.job(call(id, "q"))
		require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
		extra++
		require.LessOrEqual(t, s.done.len()-before, filterStep+1)
		require.NoError(t, f.e.CheckIndexes())
		require.Less(t, extra, n, "the building ends")
	}
	require.True(t, s.whole)
	require.Equal(t, n+extra, s.done.len())
	// From now on, a retired or deleted job's hash follows it.
	f.job(call("job-0000-z", "q"))
	require.NoError(t, f.e.CancelJob(f.now, "job-0000-z", "", ""))
	require.Equal(t, n+extra+1, s.done.len())
	require.NoError(t, f.e.DeleteJob(f.now, "job-0001"))
	require.Equal(t, n+extra, s.done.len())
	require.NoError(t, f.e.CheckIndexes())
}

// TestJobStoreChurnWhileBuilding starts building done over 600 terminal jobs with
// ascending IDs, then, while it is being built, creates, cancels, deletes and looks
// up jobs above and below built at random, checking every lookup against a model
// and CheckIndexes after every call: with the engine's hash and with one that
// hashes every ID alike, under which done's answers are all "maybe" and a wrong
// removal or a wrong "no" shows.
func TestJobStoreChurnWhileBuilding(t *testing.T) {
	for _, constant := range []bool{false, true} {
		t.Run(fmt.Sprint("constant-hash=", constant), func(t *testing.T) {
			var hash func(string) uint64
			if constant {
				hash = func(string) uint64 { return 0x5555 }
			}
			m := newStoreModel(t, 9, hash)
			f := m.f
			for i := 0; i < 600; i++ {
				id := fmt.Sprintf("job-%04d", i)
				f.job(call(id, "q"))
				require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
				m.status[id], m.seen[id] = 't', true
				m.ids = append(m.ids, id)
			}
			s := &f.e.jobs
			for i := 0; !s.building; i++ {
				_, ok := s.get(fmt.Sprintf("job-%04d-x%d", 300, i)) // below maxDone, no such job
				require.False(t, ok)
			}
			during := 0
			for op := 0; op < 3000 && s.building; op++ {
				var id string
				switch r := m.rng.IntN(4); {
				case r == 0: // a new ID near built, on either side of it
					id = s.built + fmt.Sprintf("-%d", m.rng.IntN(3))
					if m.rng.IntN(2) == 0 && len(s.built) > 0 {
						id = s.built[:len(s.built)-1]
					}
				default:
					id = m.ids[m.rng.IntN(len(m.ids))]
				}
				m.step(id)
				for k := 0; k < 3; k++ {
					probe := m.ids[m.rng.IntN(len(m.ids))]
					j, ok := s.get(probe)
					require.Equal(t, m.status[probe] != 0, ok, "get %s (%c) while building up to %s", probe, m.status[probe], s.built)
					if ok {
						require.Equal(t, m.status[probe] == 't', j.st.terminal(), "get %s", probe)
					}
				}
				require.NoError(t, f.e.CheckIndexes())
				during++
			}
			require.Greater(t, during, 20, "calls made while building")
			m.verify()
		})
	}
}

// TestJobStoreCheckCatchesCorruption breaks four of jobStore.check's invariants in
// turn and requires CheckIndexes to report each.
func TestJobStoreCheckCatchesCorruption(t *testing.T) {
	setup := func(t *testing.T) *fixture {
		f := newFixture(t)
		f.basic()
		for i := 0; i < 20; i++ {
			id := fmt.Sprintf("job-%02x", (i*7)%20) // not ascending
			f.job(call(id, "q"))
			if i%2 == 0 {
				require.NoError(t, f.e.CancelJob(f.now, id, "", ""))
			}
		}
		for i := 0; i < filterAfterMisses+20; i++ {
			f.e.jobs.get("job-00x") // below maxDone, no such job: builds done
		}
		require.True(t, f.e.jobs.whole)
		require.NoError(t, f.e.CheckIndexes())
		return f
	}
	t.Run("a terminal job in the live table", func(t *testing.T) {
		f := setup(t)
		j, ok := f.e.jobs.get("job-00")
		require.True(t, ok)
		require.True(t, j.st.terminal())
		f.e.jobs.live.put(j)
		require.Error(t, f.e.CheckIndexes())
	})
	t.Run("a hash missing from done", func(t *testing.T) {
		f := setup(t)
		f.e.jobs.done.remove(f.e.jobs.live.hash("job-00"))
		require.Error(t, f.e.CheckIndexes())
	})
	t.Run("a hash too many in done", func(t *testing.T) {
		f := setup(t)
		f.e.jobs.done.add(f.e.jobs.live.hash("job-nope"))
		require.Error(t, f.e.CheckIndexes())
	})
	t.Run("a wrong greatest terminal ID", func(t *testing.T) {
		f := setup(t)
		f.e.jobs.maxDone = "job-00"
		require.Error(t, f.e.CheckIndexes())
	})
}
