package engine

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// tableModel drives a jobTable and a Go map, the reference, with the same
// operations, and compares them.
type tableModel struct {
	t    testing.TB
	tab  jobTable
	ref  map[string]*jobState
	maxN int // most live jobs at once
	// ids are the present IDs, in an order set by the calls alone (at: each one's
	// index), for anyID to pick from without sorting or map order.
	ids []string
	at  map[string]int

	// Migration bookkeeping: every call moves at most migrateStep slots, and a
	// migration ends in the put or del that moves its last slot.
	migrations, sameSize int
	// movedAt and oldSize are the move counter when the migration running
	// began and the size it moves from: it ends having moved every slot.
	movedAt, oldSize int
	// checkEdges runs check after every call that begins or ends a migration.
	checkEdges bool
}

// newTableModel returns an empty model whose table hashes with seededHash(seed),
// so that its layout, and any failure, replays; tests pick IDs by their hashes.
func newTableModel(t testing.TB, seed uint64) *tableModel {
	return &tableModel{t: t, ref: map[string]*jobState{}, at: map[string]int{}, tab: jobTable{testHash: seededHash(seed)}}
}

// seededHash is a reproducible stand-in for the table's seeded maphash: FNV-1a
// from seed, then splitmix64's finalizer, as the home slot is the hash's top bits.
func seededHash(seed uint64) func(string) uint64 {
	return func(s string) uint64 {
		h := seed ^ 14695981039346656037
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		return h ^ h>>31
	}
}

// call runs op on the table, checking the per-call migration bound and counting
// the migrations begun. The per-call checks are plain comparisons, and Helper is
// called only on failure: testify and Helper on every call took more than half of
// these tests' time.
func (m *tableModel) call(op func()) {
	moved, size, migrating := m.tab.moved, len(m.tab.cur.jobs), m.tab.old.jobs != nil
	op()
	if n := m.tab.moved - moved; n > migrateStep {
		m.fail("one call moved %d slots, more than migrateStep", n)
	}
	if m.tab.old.jobs != nil && !migrating || len(m.tab.cur.jobs) != size && size != 0 {
		if migrating {
			m.fail("a migration began before the last one ended")
		}
		m.migrations++
		if len(m.tab.cur.jobs) == size {
			m.sameSize++
		}
		m.movedAt, m.oldSize = moved, len(m.tab.old.jobs)
	}
	if migrating && m.tab.old.jobs == nil && m.tab.moved-m.movedAt != m.oldSize {
		m.fail("a migration ended having moved %d of %d slots", m.tab.moved-m.movedAt, m.oldSize)
	}
	if m.checkEdges && migrating != (m.tab.old.jobs != nil) {
		if err := m.tab.check(); err != nil {
			m.fail("%v", err)
		}
	}
}

// fail ends the test with a message, reported at the test's line.
func (m *tableModel) fail(format string, args ...any) {
	m.t.Helper()
	m.t.Fatalf(format, args...)
}

func (m *tableModel) put(id string) {
	if m.ref[id] != nil {
		return // put's precondition: the ID is not in the table
	}
	j := &jobState{ID: id}
	m.call(func() { m.tab.put(j) })
	m.ref[id] = j
	m.at[id] = len(m.ids)
	m.ids = append(m.ids, id)
	m.maxN = max(m.maxN, len(m.ref))
	m.requireGet(id)
}

func (m *tableModel) del(id string) {
	var ok bool
	m.call(func() { ok = m.tab.del(id) })
	if want := m.ref[id] != nil; ok != want {
		m.fail("del(%q) = %v, want %v", id, ok, want)
	}
	if i, ok := m.at[id]; ok {
		last := m.ids[len(m.ids)-1]
		m.ids[i], m.at[last] = last, i
		m.ids = m.ids[:len(m.ids)-1]
		delete(m.at, id)
	}
	delete(m.ref, id)
	m.requireGet(id)
}

func (m *tableModel) requireGet(id string) {
	j, ok := m.tab.get(id)
	want := m.ref[id]
	switch {
	case ok != (want != nil):
		m.fail("get(%q) found %v, want %v", id, ok, want != nil)
	case j != want:
		m.fail("get(%q) returned another job", id)
	case m.tab.len() != len(m.ref):
		m.fail("len() = %d, want %d", m.tab.len(), len(m.ref))
	}
}

// requireSame compares everything: the invariants, every entry both ways, and
// the iteration's contents.
func (m *tableModel) requireSame() {
	m.t.Helper()
	require.NoError(m.t, m.tab.check())
	for id := range m.ref {
		m.requireGet(id)
	}
	var got, want []string
	for j := range m.tab.all() {
		require.Same(m.t, m.ref[j.ID], j)
		got = append(got, j.ID)
	}
	for id := range m.ref {
		want = append(want, id)
	}
	slices.Sort(got)
	slices.Sort(want)
	require.Equal(m.t, want, got, "the jobs iterated")
	for i, j := range m.tab.sorted() {
		require.Equal(m.t, want[i], j.ID, "sorted")
	}
}

