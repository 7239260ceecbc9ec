package jobrouter

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// Tests of the bus's eventLog and the shared subscriptions that read it (the
// asynchronous ones without an ID filter). Run them with -race: a reader that read a
// slot being written, or a chunk recycled under it, is a race even where the values
// came out right.

// logEvent is the engine event of Seq seq in these tests: every third is a
// JobQueued, the rest OfferIssued; strings and maps follow from seq, so that an event
// read from a recycled or rewritten slot differs from it.
func logEvent(seq uint64) engine.Event {
	s := fmt.Sprint(seq)
	ev := offerIssued(seq, "job-"+s, "worker-"+s, "q")
	if seq%3 == 0 {
		ev.Type = engine.EvJobQueued
		ev.OfferID = ""
		ev.JobLabels = engine.Labels{"seq": s}
	}
	return ev
}

// publishLog publishes the events of Seq from to to, inclusive, one by one.
func publishLog(b *bus, from, to uint64) {
	for seq := from; seq <= to; seq++ {
		b.publish([]engine.Event{logEvent(seq)})
	}
}

// logChunks returns the number of chunks b's log holds, under its lock.
func logChunks(b *bus) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.chunks()
}

// A reader that never reads falls behind in the log only until its goroutine is woken
// to spill: its events are encoded into its own queue and the log's chunks go back to
// be reused, while a reader that keeps up gets every event meanwhile. Once the
// stalled reader reads, it gets every event, in order, each as published.
func TestSharedStalledReaderSpillsAndLetsTheLogRecycle(t *testing.T) {
	b := newTestBus(t, 0)
	stalled := b.subscribe(nil)
	active := b.subscribe(nil)
	got := collect(active)
	const n = 20 * spillAt
	// Publish in steps of a chunk, each step waiting for the stalled goroutine to have
	// spilled what it was asked to (and the active reader to have caught up, since a
	// reader that is not waiting for room on its channel does not spill): the log
	// never holds much more than spillAt events, however far behind the reader is.
	// (Chunks are recycled when the next one starts, hence the slack.)
	most := 0
	for from := uint64(1); from <= n; from += logChunkLen {
		publishLog(b, from, from+logChunkLen-1)
		waitFor(t, "the stalled goroutine to spill and the other to read", func() bool {
			end := b.log.end.Load()
			return end-stalled.pos.Load() <= spillAt+logChunkLen && end-active.pos.Load() <= logChunkLen
		})
		most = max(most, logChunks(b))
	}
	require.LessOrEqual(t, most, (spillAt+2*logChunkLen)/logChunkLen+3,
		"the log holds about spillAt events for a stalled reader, not its backlog")
	b.mu.Lock()
	made := b.log.made
	b.mu.Unlock()
	require.LessOrEqual(t, made, most+maxSpareLogChunks, "recycled chunks are reused, not allocated anew")

	stalledGot := collect(stalled)
	b.close(time.Minute)
	for _, evs := range [][]Event{<-got, <-stalledGot} {
		require.Len(t, evs, n)
		for i, ev := range evs {
			want := logEvent(uint64(i + 1))
			require.Equal(t, toEvent(&want), ev, "event %d", i+1)
		}
	}
	require.NoError(t, stalled.Err())
	require.Zero(t, logChunks(b), "no reader left: the log keeps no event")
	for _, c := range b.log.spares.All() {
		require.Equal(t, [logChunkLen]engine.Event{}, c.evs, "a spare chunk references no event")
	}
}

