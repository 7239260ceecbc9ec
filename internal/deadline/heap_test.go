package deadline_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/deadline"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func key(id string) deadline.Key { return deadline.Key{Kind: 1, ID: id} }

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// drain pops every deadline (all are due at the far future) and returns their IDs.
func drain(t *testing.T, h *deadline.Heap) []string {
	t.Helper()
	var ids []string
	for {
		d, ok := h.PopDue(t0.Add(1000 * time.Hour))
		if !ok {
			break
		}
		ids = append(ids, d.ID)
	}
	require.Zero(t, h.Len())
	return ids
}

func TestEmpty(t *testing.T) {
	h := deadline.New()
	require.Zero(t, h.Len())
	_, ok := h.Peek()
	require.False(t, ok)
	_, ok = h.PopDue(t0)
	require.False(t, ok)
	_, ok = h.Get(key("a"))
	require.False(t, ok)
	require.False(t, h.Cancel(key("a")))
}

// PeekWhen is Peek's When, through adds, sets, removals and pops.
func TestPeekWhenIsPeeksWhen(t *testing.T) {
	h := deadline.New()
	check := func() {
		t.Helper()
		d, ok := h.Peek()
		when, wok := h.PeekWhen()
		require.Equal(t, ok, wok)
		require.Equal(t, d.When, when)
	}
	check()
	x := h.Add(key("a"), at(5))
	check()
	h.Set(key("b"), at(3))
	check()
	h.Add(key("c"), at(1))
	check()
	h.PopDue(at(2))
	check()
	h.Cancel(key("b"))
	check()
	h.Remove(x)
	check()
	h.PopDue(at(9))
	check()
}

func TestPopsInTimeOrder(t *testing.T) {
	h := deadline.New()
	h.Set(key("c"), at(30))
	h.Set(key("a"), at(10))
	h.Set(key("e"), at(50))
	h.Set(key("b"), at(20))
	h.Set(key("d"), at(40))
	require.Equal(t, 5, h.Len())

	d, ok := h.Peek()
	require.True(t, ok)
	require.Equal(t, "a", d.ID)
	require.Equal(t, at(10), d.When)
	require.Equal(t, 5, h.Len(), "Peek must not remove")

	require.Equal(t, []string{"a", "b", "c", "d", "e"}, drain(t, h))
}

func TestEqualTimesPopInSetOrder(t *testing.T) {
	h := deadline.New()
	ids := []string{"m", "c", "x", "a", "q", "b"}
	for _, id := range ids {
		h.Set(key(id), at(10))
	}
	h.Set(key("early"), at(5))
	h.Set(key("late"), at(15))
	want := append(append([]string{"early"}, ids...), "late")
	require.Equal(t, want, drain(t, h))
}

func TestEqualTimesDifferentLocationsAreTies(t *testing.T) {
	// The same instant in two locations is the same time: insertion order decides.
	h := deadline.New()
	h.Set(key("b"), at(10).In(time.FixedZone("X", 3600)))
	h.Set(key("a"), at(10))
	require.Equal(t, []string{"b", "a"}, drain(t, h))
}

func TestKindIsPartOfKey(t *testing.T) {
	h := deadline.New()
	h.Set(deadline.Key{Kind: 1, ID: "x"}, at(10))
	h.Set(deadline.Key{Kind: 2, ID: "x"}, at(20))
	require.Equal(t, 2, h.Len())
	require.True(t, h.Cancel(deadline.Key{Kind: 1, ID: "x"}))
	when, ok := h.Get(deadline.Key{Kind: 2, ID: "x"})
	require.True(t, ok)
	require.Equal(t, at(20), when)
}

