package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// Jobs created with identical selectors that never expire share one selector record
// (selset.go); a job whose selectors differ by a value's Go type shares another
// (int64 2 and 2.0 encode alike and are chained in one bucket), and one that has an
// expiring selector keeps its own. A record leaves the middle of a chain intact. Each job's view shows its own selectors as
// given. A change to one sharer's selectors gives it a record of its own and leaves
// the others' alone, and the set is forgotten with its last sharer. The fixture runs
// CheckIndexes after every call, which counts the sharers of each record.
func TestInternedSelectors(t *testing.T) {
	f := newFixture(t)
	f.basic()
	sels := func(lang string, tier any) []Selector {
		return []Selector{{Key: "lang", Op: labels.Equal, Value: lang}, {Key: "tier", Op: labels.GreaterThan, Value: tier}}
	}
	job := func(id string, s []Selector) *jobState {
		t.Helper()
		in := call(id, "q")
		in.RequestedWorkerSelectors = s
		f.job(in)
		j, ok := f.e.jobs.get(id)
		require.True(t, ok)
		return j
	}
	a := job("a", sels("en", 2))
	b := job("b", sels("en", 2))
	c := job("c", sels("fr", 2))
	d := job("d", sels("en", 2.0))          // a float64
	d64 := job("d64", sels("en", int64(2))) // encodes as 2.0 does: the same hash
	expiring := sels("en", 2)
	expiring[0].ExpiresAfter = time.Hour
	e := job("e", expiring)

	require.Same(t, a.sel, b.sel, "identical selectors: one record")
	require.NotSame(t, a.sel, c.sel)
	require.Equal(t, 2, a.sel.shared.refs)
	require.NotSame(t, a.sel, d.sel, "2 and 2.0 are told apart")
	require.NotSame(t, d.sel, d64.sel, "int64 2 and 2.0 are told apart")
	require.Equal(t, d.sel.shared.hash, d64.sel.shared.hash, "and chained under one hash")
	require.Nil(t, e.sel.shared, "an expiring selector is the job's own state")
	require.Equal(t, 4, f.e.selSets.len(), "en/2, fr/2, en/2.0 and en/int64(2)")
	require.Equal(t, int64(2), f.getJob("d64").RequestedWorkerSelectors[1].Value)

	// Three records under one hash (the newest first: d32, d64, d); the middle one
	// goes, and the chain skips it.
	d32 := job("d32", sels("en", int32(2)))
	h := d.sel.shared.hash
	require.Equal(t, h, d32.sel.shared.hash)
	require.Same(t, d64.sel.shared, f.e.selSets.m[h].next)
	require.NoError(t, f.e.CancelJob(f.now, "d64", "", ""))
	require.NoError(t, f.e.DeleteJob(f.now, "d64"))
	f.advance(0) // a pass: CheckIndexes
	require.Equal(t, 4, f.e.selSets.len(), "en/2, fr/2, en/2.0 and en/int32(2)")
	require.Same(t, d32.sel.shared, f.e.selSets.m[h])
	require.Same(t, d.sel.shared, f.e.selSets.m[h].next, "the chain skips d64's record")
	require.Equal(t, 2.0, f.getJob("d").RequestedWorkerSelectors[1].Value)
	require.Equal(t, 2, f.getJob("a").RequestedWorkerSelectors[1].Value)
	require.False(t, f.getJob("e").RequestedWorkerSelectors[0].ExpiresAt.IsZero(), "e's selector clock started")

	// A change to b's selectors: b gets a record of its own, a keeps the shared one.
	upd := f.getJob("b")
	upd.RequestedWorkerSelectors = sels("de", 2)
	_, err := f.e.UpdateJob(f.now, upd)
	require.NoError(t, err)
	require.Nil(t, b.sel.shared)
	require.Equal(t, 1, a.sel.shared.refs)
	require.Equal(t, sels("en", 2), f.getJob("a").RequestedWorkerSelectors)
	require.Equal(t, "de", f.getJob("b").RequestedWorkerSelectors[0].Value)

	// The set goes with its last sharer: a cancelled job keeps it until deleted.
	require.NoError(t, f.e.CancelJob(f.now, "a", "", ""))
	require.NotNil(t, a.sel.shared)
	require.Equal(t, sels("en", 2), f.getJob("a").RequestedWorkerSelectors, "the cancelled job still shows its selectors")
	require.NoError(t, f.e.DeleteJob(f.now, "a"))
	require.Equal(t, 3, f.e.selSets.len(), "fr/2, en/2.0 and en/int32(2) are left")

	// A new job with a set forgotten makes it anew.
	g := job("g", sels("en", 2))
	require.NotNil(t, g.sel.shared)
	require.Equal(t, 4, f.e.selSets.len())
}