// A parked reader whose filter passes none of the events published has its cursor
// moved past them by the publish, so it holds no chunk of the log however many go
// by; it still gets the next event it wants, and only that.
func TestSharedParkedReaderWithARareFilterHoldsNoChunk(t *testing.T) {
	b := newTestBus(t, 0)
	rare := b.subscribe(&SubscribeOptions{Types: []EventType{EventTypeJobDeleted}})
	// Another reader wants the OfferIssued events, so that they are logged (an event
	// no reader wants is not), and takes them as they come.
	offers := b.subscribe(&SubscribeOptions{Types: []EventType{EventTypeOfferIssued}})
	gotOffers := collect(offers)
	waitFor(t, "the reader to park", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return rare.logWaiting
	})
	for seq := uint64(1); seq <= 50*logChunkLen; seq++ {
		b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
		b.mu.Lock()
		end, pos := b.log.end.Load(), rare.pos.Load()
		b.mu.Unlock()
		require.Equal(t, end, pos, "the parked reader's cursor is moved past event %d", seq)
	}
	waitFor(t, "the other reader to catch up and park", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return offers.logWaiting && offers.pos.Load() == b.log.end.Load()
	})
	require.LessOrEqual(t, logChunks(b), 2)
	deleted := engine.Event{Seq: 50*logChunkLen + 1, Time: testEpoch, Type: engine.EvJobDeleted, JobID: "j"}
	b.publish([]engine.Event{deleted})
	ev := <-rare.Events()
	require.Equal(t, toEvent(&deleted), ev)
	require.Empty(t, rare.Events(), "nothing else")
	b.close(time.Minute)
	require.Len(t, <-gotOffers, 50*logChunkLen)
}

// An event that no shared subscription's filters pass is not copied into the log:
// the log's end moves only for the events some reader wants. Each reader still gets
// exactly its events, in order, whether it reads as they come or only at the end.
func TestSharedEventsNoReaderWantsAreNotLogged(t *testing.T) {
	b := newTestBus(t, 0)
	offers := b.subscribe(&SubscribeOptions{Types: []EventType{EventTypeOfferIssued}})
	deleted := b.subscribe(&SubscribeOptions{Types: []EventType{EventTypeJobDeleted}})
	gotOffers := collect(offers)
	const n = 3 * spillAt
	var wantOffers, wantDeleted []uint64
	for seq := uint64(1); seq <= n; seq++ {
		ev := logEvent(seq) // every third a JobQueued, which neither reader wants
		if seq%10 == 0 {
			ev.Type = engine.EvJobDeleted
		}
		switch ev.Type {
		case engine.EvOfferIssued:
			wantOffers = append(wantOffers, seq)
		case engine.EvJobDeleted:
			wantDeleted = append(wantDeleted, seq)
		}
		b.publish([]engine.Event{ev})
	}
	b.mu.Lock()
	logged := b.log.end.Load()
	b.mu.Unlock()
	require.Equal(t, uint64(len(wantOffers)+len(wantDeleted)), logged,
		"only the events a reader wants are logged")
	gotDeleted := collect(deleted) // reads only now: its events waited in the log or its spill
	b.close(time.Minute)
	require.Equal(t, wantOffers, seqs(<-gotOffers))
	require.Equal(t, wantDeleted, seqs(<-gotDeleted))
	require.NoError(t, offers.Err())
	require.NoError(t, deleted.Err())
}

// A reader that has caught up lets the log recycle the chunks it read, even when no
// event after that is logged (none that anyone wants): the log does not keep the
// last events' chunks, and their maps, until the next wanted one.
func TestSharedLogRecyclesWhenItsReadersCatchUp(t *testing.T) {
	b := newTestBus(t, 0)
	offers := b.subscribe(&SubscribeOptions{Types: []EventType{EventTypeOfferIssued}})
	got := collect(offers)
	const wanted = 50 * logChunkLen
	for seq := uint64(1); seq <= wanted; seq++ {
		b.publish([]engine.Event{offerIssued(seq, "j", "w", "q")})
	}
	waitFor(t, "the reader to catch up and park", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return offers.logWaiting && offers.pos.Load() == b.log.end.Load()
	})
	for seq := uint64(wanted + 1); seq <= 2*wanted; seq++ {
		ev := offerIssued(seq, "j", "w", "q")
		ev.Type = engine.EvJobQueued
		b.publish([]engine.Event{ev})
	}
	require.LessOrEqual(t, logChunks(b), 2, "the chunks read are recycled, not kept for the next wanted event")
	b.close(time.Minute)
	require.Len(t, <-got, wanted)
}