// tagTwins returns n IDs whose hashes under hash share their tag and top bits
// (so the same home slot in every table of up to 2^homeBits slots).
func tagTwins(hash func(string) uint64, prefix string, n int, homeBits uint) []string {
	var out []string
	want := uint64(0)
	for i := 0; len(out) < n; i++ {
		id := prefix + strconv.Itoa(i)
		h := hash(id)
		key := h>>(64-homeBits)<<7 | h&0x7f
		if len(out) == 0 {
			want = key
		}
		if key == want {
			out = append(out, id)
		}
	}
	return out
}

// TestJobTableDifferential runs random puts, gets and dels against a Go map
// through growth to a few thousand jobs, shrinking (tombstone sweeps) and
// regrowth, with IDs reinserted after deletion and IDs whose tags and home slots
// are equal, checking every step and, periodically, everything.
func TestJobTableDifferential(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			m := newTableModel(t, seed)
			// A pool where a third of the IDs collide on tag and home (up to 64
			// slots), so that chains of equal tags are common while small.
			pool := tagTwins(m.tab.testHash, "twin", 300, 6)
			for i := len(pool); i < 900; i++ {
				pool = append(pool, fmt.Sprintf("job-%d", i))
			}
			fresh := 0
			// Phases: a target size to move towards, through growth, mass
			// deletion (tombstones, then a same-size migration) and regrowth.
			for _, target := range []int{40, 5, 700, 20, 3000, 100, 1500} {
				for steps := 0; steps < 4*max(target, 200); steps++ {
					id := pool[r.IntN(len(pool))]
					if r.IntN(4) == 0 {
						fresh++
						id = "new-" + strconv.Itoa(fresh) // never seen before
					}
					switch grow := len(m.ref) < target; {
					case r.IntN(10) == 0:
						m.requireGet(id)
					case grow && r.IntN(4) != 0 || !grow && r.IntN(4) == 0:
						m.put(id)
					default:
						// Delete a present job mostly; sometimes an absent one.
						if len(m.ref) > 0 && r.IntN(8) != 0 {
							id = m.anyID(r)
						}
						m.del(id)
					}
					if steps%97 == 0 || m.tab.old.jobs != nil && m.tab.next == 0 {
						m.requireSame()
					}
				}
				m.requireSame()
			}
			require.Greater(t, m.migrations, 8)
			require.Positive(t, m.sameSize, "no tombstone sweep happened")
			require.LessOrEqual(t, len(m.tab.cur.jobs), 8192, "the table outgrew its most jobs (%d)", m.maxN)
		})
	}
}

// anyID returns a present ID picked by r (map order is not used, and the table
// hashes with a fixed seed, so a failure replays).
func (m *tableModel) anyID(r *rand.Rand) string { return m.ids[r.IntN(len(m.ids))] }

// TestJobTableEqualTags stores IDs that share tag and home slot in every table
// size the test reaches, so every probe meets tag matches of other jobs, and
// deletes and reinserts them while tables migrate.
func TestJobTableEqualTags(t *testing.T) {
	m := newTableModel(t, 1)
	twins := tagTwins(m.tab.testHash, "t", 40, 8) // one home in tables of up to 256 slots
	for _, id := range twins {
		m.put(id)
		require.NoError(t, m.tab.check())
	}
	for i, id := range twins {
		if i%3 == 0 {
			m.del(id)
			require.NoError(t, m.tab.check())
		}
	}
	for _, id := range twins {
		m.put(id) // the deleted ones come back into tombstones
		m.requireSame()
	}
	for _, id := range twins {
		m.del(id)
		m.requireSame()
	}
	require.Zero(t, m.tab.len())
}

