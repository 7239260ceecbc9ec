package jobrouter

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// modelSub is what TestBusIndexAgainstBruteForce expects of one subscription,
// computed without the bus: its filters applied to every event published while it
// is open, by a plain reading of SubscribeOptions.
type modelSub struct {
	opts    SubscribeOptions
	s       *Subscription
	queued  []uint64 // published to it, not yet polled
	got     []uint64 // polled
	want    []uint64 // every event it should have queued, in order
	closed  bool
	overrun bool
}

func (m *modelSub) open() bool { return !m.closed && !m.overrun }

func (m *modelSub) wants(ev *engine.Event) bool {
	o := m.opts
	if len(o.Types) > 0 && !slices.Contains(o.Types, EventType(ev.Type)) {
		return false
	}
	return (o.WorkerID == "" || o.WorkerID == ev.WorkerID) &&
		(o.JobID == "" || o.JobID == ev.JobID) &&
		(o.QueueID == "" || o.QueueID == ev.QueueID)
}

// TestBusIndexAgainstBruteForce drives a bus with many Synchronous subscriptions
// whose filters combine worker, job and queue IDs and types at random (so that many
// share an index key and many are keyed on the same list), publishes random events,
// closes some subscriptions and overflows others, and polls at random. Each
// subscription must receive exactly the events its filters pass, in order, up to
// its overflow; and the index must list exactly the subscriptions still open, with
// no empty list left behind. The seeds are fixed so that a failure reproduces.
//
// In the typed runs every subscription filters on one or two types (one in ten on
// a type that names no event), so that the set of types the bus wants (bus.wants,
// what the engine builds) is a set of a few types, growing and shrinking, and not
// every type, as it nearly always is when only a quarter filter on types.
func TestBusIndexAgainstBruteForce(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 20261126} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { busIndexAgainstBruteForce(t, seed, false) })
		t.Run(fmt.Sprint("typed/seed=", seed), func(t *testing.T) { busIndexAgainstBruteForce(t, seed, true) })
	}
}

func busIndexAgainstBruteForce(t *testing.T, seed uint64, typed bool) {
	rng := rand.New(rand.NewPCG(seed, 0x5eb))
	pick := func(prefix string, n int) string {
		if rng.IntN(3) == 0 {
			return "" // no filter, or an event without the field
		}
		return fmt.Sprint(prefix, rng.IntN(n))
	}
	types := []EventType{EventTypeOfferIssued, EventTypeJobQueued, EventTypeWorkerUpdated}
	b := newTestBus(t, 0)
	var subs []*modelSub
	subscribe := func() {
		o := SubscribeOptions{WorkerID: pick("w", 4), JobID: pick("j", 4), QueueID: pick("q", 3), Synchronous: true}
		switch {
		case typed && rng.IntN(10) == 0:
			o.Types = []EventType{"NoSuchType"}
		case typed:
			o.Types = []EventType{types[rng.IntN(len(types))], types[rng.IntN(len(types))]}
		case rng.IntN(4) == 0:
			o.Types = []EventType{types[rng.IntN(len(types))]}
		}
		if rng.IntN(4) == 0 {
			o.MaxBacklog = 1 + rng.IntN(4)
		}
		subs = append(subs, &modelSub{opts: o, s: b.subscribe(&o)})
	}
	initial, closeAt := 40, 18 // ops below closeAt (and from 17) close a subscription
	if typed {
		initial, closeAt = 2, 19 // few at a time, so that each type comes and goes
	}
	for range initial {
		subscribe()
	}
	seq := uint64(0)
	for i := range 3000 {
		switch op := rng.IntN(20); {
		case op < 14:
			seq++
			ev := engine.Event{Seq: seq, Type: engine.EventType(types[rng.IntN(len(types))]),
				WorkerID: pick("w", 4), JobID: pick("j", 4), QueueID: pick("q", 3)}
			b.publishOne(&ev)
			for _, m := range subs {
				if !m.open() || !m.wants(&ev) {
					continue
				}
				max := m.opts.MaxBacklog
				if max == 0 {
					max = defaultMaxBacklog
				}
				if len(m.queued) >= max {
					m.overrun = true
					continue
				}
				m.queued = append(m.queued, seq)
				m.want = append(m.want, seq)
			}
		case op < 17:
			m := subs[rng.IntN(len(subs))]
			for _, ev := range m.s.Poll() {
				m.got = append(m.got, ev.Seq())
			}
			if !m.closed {
				m.queued = nil
			}
		case op < closeAt:
			m := subs[rng.IntN(len(subs))]
			m.s.Close()
			m.closed, m.queued = true, nil
		default:
			subscribe()
		}
		if i%100 == 0 || typed && i%10 == 0 {
			requireIndexIs(t, b, subs)
		}
	}
	requireIndexIs(t, b, subs)
	for k, m := range subs {
		for _, ev := range m.s.Poll() {
			m.got = append(m.got, ev.Seq())
		}
		if m.closed {
			// Close discards what was not polled: what it got is a prefix.
			require.LessOrEqual(t, len(m.got), len(m.want), "subscription %d (%+v), closed", k, m.opts)
			require.True(t, slices.Equal(m.want[:len(m.got)], m.got), "subscription %d (%+v), closed: got %v, want a prefix of %v", k, m.opts, m.got, m.want)
			continue
		}
		require.True(t, slices.Equal(m.want, m.got), "subscription %d (%+v): got %v, want %v", k, m.opts, m.got, m.want)
		if m.overrun {
			require.ErrorIs(t, m.s.Err(), ErrSlowSubscriber, "subscription %d", k)
		} else {
			require.NoError(t, m.s.Err(), "subscription %d", k)
		}
	}
}

// requireIndexIs checks that b's index lists exactly the open subscriptions of subs,
// each where its filters key it, and holds no empty list.
func requireIndexIs(t *testing.T, b *bus, subs []*modelSub) {
	t.Helper()
	var open []*Subscription
	for _, m := range subs {
		if m.open() {
			open = append(open, m.s)
		}
	}
	// The engine builds an event type exactly when an open subscription's Types
	// filter passes it (bus.wants, handed to engine.SetWanted).
	for _, typ := range allEventTypes {
		want := false
		for _, m := range subs {
			want = want || m.open() && (len(m.opts.Types) == 0 || slices.Contains(m.opts.Types, typ))
		}
		require.Equal(t, want, b.wants(engine.EventType(typ)), "wants(%s)", typ)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	require.Equal(t, open, b.index.all())
	require.Equal(t, len(open) > len(b.index.unkeyed.subs), b.index.hasKeyed())
	for _, m := range []map[string]*subList{b.index.byWorker, b.index.byJob, b.index.byQueue} {
		for key, l := range m {
			require.NotEmpty(t, l.subs, "the list of %q is empty and was kept", key)
			for i, s := range l.subs {
				require.Equal(t, i, s.idx)
				require.Same(t, l, s.list)
				km, k := b.index.keyOf(s)
				require.Equal(t, key, k)
				require.Equal(t, m, *km)
			}
		}
	}
}
