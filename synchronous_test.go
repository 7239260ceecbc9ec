package jobrouter

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// newManualRouter returns a ManualTime Router at start with IDs id1, id2, ... (unless
// opts has a NewID), a LongestIdle policy "p" (one-minute offers) and a queue "q";
// it is closed when the test ends.
func newManualRouter(t *testing.T, opts *Options) *Router {
	t.Helper()
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.ManualTime, o.StartTime = true, start
	if o.NewID == nil {
		n := 0
		o.NewID = func() string { n++; return fmt.Sprintf("id%d", n) } // under the Router's lock
	}
	r, err := New(&o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, r.Close()) })
	_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: LongestIdleMode{}})
	require.NoError(t, err)
	_, err = r.UpsertQueue(ctx, Queue{ID: "q", DistributionPolicyID: "p"})
	require.NoError(t, err)
	return r
}

func upsertTestWorker(t *testing.T, r *Router, id string, capacity int) {
	t.Helper()
	_, err := r.UpsertWorker(ctx, Worker{ID: id, Queues: []string{"q"}, Capacity: capacity,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: true})
	require.NoError(t, err)
}

func createTestJob(t *testing.T, r *Router, id string) {
	t.Helper()
	_, err := r.CreateJob(ctx, Job{ID: id, ChannelID: "voice", QueueID: "q"})
	require.NoError(t, err)
}

func types(evs []Event) []EventType {
	out := make([]EventType, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type()
	}
	return out
}

// TestPollSeesEveryEventOfTheCallJustMade checks the guarantee a single-goroutine
// driver relies on: once a call has returned, one Poll returns all its events, in
// order, and the Seqs of an unfiltered subscription run on without a gap.
func TestPollSeesEveryEventOfTheCallJustMade(t *testing.T) {
	r := newManualRouter(t, nil)
	sub := r.Subscribe(&SubscribeOptions{Synchronous: true})
	require.Nil(t, sub.Poll(), "nothing happened yet")

	var all []Event
	poll := func() []Event {
		t.Helper()
		evs := sub.Poll()
		all = append(all, evs...)
		require.Nil(t, sub.Poll(), "one Poll takes everything")
		return evs
	}

	upsertTestWorker(t, r, "w1", 1)
	require.Equal(t, []EventType{EventTypeWorkerRegistered}, types(poll()))

	createTestJob(t, r, "j1")
	evs := poll()
	require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobQueued, EventTypeOfferIssued}, types(evs))
	offer := evs[2].(OfferIssued)
	require.Equal(t, "j1", offer.JobID)
	require.Equal(t, "w1", offer.WorkerID)
	require.Equal(t, start.Add(time.Minute), offer.ExpiresAt)

	// Deadlines fired by AdvanceTo are polled like any call's events.
	require.NoError(t, r.AdvanceTo(offer.ExpiresAt))
	require.Equal(t, []EventType{EventTypeOfferExpired, EventTypeWorkerDeregistered}, types(poll()))

	upsertTestWorker(t, r, "w1", 1)
	evs = poll()
	require.Equal(t, []EventType{EventTypeWorkerRegistered, EventTypeOfferIssued}, types(evs))
	offer = evs[1].(OfferIssued)
	res, err := r.AcceptJobOffer(ctx, "w1", offer.OfferID)
	require.NoError(t, err)
	require.Equal(t, []EventType{EventTypeOfferAccepted}, types(poll()))
	require.NoError(t, r.CloseJob(ctx, "j1", res.AssignmentID, &CloseJobOptions{DispositionCode: "Resolved"}))
	evs = poll()
	require.Equal(t, []EventType{EventTypeJobCompleted, EventTypeJobClosed}, types(evs))
	require.Equal(t, "Resolved", evs[1].(JobClosed).DispositionCode)

	require.NotEmpty(t, all)
	first := all[0].Seq()
	for i, ev := range all {
		require.Equal(t, first+uint64(i), ev.Seq(), "event %d (%s)", i, ev.Type())
	}
	require.NoError(t, sub.Err())
}