// TestJobTableMigrationBound grows a table to 200,000 jobs with one deletion
// for every three puts, then churns at a steady size: no call moves more than
// migrateStep slots, each migration ends before the next begins, the invariant
// that proves it holds at every migration's start and end, and churn at a
// steady size sweeps tombstones, growing only while the jobs fill more than
// 3/8 of the slots.
func TestJobTableMigrationBound(t *testing.T) {
	if testing.Short() {
		t.Skip("200,000 jobs")
	}
	m := newTableModel(t, 2)
	m.checkEdges = true
	n := 0
	for len(m.ref) < 200_000 {
		n++
		m.put("j" + strconv.Itoa(n))
		if n%3 == 0 {
			m.del("j" + strconv.Itoa(n/2))
		}
	}
	require.GreaterOrEqual(t, m.migrations, 14)
	m.requireSame()

	size, grown := len(m.tab.cur.jobs), m.migrations
	oldest := 0 // churn deletes the oldest job left
	for i := 0; i < 3*size; i++ {
		n++
		m.put("j" + strconv.Itoa(n))
		for m.ref["j"+strconv.Itoa(oldest)] == nil {
			oldest++
		}
		m.del("j" + strconv.Itoa(oldest))
	}
	// 200,000 jobs are more than 3/8 of 2^19 slots, so the first sweep doubles;
	// in 2^20 slots they are fewer, and the table stays.
	require.Equal(t, 2*size, len(m.tab.cur.jobs), "churn at a steady size grew the table twice")
	require.Greater(t, m.sameSize, 0, "churn left tombstones unswept")
	require.Greater(t, m.migrations, grown)
	m.requireSame()
}

// TestJobTableSameSizeWorstCase starts a same-size migration (a tombstone sweep)
// with as many live jobs as allows one, 3/8 of the slots less one, and then
// only puts: the proof's tightest case, which a step of 2 would fail.
func TestJobTableSameSizeWorstCase(t *testing.T) {
	m := newTableModel(t, 2)
	m.checkEdges = true
	n, oldest := 0, 0
	put := func() { n++; m.put("w" + strconv.Itoa(n)) }
	del := func() {
		for m.ref["w"+strconv.Itoa(oldest)] == nil {
			oldest++
		}
		m.del("w" + strconv.Itoa(oldest))
	}
	const size = 1024
	for len(m.tab.cur.jobs) < size || m.tab.old.jobs != nil {
		put()
	}
	for m.tab.len() > maxUsed(size)/2-1 {
		del()
	}
	for m.tab.old.jobs == nil {
		put()
		del()
	}
	// The put above began the sweep; the del after it moved migrateStep slots.
	require.Equal(t, size, len(m.tab.cur.jobs))
	require.Equal(t, 1, m.sameSize)
	for m.tab.old.jobs != nil {
		put()
		require.NoError(t, m.tab.check())
	}
	m.requireSame()
}

// TestJobTableNoAllocs: get, put and del allocate nothing outside growth.
func TestJobTableNoAllocs(t *testing.T) {
	m := newTableModel(t, 2)
	for i := range 100 {
		m.put(strconv.Itoa(i))
	}
	j := &jobState{ID: "x"}
	allocs := testing.AllocsPerRun(1000, func() {
		m.tab.put(j)
		if got, _ := m.tab.get("x"); got != j {
			panic("lost")
		}
		m.tab.get("absent")
		m.tab.del("x")
	})
	require.Zero(t, allocs)
}

// FuzzJobTable drives a table and a map with operations read from the input:
// each two bytes are an operation (put, get, del) and an ID from a small set,
// many of whose members collide on tag and home slot. Every call is compared
// with the map; the invariants are checked every 16 calls and at each
// migration's start and end.
func FuzzJobTable(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 2, 1, 1, 2, 0, 1})
	long := make([]byte, 0, 4096)
	for i := range 1024 {
		long = append(long, 0, byte(i)) // fill: growth to 256 jobs
	}
	for i := range 1024 {
		long = append(long, byte(2+i%2), byte(i*7)) // churn: tombstones, migrations
	}
	f.Add(long)
	f.Add(binary.LittleEndian.AppendUint64(nil, 0x0200010002000100))
	// One hash for every input, so that the colliding IDs are found once, and a
	// failing input replays.
	hash := seededHash(3)
	ids := tagTwins(hash, "f", 64, 6)
	for i := range 192 {
		ids = append(ids, "id"+strconv.Itoa(i))
	}
	f.Fuzz(func(t *testing.T, ops []byte) {
		m := newTableModel(t, 3)
		m.checkEdges = true
		for i := 0; i+1 < len(ops); i += 2 {
			id := ids[ops[i+1]]
			switch ops[i] % 4 {
			case 0, 3:
				m.put(id)
			case 1:
				m.requireGet(id)
			case 2:
				m.del(id)
			}
			if i%32 == 0 { // every 16 calls
				require.NoError(t, m.tab.check())
			}
		}
		m.requireSame()
	})
}