func TestSetMovesExistingKey(t *testing.T) {
	tests := []struct {
		name  string
		moves func(h *deadline.Heap)
		want  []string
	}{
		{
			name:  "later",
			moves: func(h *deadline.Heap) { h.Set(key("a"), at(35)) },
			want:  []string{"b", "c", "a"},
		},
		{
			name:  "earlier",
			moves: func(h *deadline.Heap) { h.Set(key("c"), at(5)) },
			want:  []string{"c", "a", "b"},
		},
		{
			name: "to a tie: counts as the newest insertion",
			moves: func(h *deadline.Heap) {
				h.Set(key("a"), at(20))
			},
			want: []string{"b", "a", "c"},
		},
		{
			name: "same time again: goes behind its ties",
			moves: func(h *deadline.Heap) {
				h.Set(key("x"), at(20))
				h.Set(key("b"), at(20))
			},
			want: []string{"a", "x", "b", "c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := deadline.New()
			h.Set(key("a"), at(10))
			h.Set(key("b"), at(20))
			h.Set(key("c"), at(30))
			tt.moves(h)
			require.Equal(t, len(tt.want), h.Len(), "a key is held at most once")
			require.Equal(t, tt.want, drain(t, h))
		})
	}
}

func TestCancel(t *testing.T) {
	h := deadline.New()
	h.Set(key("a"), at(10))
	h.Set(key("b"), at(20))
	h.Set(key("c"), at(30))

	require.True(t, h.Cancel(key("b")))
	require.False(t, h.Cancel(key("b")), "already cancelled")
	require.False(t, h.Cancel(key("zzz")), "never set")
	require.False(t, h.Cancel(deadline.Key{Kind: 2, ID: "a"}), "same ID, other kind")
	require.Equal(t, 2, h.Len())
	_, ok := h.Get(key("b"))
	require.False(t, ok)

	require.True(t, h.Cancel(key("a")), "cancel the minimum")
	d, ok := h.Peek()
	require.True(t, ok)
	require.Equal(t, "c", d.ID)

	// A cancelled key can be set again.
	h.Set(key("b"), at(40))
	require.Equal(t, []string{"c", "b"}, drain(t, h))
	require.False(t, h.Cancel(key("c")), "popped keys are no longer held")
}

func TestGet(t *testing.T) {
	h := deadline.New()
	h.Set(key("a"), at(10))
	when, ok := h.Get(key("a"))
	require.True(t, ok)
	require.Equal(t, at(10), when)

	h.Set(key("a"), at(99))
	when, ok = h.Get(key("a"))
	require.True(t, ok)
	require.Equal(t, at(99), when)

	_, ok = h.Get(key("b"))
	require.False(t, ok)

	_, ok = h.PopDue(at(99))
	require.True(t, ok)
	_, ok = h.Get(key("a"))
	require.False(t, ok)
}

func TestPopDueBoundary(t *testing.T) {
	now := at(10)
	h := deadline.New()
	h.Set(key("late"), now.Add(time.Nanosecond))
	h.Set(key("now"), now)

	_, ok := h.PopDue(now.Add(-time.Nanosecond))
	require.False(t, ok, "nothing is due before now")

	d, ok := h.PopDue(now)
	require.True(t, ok, "a deadline at now is due")
	require.Equal(t, deadline.Key{Kind: 1, ID: "now"}, d.Key)
	require.Equal(t, now, d.When)

	_, ok = h.PopDue(now)
	require.False(t, ok, "one nanosecond after now is not due")
	require.Equal(t, 1, h.Len())

	d, ok = h.PopDue(now.Add(time.Nanosecond))
	require.True(t, ok)
	require.Equal(t, "late", d.ID)
	require.Zero(t, h.Len())
}

func TestPopDueStopsAtFirstNotDue(t *testing.T) {
	h := deadline.New()
	for i := range 10 {
		h.Set(key(fmt.Sprint(i)), at(i))
	}
	var got []string
	for {
		d, ok := h.PopDue(at(4))
		if !ok {
			break
		}
		got = append(got, d.ID)
	}
	require.Equal(t, []string{"0", "1", "2", "3", "4"}, got)
	require.Equal(t, 5, h.Len())
}