// Whether an event is logged follows the shared subscriptions open at the time, as
// they come and go: a type filter adds its types, a subscription without one adds
// every type, and a closed subscription takes back what it added.
func TestSharedLogFollowsTheSubscriptionsTypes(t *testing.T) {
	b := newTestBus(t, 0)
	seq := uint64(0)
	logged := func(typ engine.EventType) uint64 {
		seq++
		ev := offerIssued(seq, "j", "w", "q")
		ev.Type = typ
		b.publish([]engine.Event{ev})
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.log.end.Load()
	}
	queued := b.subscribe(&SubscribeOptions{Types: []EventType{EventTypeJobQueued, EventTypeJobDeleted}})
	require.EqualValues(t, 0, logged(engine.EvOfferIssued), "no reader wants it")
	require.EqualValues(t, 1, logged(engine.EvJobQueued))
	queued2 := b.subscribe(&SubscribeOptions{Types: []EventType{EventTypeJobQueued}})
	all := b.subscribe(nil)
	require.EqualValues(t, 2, logged(engine.EvOfferIssued), "the unfiltered reader wants every event")
	all.Close()
	require.EqualValues(t, 2, logged(engine.EvOfferIssued), "closed: its types are taken back")
	queued.Close()
	require.EqualValues(t, 3, logged(engine.EvJobQueued), "queued2 still wants JobQueued")
	require.EqualValues(t, 3, logged(engine.EvJobDeleted), "no one wants JobDeleted any more")
	queued2.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	require.Equal(t, typeCounts{}, b.index.sharedTypes)
}

// The backlog limit counts only the events a shared subscription's filters pass,
// whatever else the log holds, and the publish that would exceed it closes the
// subscription: the reader still gets what was on the channel, in order.
func TestSharedBacklogCountsOnlyMatchedEvents(t *testing.T) {
	b := newTestBus(t, 0)
	const limit = eventsBuffer + 3*spillAt
	s := b.subscribe(&SubscribeOptions{MaxBacklog: limit, Types: []EventType{EventTypeJobQueued}})
	// Every third event is a JobQueued: 3*limit events fill the backlog exactly.
	publishLog(b, 1, 3*limit)
	require.NoError(t, s.Err(), "exactly full: not over")
	// However the goroutine was scheduled meanwhile (on one processor it may not
	// have run at all), it fills the channel before the overflow below, so that the
	// reader has events to take after it.
	waitFor(t, "the channel to fill", func() bool { return len(s.ch) == eventsBuffer })
	publishLog(b, 3*limit+1, 3*limit+2) // no JobQueued among them
	require.NoError(t, s.Err())
	publishLog(b, 3*limit+3, 3*limit+3) // a JobQueued: one too many
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	got := seqs(drain(s))
	require.NotEmpty(t, got)
	for i, seq := range got {
		require.Equal(t, uint64(3*(i+1)), seq, "in order, none skipped")
	}
}

// A randomised run of shared subscriptions with random filters and backlogs, read at
// random paces (some not at all until the end, some closed midway), against many
// events: each subscription gets exactly the events its filters pass, in order, up
// to its overflow or close, and all of them if it lasted to the bus's close.
func TestSharedReadersAgainstBruteForce(t *testing.T) {
	for _, seed := range []uint64{1, 2, 20261126} {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { sharedReadersAgainstBruteForce(t, seed) })
	}
}

