package jobrouter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// randomEvent sets each field of an engine event, by reflection, to a random value or
// leaves it zero: so an Event field that coldQueue does not encode makes the round
// trip below fail, and a field of a kind it does not know fails here.
func randomEvent(t *testing.T, rng *rand.Rand, seq uint64) engine.Event {
	t.Helper()
	var ev engine.Event
	v := reflect.ValueOf(&ev).Elem()
	canon := []string{string(engine.EvOfferIssued), string(engine.JobQueued), "NotAType"}
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if rng.IntN(4) == 0 {
			continue // zero
		}
		switch x := f.Addr().Interface().(type) {
		case *uint64:
			*x = rng.Uint64()
		case *int:
			*x = rng.IntN(2000) - 1000
			if rng.IntN(8) == 0 {
				*x = math.MinInt
			}
		case *string:
			*x = "" // empty half the time (of the non-zero draws, a string may be "")
			if rng.IntN(2) == 0 {
				*x = name + "-" + strconv.Itoa(rng.IntN(1000)) + string(make([]byte, rng.IntN(300)))
			}
			if rng.IntN(2000) == 0 { // larger than a whole chunk
				*x = string(make([]byte, coldChunkBytes+rng.IntN(100)))
			}
		case *engine.EventType:
			*x = engine.EventType(canon[rng.IntN(len(canon))])
		case *engine.JobStatus:
			*x = engine.JobStatus(canon[rng.IntN(len(canon))])
		case *time.Time:
			switch rng.IntN(3) {
			case 0:
				*x = time.Now() // a monotonic reading and the local zone
			case 1:
				*x = time.Unix(rng.Int64N(1<<40), rng.Int64N(1e9)).UTC()
			default:
				*x = time.Unix(rng.Int64N(1<<40), 0).In(time.FixedZone("X", 3600))
			}
		case *engine.Labels:
			*x = engine.Labels{}
			if rng.IntN(2) == 0 {
				*x = engine.Labels{"k": rng.IntN(10)}
			}
		case **labels.Set:
			*x = labels.NewSet(map[string]any{"lang": "en"}, "Id")
		case **engine.EventExtra:
			*x = &engine.EventExtra{Note: "n", Capacity: rng.IntN(5)}
		default:
			t.Fatalf("engine.Event.%s is a %s: teach coldQueue and randomEvent about it", name, f.Type())
		}
	}
	ev.Seq = seq
	return ev
}

// TestColdQueueRoundTripsEveryField pushes random events through the encoded tier
// and requires each to come back equal, in order, whatever its fields.
func TestColdQueueRoundTripsEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var q coldQueue
	var want []engine.Event
	for i := range 5000 {
		ev := randomEvent(t, rng, uint64(i))
		q.push(&ev)
		want = append(want, ev)
		if rng.IntN(3) == 0 { // pops interleaved, so reads cross chunk ends too
			require.Equal(t, want[0], q.pop())
			want = want[1:]
		}
		require.Equal(t, len(want), q.n)
	}
	for len(want) > 0 {
		require.Equal(t, want[0], q.pop())
		want = want[1:]
	}
	require.Equal(t, coldQueue{}, q, "an emptied queue holds no chunk")
}

// TestColdQueueLengthWidths: string lengths take one byte each while every string
// fits in 255 bytes, and 8 bytes each once one does not. Events of either form,
// mixed in one chunk, must read back whole and leave the next event's start where
// it is.
func TestColdQueueLengthWidths(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	evs := []engine.Event{
		{Seq: 1, Type: engine.EvJobQueued, JobID: long(255), DispositionCode: long(255)},
		{Seq: 2, Type: engine.EvJobQueued, JobID: long(256), QueueID: "q"},
		{Seq: 3, JobPriority: -7, WorkerID: "w", ChannelReference: long(1 << 16)},
		{Seq: 4, ClassificationPolicyID: long(200), OfferID: long(100)},
		{Seq: math.MaxUint64, JobPriority: math.MinInt},
	}
	var q coldQueue
	for i := range evs {
		q.push(&evs[i])
	}
	require.Equal(t, byte(0), q.head.data[0]&coldLong, "all within 255 bytes")
	typ := len(engine.EvJobQueued)
	require.Equal(t, coldHeader+coldStrings+typ+510, coldSize(q.head.data))
	second := q.head.data[coldHeader+coldStrings+typ+510:]
	require.Equal(t, coldLong, second[0]&coldLong, "a string of 256 bytes")
	require.Equal(t, coldHeader+8*coldStrings+typ+257, coldSize(second))
	for _, want := range evs {
		require.Equal(t, want, q.pop())
	}
}