// TestPollMatchesTheChannel runs the same calls with a synchronous and an
// asynchronous subscription, with and without filters: the same events, equal
// field for field.
func TestPollMatchesTheChannel(t *testing.T) {
	for _, opts := range []SubscribeOptions{
		{},
		{Types: []EventType{EventTypeOfferIssued, EventTypeJobClosed}},
		{WorkerID: "w2"},
		{JobID: "j3"},
		{QueueID: "q", Types: []EventType{EventTypeJobQueued}},
	} {
		r := newManualRouter(t, nil)
		async := r.Subscribe(&opts)
		got := collect(async)
		syncOpts := opts
		syncOpts.Synchronous = true
		sub := r.Subscribe(&syncOpts)

		var polled []Event
		upsertTestWorker(t, r, "w1", 1)
		upsertTestWorker(t, r, "w2", 2)
		for _, id := range []string{"j1", "j2", "j3", "j4"} {
			createTestJob(t, r, id)
			polled = append(polled, sub.Poll()...)
		}
		w, err := r.GetWorker(ctx, "w2")
		require.NoError(t, err)
		for _, o := range w.Offers {
			res, err := r.AcceptJobOffer(ctx, "w2", o.ID)
			require.NoError(t, err)
			require.NoError(t, r.CloseJob(ctx, res.JobID, res.AssignmentID, &CloseJobOptions{DispositionCode: "Done"}))
			polled = append(polled, sub.Poll()...)
		}
		require.NoError(t, r.AdvanceTo(start.Add(time.Hour))) // w1's offer expires
		polled = append(polled, sub.Poll()...)

		require.NoError(t, r.Close())
		want := <-got
		require.NotEmpty(t, want, "%+v", opts)
		require.Equal(t, want, polled, "%+v", opts)
		require.NoError(t, sub.Err())
	}
}

func TestPollFiltersAtTheBus(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(&SubscribeOptions{Synchronous: true, WorkerID: "w1", Types: []EventType{EventTypeOfferIssued}})
	b.publish([]engine.Event{
		offerIssued(1, "j1", "w1", "q"),
		{Seq: 2, Type: engine.EvJobQueued, JobID: "j2", QueueID: "q"},
		offerIssued(3, "j2", "w2", "q"),
		offerIssued(4, "j2", "w1", "q"),
		{Seq: 5, Type: engine.EvWorkerUpdated, WorkerID: "w1"},
	})
	require.Equal(t, []uint64{1, 4}, seqs(s.Poll()))
	require.Nil(t, s.Poll())
}

func TestPollAppendReusesTheBuffer(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(&SubscribeOptions{Synchronous: true})
	buf := make([]Event, 0, 100)
	require.Equal(t, 0, len(s.PollAppend(buf)), "nothing queued: dst back")
	require.Nil(t, s.PollAppend(nil))

	next := uint64(1)
	for round := range 20 {
		// Batches that cross chunk boundaries, so the queue grows, empties, and
		// reuses its chunks.
		size := 1 + round*5
		for range size {
			b.publish([]engine.Event{offerIssued(next, "j", "w", "q")})
			next++
		}
		got := s.PollAppend(buf[:0])
		require.Len(t, got, size)
		require.Same(t, &buf[:1][0], &got[0], "polled into the caller's buffer")
		for i, ev := range got {
			require.Equal(t, next-uint64(size)+uint64(i), ev.Seq())
		}
	}

	// Appending keeps what dst held.
	b.publish([]engine.Event{offerIssued(next, "j", "w", "q")})
	kept := []Event{JobDeleted{JobID: "mine"}}
	got := s.PollAppend(kept)
	require.Len(t, got, 2)
	require.Equal(t, JobDeleted{JobID: "mine"}, got[0])
	require.Equal(t, next, got[1].Seq())
}

// TestOverflowPastTheEncodedTier: the backlog limit counts the events kept encoded
// beyond the first hotLimit like any other, and a synchronous subscriber that
// overflows there still polls every event before the overflow, in order.
func TestOverflowPastTheEncodedTier(t *testing.T) {
	b := newTestBus(t, 0)
	limit := hotLimit + 10
	s := b.subscribe(&SubscribeOptions{Synchronous: true, MaxBacklog: limit})
	for seq := uint64(1); seq <= uint64(limit); seq++ {
		b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
	}
	require.NoError(t, s.Err(), "%d events are within the limit", limit)
	b.publish([]engine.Event{offerIssued(uint64(limit+1), "j", "w", "q")})
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)

	got := seqs(s.Poll())
	require.Len(t, got, limit)
	for i, seq := range got {
		require.Equal(t, uint64(i+1), seq)
	}
}