// refHeap is the naive reference: a slice kept sorted by (When, seq).
type refHeap struct {
	items []refItem
	seq   uint64
}

type refItem struct {
	key  deadline.Key
	when time.Time
	seq  uint64
}

func (r *refHeap) find(k deadline.Key) int {
	return slices.IndexFunc(r.items, func(it refItem) bool { return it.key == k })
}

func (r *refHeap) set(k deadline.Key, when time.Time) {
	if i := r.find(k); i >= 0 {
		r.items = slices.Delete(r.items, i, i+1)
	}
	r.seq++
	r.items = append(r.items, refItem{key: k, when: when, seq: r.seq})
	slices.SortStableFunc(r.items, func(a, b refItem) int {
		if c := a.when.Compare(b.when); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

func (r *refHeap) cancel(k deadline.Key) bool {
	i := r.find(k)
	if i < 0 {
		return false
	}
	r.items = slices.Delete(r.items, i, i+1)
	return true
}

func (r *refHeap) popDue(now time.Time) (refItem, bool) {
	if len(r.items) == 0 || r.items[0].when.After(now) {
		return refItem{}, false
	}
	it := r.items[0]
	r.items = slices.Delete(r.items, 0, 1)
	return it, true
}

// TestRandomAgainstReference drives the heap and the naive reference with the same
// random interleaving of Set, Cancel and PopDue, and compares every observation.
// The seeds are fixed so that a failure reproduces.
func TestRandomAgainstReference(t *testing.T) {
	for _, seed := range []uint64{1, 2, 20250102} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			randomAgainstReference(t, seed, 10_000)
		})
	}
}

func randomAgainstReference(t *testing.T, seed uint64, ops int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	h := deadline.New()
	ref := &refHeap{}
	randKey := func() deadline.Key {
		return deadline.Key{Kind: deadline.Kind(rng.IntN(3)), ID: fmt.Sprint(rng.IntN(40))}
	}
	// A small time range makes ties common; a nanosecond jitter tests the boundary.
	randTime := func() time.Time {
		return at(rng.IntN(50)).Add(time.Duration(rng.IntN(3)-1) * time.Nanosecond)
	}

	for i := range ops {
		switch op := rng.IntN(10); {
		case op < 5:
			k, when := randKey(), randTime()
			h.Set(k, when)
			ref.set(k, when)
		case op < 7:
			k := randKey()
			require.Equal(t, ref.cancel(k), h.Cancel(k), "op %d: Cancel(%v)", i, k)
		default:
			now := randTime()
			for {
				want, wok := ref.popDue(now)
				got, gok := h.PopDue(now)
				require.Equal(t, wok, gok, "op %d: PopDue(%v)", i, now)
				if !wok {
					break
				}
				require.Equal(t, want.key, got.Key, "op %d: PopDue(%v)", i, now)
				require.True(t, want.when.Equal(got.When), "op %d: PopDue(%v)", i, now)
				require.False(t, got.When.After(now))
			}
		}

		require.Equal(t, len(ref.items), h.Len(), "op %d", i)
		p, ok := h.Peek()
		require.Equal(t, len(ref.items) > 0, ok, "op %d", i)
		if ok {
			require.Equal(t, ref.items[0].key, p.Key, "op %d: Peek", i)
			require.True(t, ref.items[0].when.Equal(p.When), "op %d: Peek", i)
		}
		k := randKey()
		when, ok := h.Get(k)
		j := ref.find(k)
		require.Equal(t, j >= 0, ok, "op %d: Get(%v)", i, k)
		if ok {
			require.True(t, ref.items[j].when.Equal(when), "op %d: Get(%v)", i, k)
		}
	}

	// Whatever is left drains in reference order.
	for _, want := range ref.items {
		got, ok := h.PopDue(at(1000))
		require.True(t, ok)
		require.Equal(t, want.key, got.Key)
	}
	require.Zero(t, h.Len())
}