// BenchmarkJobTable compares the table's get, put and del at a million jobs with
// a Go map's. put fills an empty table to a million (growth included); del empties
// a full one; get looks up present IDs in random order.
func BenchmarkJobTable(b *testing.B) {
	const n = 1 << 20
	jobs := make([]*jobState, n)
	for i := range jobs {
		jobs[i] = &jobState{ID: fmt.Sprintf("job-%08d", i)}
	}
	r := rand.New(rand.NewPCG(1, 2))
	order := r.Perm(n)
	type impl struct {
		name string
		fill func([]*jobState)
		get  func(string) *jobState
		put  func(*jobState)
		del  func(string)
	}
	var tab jobTable
	var ref map[string]*jobState
	impls := []impl{
		{"table",
			func(js []*jobState) {
				tab = jobTable{}
				for _, j := range js {
					tab.put(j)
				}
			},
			func(id string) *jobState { j, _ := tab.get(id); return j },
			func(j *jobState) { tab.put(j) },
			func(id string) { tab.del(id) }},
		{"map",
			func(js []*jobState) {
				ref = map[string]*jobState{}
				for _, j := range js {
					ref[j.ID] = j
				}
			},
			func(id string) *jobState { return ref[id] },
			func(j *jobState) { ref[j.ID] = j },
			func(id string) { delete(ref, id) }},
	}
	// run times op on the jobs in random order, refilling the table with start
	// (nil: empty) before the first and every n-th.
	run := func(b *testing.B, im impl, start []*jobState, op func(*jobState)) {
		for i := range b.N {
			if i%n == 0 {
				b.StopTimer()
				im.fill(start)
				b.StartTimer()
			}
			op(jobs[order[i%n]])
		}
	}
	for _, im := range impls {
		b.Run("op=get/impl="+im.name, func(b *testing.B) {
			run(b, im, jobs, func(j *jobState) {
				if im.get(j.ID) != j {
					b.Fatal("lost")
				}
			})
		})
		b.Run("op=put/impl="+im.name, func(b *testing.B) { run(b, im, nil, im.put) })
		b.Run("op=del/impl="+im.name, func(b *testing.B) {
			run(b, im, jobs, func(j *jobState) { im.del(j.ID) })
		})
	}
}

// growing puts jobs into m until a migration is under way, and returns the next
// job number.
func (m *tableModel) growing(n int) int {
	m.t.Helper()
	for m.tab.old.jobs == nil || m.tab.next == 0 {
		n++
		m.put("g" + strconv.Itoa(n))
	}
	require.NotNil(m.t, m.tab.old.jobs, "a migration under way")
	return n
}

// TestJobTableRebuild: put's fallback, should the migration bound ever fail,
// moves both tables of a migration under way into one with room, losing no job.
func TestJobTableRebuild(t *testing.T) {
	m := newTableModel(t, 4)
	m.growing(0)
	old := len(m.tab.cur.jobs)
	m.tab.rebuild()
	require.Nil(t, m.tab.old.jobs, "the migration ended")
	require.GreaterOrEqual(t, len(m.tab.cur.jobs), old)
	require.LessOrEqual(t, 2*(m.tab.len()+1), maxUsed(len(m.tab.cur.jobs)))
	m.requireSame()
	m.put("after")
	m.requireSame()
}

// TestJobTableDelsFinishAMigration: deletions alone move a migration on, so a
// table that only shrinks after growing frees its old array.
func TestJobTableDelsFinishAMigration(t *testing.T) {
	m := newTableModel(t, 5)
	m.growing(0)
	for m.tab.old.jobs != nil {
		require.NotZero(t, m.tab.len(), "the jobs ran out before the migration ended")
		m.del(m.tab.sorted()[0].ID)
	}
	m.requireSame()
}

// TestJobTableCheckCatchesCorruption: check, which CheckIndexes runs, reports a
// wrong tag, a wrong used count, a live slot without a job, a job in both tables
// and a job left below the migration cursor.
func TestJobTableCheckCatchesCorruption(t *testing.T) {
	fresh := func() *tableModel {
		m := newTableModel(t, 6)
		m.growing(0)
		require.NoError(t, m.tab.check())
		return m
	}
	live := func(s *jobSlots) int {
		for i, tag := range s.tags {
			if tag >= tagLive {
				return i
			}
		}
		t.Fatal("no live slot")
		return -1
	}

	m := fresh()
	i := live(&m.tab.cur)
	m.tab.cur.tags[i] ^= 1
	require.ErrorContains(t, m.tab.check(), "has tag")

	m = fresh()
	m.tab.cur.used++
	require.ErrorContains(t, m.tab.check(), "used slots")

	m = fresh()
	m.tab.cur.jobs[live(&m.tab.cur)] = nil
	require.ErrorContains(t, m.tab.check(), "is live and empty")

	m = fresh()
	j := m.tab.old.jobs[live(&m.tab.old)]
	m.tab.cur.insert(j, m.tab.hash(j.ID)) // now in both
	m.tab.n++
	require.ErrorContains(t, m.tab.check(), "or in both")

	m = fresh()
	m.tab.next = live(&m.tab.old) + 1 // the cursor passed a live slot
	require.ErrorContains(t, m.tab.check(), "moved up to")
}