// TestPollOverflow: a synchronous subscriber over its backlog is ended with
// ErrSlowSubscriber, and can still poll every event queued before the overflow.
func TestPollOverflow(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(&SubscribeOptions{Synchronous: true, MaxBacklog: 10})
	other := b.subscribe(&SubscribeOptions{Synchronous: true})
	publish := func(from, to uint64) {
		for seq := from; seq <= to; seq++ {
			b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
		}
	}

	// Polling empties the backlog: ten at a time never overflow.
	publish(1, 10)
	require.Len(t, s.Poll(), 10)
	publish(11, 20)
	require.NoError(t, s.Err())
	select {
	case <-s.Events():
		t.Fatal("the channel of a synchronous subscription carries nothing")
	default:
	}

	publish(21, 25) // the 21st event overflows
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	var e *Error
	require.ErrorAs(t, s.Err(), &e)
	_, ok := <-s.Events()
	require.False(t, ok, "the channel is closed at the overflow")
	b.mu.Lock()
	require.Equal(t, []*Subscription{other}, b.index.all(), "the subscription has left the bus")
	b.mu.Unlock()

	evs := s.Poll()
	require.Equal(t, []uint64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, seqs(evs), "the events before the overflow")
	require.Nil(t, s.Poll())
	publish(26, 30)
	require.Nil(t, s.Poll(), "nothing after the overflow")
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	s.Close()
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber, "Close keeps the overflow error")

	require.Len(t, other.Poll(), 30, "the other subscription lost nothing")
	require.NoError(t, other.Err())
}

func TestPollOverflowThenCloseDiscards(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(&SubscribeOptions{Synchronous: true, MaxBacklog: 2})
	b.publish([]engine.Event{offerIssued(1, "j", "w", "q"), offerIssued(2, "j", "w", "q"), offerIssued(3, "j", "w", "q")})
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	s.Close()
	require.Nil(t, s.Poll(), "Close discards what was left")
}

func TestSynchronousSubscriptionClose(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(&SubscribeOptions{Synchronous: true})
	b.publish([]engine.Event{offerIssued(1, "j", "w", "q"), offerIssued(2, "j", "w", "q")})
	require.Equal(t, []uint64{1, 2}, seqs(s.Poll()))
	b.publish([]engine.Event{offerIssued(3, "j", "w", "q")})

	s.Close()
	require.Nil(t, s.Poll(), "Close discards the events not polled")
	_, ok := <-s.Events()
	require.False(t, ok)
	require.NoError(t, s.Err())
	b.publish([]engine.Event{offerIssued(4, "j", "w", "q")})
	require.Nil(t, s.Poll())
	s.Close() // idempotent
	b.mu.Lock()
	require.Empty(t, b.index.all())
	b.mu.Unlock()
}

// TestRouterCloseDoesNotWaitForASynchronousSubscription: Router.Close ends it at
// once, however long CloseTimeout is, and what it had queued can still be polled.
func TestRouterCloseDoesNotWaitForASynchronousSubscription(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newManualRouter(t, &Options{CloseTimeout: time.Hour})
		sub := r.Subscribe(&SubscribeOptions{Synchronous: true, Types: []EventType{EventTypeJobReceived, EventTypeJobQueued}})
		createTestJob(t, r, "j1")
		require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobQueued}, types(sub.Poll()))
		createTestJob(t, r, "j2")

		begin := time.Now()
		require.NoError(t, r.Close())
		require.Zero(t, time.Since(begin), "Close did not wait (fake time)")

		_, ok := <-sub.Events()
		require.False(t, ok, "the channel is closed when the subscription ends")
		require.NoError(t, sub.Err())
		evs := sub.Poll()
		require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobQueued}, types(evs), "queued before Close")
		require.Equal(t, "j2", evs[0].(JobReceived).JobID)
		require.Nil(t, sub.Poll())
		sub.Close()
		require.NoError(t, sub.Err())

		late := r.Subscribe(&SubscribeOptions{Synchronous: true})
		require.Nil(t, late.Poll())
		require.ErrorIs(t, late.Err(), ErrClosed)
		_, ok = <-late.Events()
		require.False(t, ok)
	})
}

func TestPollOnAnAsynchronousSubscriptionReturnsNothing(t *testing.T) {
	b := newTestBus(t, 0)
	s := b.subscribe(nil)
	b.publish([]engine.Event{offerIssued(1, "j", "w", "q")})
	require.Nil(t, s.Poll())
	require.Equal(t, uint64(1), (<-s.Events()).Seq(), "the event went to the channel")
	s.Close()
}

// TestSynchronousSubscriptionStartsNoGoroutine: subscribing, publishing, polling
// and closing the Router leave no goroutine behind, and none runs meanwhile.
func TestSynchronousSubscriptionStartsNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	b := newBus(0)
	subs := []*Subscription{b.subscribe(&SubscribeOptions{Synchronous: true}),
		b.subscribe(&SubscribeOptions{Synchronous: true, JobID: "j"})}
	b.publish([]engine.Event{offerIssued(1, "j", "w", "q")})
	require.NoError(t, goleak.Find(before))
	for _, s := range subs {
		require.Len(t, s.Poll(), 1)
	}
	b.close(time.Hour)
	require.NoError(t, goleak.Find(before))
}