func TestHandles(t *testing.T) {
	h := deadline.New()
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a := h.Add(deadline.Key{Kind: 1, ID: "a"}, base.Add(2*time.Second))
	h.Set(deadline.Key{Kind: 1, ID: "a"}, base.Add(time.Second)) // same key, indexed: independent of the handle
	b := h.Add(deadline.Key{Kind: 1, ID: "b"}, base.Add(2*time.Second))
	c := h.Add(deadline.Key{Kind: 2, ID: "c"}, base.Add(3*time.Second))
	if !a.Pending() || !b.Pending() || !c.Pending() || (deadline.Handle{}).Pending() {
		t.Fatal("pending handles")
	}
	if !h.Remove(b) || h.Remove(b) || b.Pending() {
		t.Fatal("remove once")
	}
	if _, ok := h.Get(deadline.Key{Kind: 1, ID: "a"}); !ok {
		t.Fatal("the indexed deadline for a is kept")
	}
	var got []string
	for {
		d, ok := h.PopDue(base.Add(time.Hour))
		if !ok {
			break
		}
		got = append(got, d.ID+"@"+d.When.Sub(base).String())
	}
	want := []string{"a@1s", "a@2s", "c@3s"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("popped %v, want %v", got, want)
	}
	if a.Pending() || c.Pending() || h.Remove(c) {
		t.Fatal("popped handles are not pending")
	}
	if _, ok := h.Get(deadline.Key{Kind: 1, ID: "a"}); ok {
		t.Fatal("the indexed deadline popped")
	}
}

func TestReserveOrdersAnOutsideDeadlineAmongTheHeaps(t *testing.T) {
	h := deadline.New()
	h.Set(key("a"), at(10))
	seq := h.Reserve() // as if "out" had been added here
	h.Set(key("b"), at(10))
	h.Set(key("c"), at(5))
	out := deadline.Outside(key("out"), at(10), seq)
	require.Equal(t, 3, h.Len(), "Reserve pushes nothing")

	a, _ := h.PopDue(at(5)) // c
	require.Equal(t, "c", a.ID)
	require.True(t, a.Before(out), "an earlier instant first")
	require.False(t, out.Before(a))
	a, _ = h.PopDue(at(10))
	require.Equal(t, "a", a.ID)
	require.True(t, a.Before(out), "set before the reservation")
	b, _ := h.PopDue(at(10))
	require.Equal(t, "b", b.ID)
	require.True(t, out.Before(b), "set after the reservation")
	require.False(t, b.Before(out))
	require.False(t, out.Before(out))

	// The same instant in another location is a tie broken by sequence.
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	later := deadline.Outside(key("x"), at(10).In(ny), seq+100)
	require.True(t, out.Before(later))
	require.False(t, later.Before(out))

	ds := []deadline.Deadline{later, b, out, a}
	deadline.Sort(ds)
	require.Equal(t, []string{"a", "out", "b", "x"}, []string{ds[0].ID, ds[1].ID, ds[2].ID, ds[3].ID})
}

// A deadline added with AddRef pops carrying its reference, in time order with the
// others; one added with Add or Set carries none; removing it by handle works alike.
func TestAddRefCarriesTheReference(t *testing.T) {
	h := deadline.New()
	type owner struct{ name string }
	a, b := &owner{"a"}, &owner{"b"}
	h.AddRef(key("a"), at(2), a)
	h.AddRef(key("b"), at(1), b)
	h.Add(key("plain"), at(3))
	h.Set(key("set"), at(4))
	c := &owner{"c"}
	h.Remove(h.AddRef(key("c"), at(0), c))
	require.True(t, h.Remove(h.AddRef(key("d"), at(0), &owner{"d"})))

	var refs []any
	var ids []string
	for {
		d, ok := h.PopDue(at(10))
		if !ok {
			break
		}
		ids = append(ids, d.ID)
		refs = append(refs, d.Ref)
	}
	require.Equal(t, []string{"b", "a", "plain", "set"}, ids)
	require.Equal(t, []any{b, a, nil, nil}, refs)
}