func sharedReadersAgainstBruteForce(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x106))
	b := newBus(0)
	const nSubs, nEvents = 12, 6 * spillAt
	type reader struct {
		opts    SubscribeOptions
		s       *Subscription
		want    []uint64
		got     chan []uint64
		closeAt uint64 // closed by the test right after this event; 0: never
	}
	types := []EventType{EventTypeOfferIssued, EventTypeJobQueued}
	readers := make([]*reader, nSubs)
	var releases []chan struct{} // the stalled readers' starts
	var wg sync.WaitGroup
	for i := range readers {
		r := &reader{got: make(chan []uint64, 1)}
		if rng.IntN(3) == 0 {
			r.opts.Types = []EventType{types[rng.IntN(len(types))]}
		}
		if rng.IntN(3) == 0 {
			r.opts.MaxBacklog = 1 + rng.IntN(3*spillAt)
		}
		if rng.IntN(4) == 0 {
			r.closeAt = 1 + rng.Uint64N(nEvents)
		}
		r.s = b.subscribe(&r.opts)
		release := make(chan struct{})
		if rng.IntN(3) == 0 {
			releases = append(releases, release) // reads nothing until every event is out
		} else {
			close(release)
		}
		pause := rng.IntN(50) // yields every so many events
		wg.Go(func() {
			<-release
			var out []uint64
			for ev := range r.s.Events() {
				out = append(out, ev.Seq())
				if pause > 0 && len(out)%pause == 0 {
					runtime.Gosched()
				}
			}
			r.got <- out
		})
		readers[i] = r
	}
	for seq := uint64(1); seq <= nEvents; seq++ {
		ev := logEvent(seq)
		b.publish([]engine.Event{ev})
		for _, r := range readers {
			if r.closeAt != 0 && r.closeAt < seq {
				continue
			}
			if len(r.opts.Types) == 0 || EventType(ev.Type) == r.opts.Types[0] {
				r.want = append(r.want, seq)
			}
			if r.closeAt == seq {
				r.s.Close() // while its reader may be receiving
			}
		}
	}
	for _, c := range releases {
		close(c)
	}
	b.close(time.Minute)
	wg.Wait()
	for i, r := range readers {
		got := <-r.got
		what := fmt.Sprintf("reader %d (%+v, closed after %d, err %v): got %d of %d", i, r.opts, r.closeAt, r.s.Err(), len(got), len(r.want))
		if r.closeAt != 0 {
			// Closed by the test while its reader may be receiving: Close empties the
			// channel's buffer meanwhile, so the reader gets its events in order, but
			// not necessarily consecutive ones.
			require.True(t, isSubsequence(got, r.want), "%s: in order, each one it wants", what)
			continue
		}
		require.LessOrEqual(t, len(got), len(r.want), what)
		require.True(t, slices.Equal(r.want[:len(got)], got), "%s: a prefix of its events, in order", what)
		if errors.Is(r.s.Err(), ErrSlowSubscriber) {
			require.Less(t, len(got), len(r.want), "%s: overflowed before the end", what)
		} else {
			require.NoError(t, r.s.Err())
			require.Equal(t, r.want, got, "%s: every event it wants", what)
		}
	}
	require.Zero(t, logChunks(b))
}

// A token left on wake before the goroutine parked (a spill asked for while it was
// catching up) does not end the parking: the cursor is not the goroutine's to read
// while it is parked. A publish does not wake it either: the publishing call
// delivers the event itself (help) and leaves it parked. Only a token given while
// it is parked (here finish's) wakes it, with the cursor its own again.
func TestSharedParkIgnoresAStaleToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBus(0)
		s := newSubscription(nil, b.defaultMaxBacklog) // shared; the test plays its goroutine
		b.mu.Lock()
		s.bus = b
		b.index.add(s)
		b.log.attach(s)
		b.mu.Unlock()
		s.cursor.Lock() // as subscribe does for the goroutine
		s.signal()      // the stale token
		returned := make(chan bool, 1)
		go func() { returned <- s.park(b) }()
		synctest.Wait()
		require.Empty(t, returned, "still parked")
		ev := offerIssued(1, "j", "w", "q")
		b.publish([]engine.Event{ev})
		synctest.Wait()
		require.Empty(t, returned, "still parked: the publish delivered the event itself")
		require.Equal(t, toEvent(&ev), <-s.Events())
		require.Equal(t, uint64(1), s.pos.Load(), "the cursor is past the event")
		b.finish(s)
		synctest.Wait()
		require.True(t, <-returned, "woken by finish")
		b.mu.Lock()
		require.False(t, s.logWaiting)
		b.log.detach(s)
		b.index.remove(s)
		b.mu.Unlock()
	})
}

// isSubsequence reports whether sub's elements all appear in seq, in the same order.
func isSubsequence(sub, seq []uint64) bool {
	i := 0
	for _, v := range seq {
		if i < len(sub) && sub[i] == v {
			i++
		}
	}
	return i == len(sub)
}

