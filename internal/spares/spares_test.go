package spares

import (
	"testing"

	"github.com/stretchr/testify/require"
)

type rec struct {
	n    int
	refs *int
}

// Put clears what it keeps and keeps at most max; Keep keeps a record as it is; Get
// hands back the last one kept first, then new zero records.
func TestListBoundsClearsAndReuses(t *testing.T) {
	var l List[rec]
	x := 7
	a, b, c := &rec{n: 1, refs: &x}, &rec{n: 2, refs: &x}, &rec{n: 3}
	l.Put(a, 2)
	l.Keep(b, 2)
	l.Put(c, 2) // over the bound: dropped, left as it was
	require.Equal(t, 2, l.Len())
	require.Equal(t, rec{n: 3}, *c, "a record not kept is not cleared")
	require.Equal(t, []*rec{a, b}, l.All())
	require.Equal(t, rec{}, *a, "Put clears")

	require.Same(t, b, l.Get())
	require.Equal(t, rec{n: 2, refs: &x}, *b, "Keep leaves the record as it was")
	require.Same(t, a, l.Get())
	require.Zero(t, l.Len())
	fresh := l.Get()
	require.Equal(t, rec{}, *fresh)
	require.NotSame(t, a, fresh)
}