// A deadline stored in an owner's Entry pops like any other, in time order, carrying
// its reference; its handle removes it; adding the Entry again moves a pending
// deadline rather than holding it twice; and a zero Entry, whose position reads 0, is
// never taken for the heap's first deadline.
func TestAddInStoresTheDeadlineInTheOwnersEntry(t *testing.T) {
	h := deadline.New()
	type owner struct {
		name string
		dl   deadline.Entry
	}
	a, b, c, d := &owner{name: "a"}, &owner{name: "b"}, &owner{name: "c"}, &owner{name: "d"}
	h.Set(key("set"), at(3))
	ha := h.AddIn(&a.dl, key("a"), at(2), a)
	// A zero Entry added while the heap's first slot is taken: it must not be taken
	// for that slot's item and "moved" out of the heap.
	hb := h.AddIn(&b.dl, key("b"), at(1), b)
	require.Equal(t, 3, h.Len())
	require.True(t, ha.Pending())
	require.True(t, hb.Pending())

	hc := h.AddIn(&c.dl, key("c"), at(9), c)
	hc2 := h.AddIn(&c.dl, key("c"), at(0), c) // moved, not held twice
	require.Equal(t, 4, h.Len())
	require.True(t, hc.Pending())
	require.True(t, hc2.Pending())

	hd := h.AddIn(&d.dl, key("d"), at(0), d)
	require.True(t, h.Remove(hd))
	require.False(t, hd.Pending())
	require.False(t, h.Remove(hd))

	var ids []string
	for {
		x, ok := h.PopDue(at(10))
		if !ok {
			break
		}
		ids = append(ids, x.ID)
		if x.ID != "set" {
			require.Equal(t, x.ID, x.Ref.(*owner).name, "the reference comes back")
		}
	}
	require.Equal(t, []string{"c", "b", "a", "set"}, ids)
	require.False(t, ha.Pending())
	require.False(t, hc2.Pending())

	// Popped, the Entry may be used again.
	h.AddIn(&a.dl, key("a2"), at(5), a)
	x, ok := h.PopDue(at(10))
	require.True(t, ok)
	require.Equal(t, "a2", x.ID)
}

// RemoveIn and HoldsIn work from the owner's Entry alone: a zero Entry is not
// pending (its position reads 0, the heap's first slot), nor one whose deadline
// popped or was removed; removing cancels exactly that deadline, once.
func TestRemoveInAndHoldsInUseTheEntryAlone(t *testing.T) {
	h := deadline.New()
	var a, b, c, zero deadline.Entry
	h.Set(key("set"), at(3)) // the first slot is taken by a deadline of no Entry
	require.False(t, h.HoldsIn(&zero))
	require.False(t, h.RemoveIn(&zero))
	require.Equal(t, 1, h.Len())

	h.AddIn(&a, key("a"), at(2), nil)
	h.AddIn(&b, key("b"), at(1), nil)
	h.AddIn(&c, key("c"), at(4), nil)
	require.True(t, h.HoldsIn(&a))
	require.True(t, h.HoldsIn(&b))
	require.True(t, h.RemoveIn(&a))
	require.False(t, h.HoldsIn(&a))
	require.False(t, h.RemoveIn(&a), "removed once")
	require.Equal(t, 3, h.Len())

	x, ok := h.PopDue(at(10))
	require.True(t, ok)
	require.Equal(t, "b", x.ID)
	require.False(t, h.HoldsIn(&b), "popped")
	require.False(t, h.RemoveIn(&b))
	require.Equal(t, []string{"set", "c"}, drain(t, h))
}
