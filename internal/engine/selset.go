package engine

import (
	"encoding/binary"
	"hash/maphash"
	"slices"
)

// Interned selector sets. Jobs routinely ask for the same selectors (a skill and a
// language, say, the same for every job of a kind): B2 queues 100,000 jobs over 50
// selector sets. A job created with requested selectors that never expire, and so
// carry no state of the job's own, shares one jobSelectors record with every other
// job whose requested selectors are identical (key, operator, value of the same Go
// type and equal, Expedite): the record, its selector slice and its requirement
// slice, about 300 B a job, are made once per set (B2's queued jobs: 65 → 32 MB).
//
// A shared record is never written to. setSelectors, through which every change of
// a job's selectors goes (classification attaching selectors, an exception action,
// expiry, an update), lets go of a shared record and gives the job a record of its
// own, as before. A job that ends keeps the shared record (where a job's own drops
// its requirements) and lets go of it when it is deleted. A set is forgotten when
// its last job lets go of it, so the table holds only the sets of stored jobs. Jobs
// given selectors by UpdateJob keep records of their own. CheckIndexes verifies the
// counts.
//
// A job whose set no other stored job has pays for the table: an encoding of its
// selectors, hashed, and a lookup, then a removal when it is deleted (about 1,200
// instructions a B2 new-job sample, whose every set is its own). A job that is
// classified, updated or reclassified gives up its shared record at once for one of
// its own (setSelectors), one allocation more than before for such a job.

// selectorSets is the engine's table of interned selector records, by the hash of
// an encoding of their requested selectors (records whose hashes collide are
// chained).
type selectorSets struct {
	seed maphash.Seed
	m    map[uint64]*internedSelectors
}

// internedSelectors is an interned record: the shared jobSelectors (whose shared
// field points back here) and what the table needs of it.
type internedSelectors struct {
	jobSelectors
	set  *selectorSets
	next *internedSelectors // the next record of the same hash
	hash uint64
	refs int // the jobs sharing it
}

// hash returns a hash of sels: identical selectors hash alike. It hashes, in one
// call, an encoding made on the stack: each key and operator, then the value, a
// string, int or bool directly and any other as appendValue encodes it (which gives
// an int64 2 and a float64 2.0 one encoding), each field ended by a zero byte (a key
// holding one may encode like another key). Selectors that encode alike but differ
// are told apart by intern's exact comparison. O(len(sels)), no allocation for a
// few short selectors.
func (t *selectorSets) hash(sels []Selector) uint64 {
	var buf [192]byte
	b := buf[:0]
	for _, s := range sels {
		b = append(append(b, s.Key...), 0)
		b = append(append(b, s.Op...), 0)
		switch v := s.Value.(type) {
		case string:
			b = append(append(append(b, 's'), v...), 0)
		case int:
			b = binary.LittleEndian.AppendUint64(append(b, 'i'), uint64(v))
		case bool:
			b = append(b, 'b', btoByte(v))
		default:
			b = appendValue(append(b, 'v'), v)
		}
		b = append(b, btoByte(s.Expedite))
	}
	return maphash.Bytes(t.seed, b)
}

// btoByte is 't' for true, 'f' for false.
func btoByte(v bool) byte {
	if v {
		return 't'
	}
	return 'f'
}

// internable reports whether a new job with the requested selectors sels may share
// a record: it has some, none of them expires, and none carries an expiry state.
// O(len(sels)).
func internable(sels []Selector) bool {
	if len(sels) == 0 {
		return false
	}
	for _, s := range sels {
		if s.ExpiresAfter != 0 || s.Expired || !s.ExpiresAt.IsZero() {
			return false
		}
	}
	return true
}

// intern gives j, a job being created (so without a selector record or attached
// selectors), the shared record of its requested selectors sels (the engine's own
// copy, validated), making it for the first job that asks; it reports false,
// changing nothing, when sels is not internable. O(len(sels)), plus the records in
// a bucket (one but for a hash collision), plus making a new set's requirements.
func (t *selectorSets) intern(j *jobState, sels []Selector) bool {
	if !internable(sels) {
		return false
	}
	if t.m == nil {
		t.seed = maphash.MakeSeed()
		t.m = make(map[uint64]*internedSelectors)
	}
	h := t.hash(sels)
	first := t.m[h]
	for rec := first; rec != nil; rec = rec.next {
		if slices.EqualFunc(rec.requested, sels, identicalSelector) {
			rec.refs++
			j.sel = &rec.jobSelectors
			return true
		}
	}
	rec := &internedSelectors{set: t, next: first, hash: h, refs: 1}
	rec.requested, rec.shared = sels, rec
	j.sel = &rec.jobSelectors
	rec.reqs = activeReqs(j)
	t.m[h] = rec
	return true
}

// release counts one job less sharing the record, and forgets the set when none is
// left. O(1), but for a hash collision.
func (rec *internedSelectors) release() {
	rec.refs--
	if rec.refs > 0 {
		return
	}
	t := rec.set
	p := t.m[rec.hash]
	if p == rec {
		if rec.next == nil {
			delete(t.m, rec.hash)
		} else {
			t.m[rec.hash] = rec.next
		}
		return
	}
	for p.next != rec {
		p = p.next
	}
	p.next = rec.next
}

// len returns the number of interned sets. O(sets).
func (t *selectorSets) len() int {
	n := 0
	for _, rec := range t.m {
		for ; rec != nil; rec = rec.next {
			n++
		}
	}
	return n
}

// identicalSelector reports whether a and b are the same selector, value for value
// and Go type for Go type (floats by their bits), expiry state included.
func identicalSelector(a, b Selector) bool {
	return a.Key == b.Key && a.Op == b.Op && exactEqual(a.Value, b.Value) &&
		a.ExpiresAfter == b.ExpiresAfter && a.Expedite == b.Expedite &&
		a.Expired == b.Expired && a.ExpiresAt.Equal(b.ExpiresAt)
}