// TestColdQueueDecodedStringsAreTheirOwn: a decoded event must not point into the
// queue's buffers, which would keep a whole chunk alive for one retained ID.
func TestColdQueueDecodedStringsAreTheirOwn(t *testing.T) {
	var q coldQueue
	q.push(&engine.Event{Seq: 1, Type: engine.EvJobQueued, JobID: "job-1", QueueID: "q"})
	q.push(&engine.Event{Seq: 2, JobID: "job-2"})
	data := q.head.data[:q.head.w]
	ev := q.pop()
	clear(data) // what a buffer reused or overwritten would do
	require.Equal(t, "job-1", ev.JobID)
	require.Equal(t, "q", ev.QueueID)
	require.Equal(t, engine.EvJobQueued, ev.Type)
}

// TestEventQueueTiers drives an eventQueue across hotLimit again and again, with
// pops, drains and takeAll, against a plain slice: order is kept across the tiers,
// and events go to the encoded tier only beyond hotLimit or behind encoded ones.
func TestEventQueueTiers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var q eventQueue
	var ref []uint64
	next := uint64(1)
	push := func() {
		q.push(&engine.Event{Seq: next, JobID: "j" + strconv.FormatUint(next, 10)})
		ref = append(ref, next)
		next++
	}
	check := func(ev engine.Event) {
		t.Helper()
		require.Equal(t, ref[0], ev.Seq)
		require.Equal(t, "j"+strconv.FormatUint(ref[0], 10), ev.JobID)
		ref = ref[1:]
	}
	for round := range 12 {
		empty := q.len() == 0
		n := 1500 + rng.IntN(2000)
		for range n {
			push()
		}
		if empty {
			require.Equal(t, hotLimit, q.hot.n, "round %d: the first hotLimit events as they are", round)
			require.Equal(t, n-hotLimit, q.cold.n, "round %d: the rest encoded", round)
		}
		require.Equal(t, len(ref), q.len())
		// Pop into the encoded tier, pushing on the way: the new events queue behind
		// the encoded ones, even once the first tier is empty.
		for range len(ref) - rng.IntN(100) {
			if rng.IntN(4) == 0 {
				push()
			}
			check(q.pop())
			if q.cold.n > 0 {
				require.LessOrEqual(t, q.hot.n, hotLimit)
			}
		}
		require.Equal(t, len(ref), q.len())
		switch round % 3 {
		case 0: // drain what is left
			batch := q.takeAll()
			require.Zero(t, q.len())
			batch.drain(func(ev *engine.Event) { check(*ev) })
			require.Zero(t, batch.len())
			require.Equal(t, coldQueue{}, batch.cold)
			q.recycle(&batch)
		case 1: // pop what is left
			for len(ref) > 0 {
				check(q.pop())
			}
		}
		require.Equal(t, len(ref), q.len())
		if q.len() == 0 {
			require.Equal(t, coldQueue{}, q.cold)
		}
	}
}