// A publish asks a shared subscription's goroutine to spill once it is spillAt events
// behind, and yields its processor for it once it is farBehind, at most once every
// spillAt events: a goroutine that was woken but has not run (here: none runs) is
// given the processor rather than left to fall further behind.
func TestSharedPublishYieldsForAGoroutineFarBehind(t *testing.T) {
	b := newBus(0)
	s := newSubscription(nil, b.defaultMaxBacklog) // shared, without its goroutine: it never reads
	b.mu.Lock()
	defer b.mu.Unlock()
	s.bus = b
	b.index.add(s)
	b.log.attach(s)
	var yields []uint64
	for seq := uint64(1); seq <= 3*farBehind; seq++ {
		ev := logEvent(seq)
		if b.publishShared(&ev) {
			yields = append(yields, seq)
		}
		if seq == spillAt+lagCheckEvery-1 {
			require.Len(t, s.wake, 1, "woken to spill")
		}
	}
	var want []uint64
	for end := uint64(farBehind); end <= 3*farBehind; end += spillAt {
		want = append(want, end)
	}
	require.Equal(t, want, yields)
	require.Equal(t, uint64(3*farBehind), s.published)
	b.log.detach(s)
	b.index.remove(s)
}

// Calls publish concurrently as the Router's do: their publishes one at a time
// (the Router's lock), each call's help after it, unlocked and racing the next
// calls, and at most inFlight calls whose last event the first reader has not read
// yet (B1's window of jobs). Readers that take each event as it comes (B1's agent),
// one that reads in bursts, and one that is a publishing goroutine itself (B2) must
// each get every event, once, in order. A hand-off that no one delivers leaves the
// first reader waiting, the window full and the calls stopped: found by B1, where a
// goroutine let go of its cursor after b.mu, so that a caller's help failed to take
// it and the goroutine parked with the event undelivered.
func TestSharedHandOffsUnderConcurrentCalls(t *testing.T) {
	const callers, calls, perCall, inFlight = 3, 20000, 3, 4
	const total = callers * calls * perCall
	b := newTestBus(t, total+1)
	var routerMu sync.Mutex
	var seq uint64
	window := make(chan struct{}, inFlight)
	call := func() uint64 { // one Router call: perCall events, then help
		window <- struct{}{}
		routerMu.Lock()
		var last uint64
		for range perCall {
			seq++
			last = seq
			ev := logEvent(seq)
			b.publishOne(&ev)
		}
		routerMu.Unlock()
		b.help()
		return last
	}
	steady := b.subscribe(nil)
	bursty := b.subscribe(nil)
	own := b.subscribe(nil) // read by the first caller after each of its calls
	results := make(chan []uint64, 2)
	read := func(s *Subscription, burst int, releases bool) {
		var got []uint64
		for len(got) < total {
			ev, ok := <-s.Events()
			if !ok {
				break
			}
			got = append(got, ev.Seq())
			if releases && ev.Seq()%perCall == 0 {
				<-window
			}
			if burst > 0 && len(got)%burst == 0 {
				runtime.Gosched()
			}
		}
		results <- got
	}
	go read(steady, 0, true)
	go read(bursty, 97, false)
	var wg sync.WaitGroup
	var ownGot []uint64
	for c := range callers {
		wg.Go(func() {
			for range calls {
				last := call()
				if c != 0 {
					continue
				}
				for len(ownGot) == 0 || ownGot[len(ownGot)-1] < last {
					ownGot = append(ownGot, (<-own.Events()).Seq())
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	watchdog := time.After(time.Minute) // only to fail instead of hanging
	var all [][]uint64
	for len(all) < 2 {
		select {
		case got := <-results:
			all = append(all, got)
		case <-watchdog:
			t.Fatalf("a reader is still waiting after a minute: an event was never delivered (%d readers done)", len(all))
		}
	}
	select {
	case <-done:
	case <-watchdog:
		t.Fatal("the publishing goroutine waits for its own event")
	}
	for len(ownGot) < total {
		select {
		case ev := <-own.Events():
			ownGot = append(ownGot, ev.Seq())
		case <-watchdog:
			t.Fatalf("the own reader got %d of %d events", len(ownGot), total)
		}
	}
	want := make([]uint64, total)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	for i, got := range append(all, ownGot) {
		require.Equal(t, want, got, "reader %d", i)
	}
}