// TestPollConcurrentWithCalls polls from one goroutine while others call the
// Router (the race detector watches): every event arrives exactly once, in order.
func TestPollConcurrentWithCalls(t *testing.T) {
	r := newManualRouter(t, nil)
	sub := r.Subscribe(&SubscribeOptions{Synchronous: true})
	upsertTestWorker(t, r, "w1", 1000)

	const callers, jobs = 4, 200
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for k := range jobs {
				_, err := r.CreateJob(ctx, Job{ID: fmt.Sprintf("j-%d-%d", c, k), ChannelID: "voice", QueueID: "q"})
				assert.NoError(t, err) // not require: this is not the test's goroutine
			}
		})
	}
	stop := make(chan struct{})
	polled := make(chan []Event, 1)
	go func() {
		var all []Event
		for {
			select {
			case <-stop:
				polled <- append(all, sub.Poll()...)
				return
			default:
				all = sub.PollAppend(all)
			}
		}
	}()
	// Close and Poll may also meet: a second subscription closed while it is polled.
	other := r.Subscribe(&SubscribeOptions{Synchronous: true})
	wg.Go(func() {
		for range 50 {
			other.Poll()
		}
	})
	wg.Go(other.Close)
	wg.Wait()
	close(stop)
	all := <-polled

	require.Len(t, all, 1+callers*jobs*3) // WorkerRegistered, then JobReceived, JobQueued, OfferIssued per job
	first := all[0].Seq()
	for i, ev := range all {
		require.Equal(t, first+uint64(i), ev.Seq())
	}
	require.NoError(t, sub.Err())
}

// TestEventQueueTakeAll checks the hand-over Poll relies on: takeAll moves the
// backlog in order and leaves the queue empty and usable; recycle gives the emptied
// chunks back for reuse, never more than maxSpareChunks.
func TestEventQueueTakeAll(t *testing.T) {
	var q eventQueue
	next := uint64(1)
	for round, size := range []int{1, 31, 32, 33, 100, 0, 1000, 5} {
		for range size {
			q.push(&engine.Event{Seq: next})
			next++
		}
		batch := q.takeAll()
		require.Zero(t, q.len())
		require.Equal(t, size, batch.len())
		q.push(&engine.Event{Seq: 0}) // the emptied queue takes pushes at once
		require.Equal(t, uint64(0), q.pop().Seq)
		for i := range size {
			require.Equal(t, next-uint64(size)+uint64(i), batch.pop().Seq, "round %d", round)
		}
		require.Zero(t, batch.len())
		q.recycle(&batch)
		require.Equal(t, eventQueue{}, batch)
		require.LessOrEqual(t, q.hot.spares.Len(), maxSpareChunks)
	}
	require.NotZero(t, q.hot.spares.Len(), "chunks come back for reuse")
}

// TestEventQueueDrain checks Poll's drain: every event in order, the queue left empty
// and usable, and no visited slot left holding an event's references.
func TestEventQueueDrain(t *testing.T) {
	var q eventQueue
	next := uint64(1)
	for round, size := range []int{0, 1, 31, 32, 33, 64, 100, 1000, 5} {
		for range size {
			q.push(&engine.Event{Seq: next, JobLabels: engine.Labels{"n": next}, Extra: &engine.EventExtra{Note: "x"}})
			next++
		}
		if round%2 == 1 && size > 0 {
			q.pop() // drain from the middle of a chunk
			size--
		}
		batch := q.takeAll()
		var got []uint64
		batch.drain(func(ev *engine.Event) { got = append(got, ev.Seq) })
		require.Len(t, got, size, "round %d", round)
		for i, seq := range got {
			require.Equal(t, next-uint64(size)+uint64(i), seq, "round %d", round)
		}
		require.Zero(t, batch.len())
		require.LessOrEqual(t, batch.hot.spares.Len(), maxSpareChunks)
		for _, c := range append([]*queueChunk{batch.hot.head}, batch.hot.spares.All()...) {
			if c == nil {
				continue
			}
			require.Nil(t, c.next)
			for i := range c.evs {
				require.True(t, reflect.ValueOf(c.evs[i]).IsZero(), "round %d: slot %d keeps an event", round, i)
			}
		}
		batch.push(&engine.Event{Seq: 7}) // a drained queue takes pushes
		require.Equal(t, uint64(7), batch.pop().Seq)
		q.recycle(&batch)
	}
}