// TestSubscriptionsFarBehindSeeTheSameEvents runs a router through thousands of
// events with three subscriptions: one polled after every call (its backlog never
// leaves the first tier), one polled only at the end and one asynchronous read only
// at the end (both thousands of events behind, mostly encoded). All three must see
// the same public events, maps, times and all.
func TestSubscriptionsFarBehindSeeTheSameEvents(t *testing.T) {
	ctx := t.Context()
	start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	n := 0
	r, err := New(&Options{ManualTime: true, StartTime: start, NewID: func() string { n++; return "id" + strconv.Itoa(n) }})
	require.NoError(t, err)
	defer r.Close()
	prompt := r.Subscribe(&SubscribeOptions{Synchronous: true})
	late := r.Subscribe(&SubscribeOptions{Synchronous: true})
	async := r.Subscribe(nil)
	var want []Event
	poll := func() []Event {
		evs := prompt.Poll()
		want = append(want, evs...)
		return evs
	}

	_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: LongestIdleMode{}})
	require.NoError(t, err)
	_, err = r.UpsertQueue(ctx, Queue{ID: "q", DistributionPolicyID: "p"})
	require.NoError(t, err)
	register := func() { // the workers, again after their offers expired
		for i := range 20 {
			_, err := r.UpsertWorker(ctx, Worker{ID: "w" + strconv.Itoa(i), Queues: []string{"q"}, Capacity: 1,
				Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: true,
				Labels: Labels{"lang": []string{"en", "fr"}[i%2], "level": i % 3}, Tags: Labels{"desk": i}})
			require.NoError(t, err)
		}
	}
	register()
	poll()
	for k := range 1500 {
		_, err := r.CreateJob(ctx, Job{ID: "j" + strconv.Itoa(k), ChannelID: "voice", QueueID: "q",
			ChannelReference: "call-" + strconv.Itoa(k), Priority: k % 7, Labels: Labels{"k": k}, Tags: Labels{"t": "x"}})
		require.NoError(t, err)
		for _, ev := range poll() {
			o, ok := ev.(OfferIssued)
			if !ok || k%5 == 0 {
				continue // every fifth job's offer is left to expire
			}
			res, err := r.AcceptJobOffer(ctx, o.WorkerID, o.OfferID)
			require.NoError(t, err)
			require.NoError(t, r.CloseJob(ctx, res.JobID, res.AssignmentID, &CloseJobOptions{DispositionCode: "done"}))
		}
		if k%50 == 49 {
			r.AdvanceTo(r.Now().Add(2 * time.Minute)) // the offers left open expire
			register()
		}
		poll()
	}
	require.Greater(t, len(want), 4*hotLimit, "the late subscriptions must fall far behind")

	sameEvents(t, want, late.Poll())
	got := make([]Event, 0, len(want))
	for len(got) < len(want) {
		got = append(got, <-async.Events())
	}
	sameEvents(t, want, got)
}

// sameEvents fails at the first event of got that differs from want's (a diff of
// thousands of events would take testify minutes to print).
func sameEvents(t *testing.T, want, got []Event) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i], got[i], "event %d", i)
	}
}

// TestEventQueueDrainAllocatesNothingForTheFirstTier: Poll's drain of a backlog that
// never left the first tier must not allocate (its scratch event for the second
// tier escapes, so it is made only when that tier holds events).
func TestEventQueueDrainAllocatesNothingForTheFirstTier(t *testing.T) {
	var q eventQueue
	ev := engine.Event{Type: engine.EvJobQueued, JobID: "j"}
	n := 0
	count := func(*engine.Event) { n++ }
	allocs := testing.AllocsPerRun(100, func() {
		for range 6 {
			q.push(&ev)
		}
		batch := q.takeAll()
		batch.drain(count)
		q.recycle(&batch)
	})
	require.Zero(t, allocs)
	require.Equal(t, 6*101, n)
}

// b1Events returns the six events of one B1 lifecycle (see bench/), as the engine
// records them with the Router's default NewID: UUID offer and assignment IDs (the
// benchmarks' counter IDs are shorter), the worker's label set on the offer.
func b1Events() []engine.Event {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	set := labels.NewSet(map[string]any{"lang": "en", "tier": 2}, "Id")
	base := engine.Event{Time: at, JobID: "job-0000123", QueueID: "q", ChannelID: "voice", JobPriority: 1}
	offer, assignment := "6f1c0a8e-3b4d-4e8f-9a1b-2c3d4e5f6a7b", "0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
	evs := make([]engine.Event, 6)
	for i, typ := range []engine.EventType{engine.EvJobReceived, engine.EvJobQueued, engine.EvOfferIssued,
		engine.EvOfferAccepted, engine.EvJobCompleted, engine.EvJobClosed} {
		ev := base
		ev.Type = typ
		switch typ {
		case engine.EvJobReceived:
			ev.JobStatus = engine.JobCreated
		case engine.EvJobQueued:
			ev.JobStatus = engine.JobQueued
		case engine.EvOfferIssued:
			ev.WorkerID, ev.OfferID, ev.WorkerLabels = "worker-0042", offer, set
			ev.ExpiresAt = at.Add(time.Hour)
		case engine.EvOfferAccepted:
			ev.WorkerID, ev.OfferID, ev.AssignmentID, ev.WorkerLabels = "worker-0042", offer, assignment, set
		default:
			ev.WorkerID, ev.AssignmentID = "worker-0042", assignment
		}
		evs[i] = ev
	}
	return evs
}

// BenchmarkColdQueuePush is the encoded tier's share of a publish to a subscriber far
// behind (B7): one push of a B1 event, a fresh queue every 65,536 events (the
// default backlog limit), as a stalled subscription's.
func BenchmarkColdQueuePush(b *testing.B) {
	evs := b1Events()
	var q coldQueue
	i := 0
	for b.Loop() {
		if q.n == 65_536 {
			q = coldQueue{}
		}
		q.push(&evs[i%len(evs)])
		i++
	}
}

// BenchmarkPublishToStalledSubscription is a publish to a bus whose one subscription
// never reads (B7's stalled subscriber, alone): one event of a B1 lifecycle at a
// time; every 65,536 events (the default backlog limit) the subscription is closed
// and another is made, as B7 gives each run a fresh router. The subscription is
// shared (no ID filter), so the publish copies the event into the bus's log (which
// any other shared subscription would read too) and counts it, and the
// subscription's goroutine encodes its backlog beside it, on another core when
// there is one.
func BenchmarkPublishToStalledSubscription(b *testing.B) {
	evs := b1Events()
	bs := newBus(0)
	defer bs.close(time.Millisecond)
	const limit = 65_536
	s := bs.subscribe(&SubscribeOptions{MaxBacklog: limit})
	i := 0
	for b.Loop() {
		if i%limit == limit-1 {
			s.Close()
			s = bs.subscribe(&SubscribeOptions{MaxBacklog: limit})
		}
		ev := &evs[i%len(evs)]
		ev.Seq = uint64(i)
		bs.publishOne(ev)
		i++
	}
}

// BenchmarkPublishFanout is a publish with many subscriptions that each filter on one
// worker, as when every agent's desktop subscribes to its own events: B1's six
// events published in turn, with one unfiltered Synchronous subscription and
// desktops=N subscriptions keyed on worker IDs worker-0000, worker-0001, …, one of
// which (worker-0042) is the events' worker. Both are polled every 64 events and
// must have received exactly their events. The bus's index (subIndex) makes the
// cost flat in N: each event visits the unfiltered subscription and its worker's.
func BenchmarkPublishFanout(b *testing.B) {
	evs := b1Events()
	for _, n := range []int{0, 100, 10_000} {
		b.Run(fmt.Sprint("desktops=", n), func(b *testing.B) {
			bs := newBus(0)
			defer bs.close(time.Millisecond)
			var mine *Subscription
			for i := range n {
				s := bs.subscribe(&SubscribeOptions{WorkerID: fmt.Sprintf("worker-%04d", i), Synchronous: true})
				if i == 42 {
					mine = s
				}
			}
			all := bs.subscribe(&SubscribeOptions{Synchronous: true})
			var dst []Event
			published, toAll, toMine, forMine := 0, 0, 0, 0
			poll := func() {
				dst = all.PollAppend(dst[:0])
				toAll += len(dst)
				if mine != nil {
					dst = mine.PollAppend(dst[:0])
					toMine += len(dst)
				}
			}
			for b.Loop() {
				ev := &evs[published%len(evs)]
				ev.Seq = uint64(published)
				bs.publishOne(ev)
				if ev.WorkerID == "worker-0042" {
					forMine++
				}
				published++
				if published%64 == 0 {
					poll()
				}
			}
			poll()
			if toAll != published {
				b.Fatalf("the unfiltered subscription got %d events of %d", toAll, published)
			}
			if mine != nil && (toMine != forMine || forMine == 0) {
				b.Fatalf("worker-0042's subscription got %d events, want %d", toMine, forMine)
			}
		})
	}
}
