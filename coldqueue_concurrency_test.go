package jobrouter

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// Tests of an asynchronous subscription decoding its encoded events (the backlog
// beyond hotLimit) without its lock, while publishes, an overflow or Close change
// its queue. Run them with -race: a decode that read bytes a push was writing, or
// that a reset queue handed out again, is a race even where the values came out
// right. They run on subscriptions keyed on the events' queue, which keep queues of
// their own; a shared subscription (no ID filter) reads the bus's eventLog and
// encodes in its own goroutine (eventlog_test.go).

// coldTestEvent is the engine event of Seq seq in these tests: its strings (some
// long, so that chunks fill in a few hundred events), times and maps all follow
// from seq, so an event decoded from overwritten bytes, or from another event's,
// differs from it.
func coldTestEvent(seq uint64) engine.Event {
	s := strconv.FormatUint(seq, 10)
	ev := offerIssued(seq, "job-"+s, "worker-"+s, "q")
	ev.ChannelReference = strings.Repeat(string(rune('a'+seq%26)), int(seq%300))
	if seq%3 == 0 {
		ev.ExpiresAt = ev.Time.Add(time.Minute)
	}
	if seq%5 == 0 {
		ev.JobLabels = engine.Labels{"seq": s}
	}
	return ev
}

// publishCold publishes the events of Seq from to to, inclusive, one by one.
func publishCold(b *bus, from, to uint64) {
	for seq := from; seq <= to; seq++ {
		b.publish([]engine.Event{coldTestEvent(seq)})
	}
}

// heldEvent is the event the goroutine holds, waiting for room on the channel, once
// publishPastFirstTier has filled the channel's buffer with the ones before it.
// firstEncoded is the first event of the encoded tier then: the first tier holds the
// hotLimit after held.
const (
	heldEvent    = eventsBuffer + 1
	firstEncoded = heldEvent + hotLimit + 1
)

// publishPastFirstTier publishes the events of Seq 1 to last (at least firstEncoded)
// so that the channel's buffer holds the first eventsBuffer, the goroutine of s holds
// the next (heldEvent) and the first tier the next hotLimit: the events from firstEncoded
// on are encoded.
func publishPastFirstTier(t *testing.T, b *bus, s *Subscription, last uint64) {
	t.Helper()
	publishCold(b, 1, heldEvent)
	waitFor(t, "the goroutine to hold an event with the channel's buffer full", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.inFlight && len(s.ch) == eventsBuffer
	})
	publishCold(b, heldEvent+1, last)
}

// waitFor polls cond until it holds, failing the test after a generous delay.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "waited in vain for %s", what)
		time.Sleep(time.Millisecond)
	}
}

// requireColdEvent requires ev to be the public form of coldTestEvent(seq).
func requireColdEvent(t *testing.T, seq uint64, ev Event) {
	t.Helper()
	want := coldTestEvent(seq)
	require.Equal(t, toEvent(&want), ev, "event %d", seq)
}

// decodeGate holds each encoded event's decode at its start (testHookColdDecode)
// until the test releases it, while the gate is shut; once opened, decodes pass.
type decodeGate struct {
	entered chan struct{} // a decode has started and waits
	release chan struct{} // one token lets one waiting decode go on
	open    chan struct{} // closed: no decode waits any more
	once    sync.Once
}

// newGatedBus installs a shut gate as testHookColdDecode for the rest of the test,
// and returns it with a bus made after it (whose subscription goroutines read the
// hook). At the test's end, or at its failure, the gate opens before the bus
// closes (which waits for those goroutines), and is removed after.
func newGatedBus(t *testing.T) (*decodeGate, *bus) {
	t.Helper()
	g := &decodeGate{entered: make(chan struct{}), release: make(chan struct{}), open: make(chan struct{})}
	testHookColdDecode = func() {
		select {
		case g.entered <- struct{}{}:
			select {
			case <-g.release:
			case <-g.open:
			}
		case <-g.open:
		}
	}
	t.Cleanup(func() { testHookColdDecode = nil })
	b := newTestBus(t, 0)
	t.Cleanup(g.opened)
	return g, b
}

// opened opens the gate, letting every decode pass from now on.
func (g *decodeGate) opened() { g.once.Do(func() { close(g.open) }) }

// releaseOne lets the decode held at the gate go on.
func (g *decodeGate) releaseOne() {
	select {
	case g.release <- struct{}{}:
	case <-g.open: // opened by a failure: it goes on already
	}
}

// waitEntered waits for a decode to start and stop at the gate.
func (g *decodeGate) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no encoded event was decoded")
	}
}

// publishWhileHeld publishes the events of Seq from to to while a decode is held at
// the gate, and fails the test if that does not finish within a generous delay: a
// decode under the subscription's lock would hold the publish until released.
func (g *decodeGate) publishWhileHeld(t *testing.T, b *bus, from, to uint64) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		publishCold(b, from, to)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		g.opened() // let the decode finish, so that the publish and the test can end
		<-done
		t.Fatal("a publish waited for a decode: the decode holds the subscription's lock")
	}
}

// receive takes the next event from s, failing the test if none comes in time.
func receive(t *testing.T, s *Subscription) Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatalf("channel closed early: %v", s.Err())
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return nil
	}
}

// TestColdDecodeDoesNotHoldTheLock holds the decode of encoded events, one after
// another, and publishes meanwhile: every publish must go through while the decode
// waits, and every held event must come out whole once released. When the held
// event is the last of its chunk (the chunk has left the queue), the publish is
// several chunks long, so that a chunk handed out again while still being read
// would have its bytes overwritten.
func TestColdDecodeDoesNotHoldTheLock(t *testing.T) {
	g, b := newGatedBus(t)
	s := b.subscribe(&SubscribeOptions{QueueID: "q", MaxBacklog: 1 << 20})
	const first = firstEncoded + 198
	publishPastFirstTier(t, b, s, first)
	for seq := uint64(1); seq < firstEncoded; seq++ {
		requireColdEvent(t, seq, receive(t, s))
	}
	next, seq := uint64(first+1), uint64(firstEncoded)
	for ends := 0; ends < 3; seq++ {
		g.waitEntered(t)
		require.True(t, s.mu.TryLock(), "the decode holds the subscription's lock")
		chunkEnd := s.q.cold.read == 0 // take dropped the chunk: the held event was its last
		s.mu.Unlock()
		burst := uint64(10)
		if chunkEnd {
			burst = 600 // about four chunks of 32 KiB
			ends++
		}
		g.publishWhileHeld(t, b, next, next+burst-1)
		require.NoError(t, s.Err(), "Err takes the lock too")
		next += burst
		g.releaseOne()
		requireColdEvent(t, seq, receive(t, s))
	}
	g.opened()
	for ; seq < next; seq++ {
		requireColdEvent(t, seq, receive(t, s))
	}
	require.NoError(t, s.Err())
}

// TestColdDecodeAcrossOverflow holds a decode while publishes overflow the backlog,
// which discards the queue the event was taken from: the event decoded afterwards
// is still whole, and the channel yields at most that one before closing.
func TestColdDecodeAcrossOverflow(t *testing.T) {
	g, b := newGatedBus(t)
	const limit = 3000
	s := b.subscribe(&SubscribeOptions{QueueID: "q", MaxBacklog: limit})
	publishPastFirstTier(t, b, s, 2000)
	for seq := uint64(1); seq < firstEncoded; seq++ {
		requireColdEvent(t, seq, receive(t, s))
	}
	g.waitEntered(t) // event firstEncoded
	// The backlog counts the held event: 2000-firstEncoded+1 of them wait; this overflows.
	g.publishWhileHeld(t, b, 2001, 2001+limit)
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
	g.releaseOne()
	got := drain(s)
	require.LessOrEqual(t, len(got), 1)
	for _, ev := range got {
		requireColdEvent(t, firstEncoded, ev)
	}
}

// TestColdDecodeAcrossClose holds a decode while another goroutine closes the
// subscription and publishes go on: Close waits for the goroutine, which finishes
// its decode on bytes that nothing reuses, and the channel yields at most that
// event.
func TestColdDecodeAcrossClose(t *testing.T) {
	g, b := newGatedBus(t)
	s := b.subscribe(&SubscribeOptions{QueueID: "q", MaxBacklog: 1 << 20})
	other := b.subscribe(&SubscribeOptions{QueueID: "q", MaxBacklog: 1 << 20}) // keeps a queue being pushed to
	publishPastFirstTier(t, b, s, 2000)
	for seq := uint64(1); seq < firstEncoded; seq++ {
		requireColdEvent(t, seq, receive(t, s))
	}
	g.waitEntered(t)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		s.Close()
	}()
	// Stopped before the publishes, so that other's fresh chunks are made while s's
	// are dropped: a reuse of s's chunks would show in the held decode.
	waitFor(t, "Close to stop the subscription", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.state == subStopped
	})
	g.publishWhileHeld(t, b, 2001, 3000)
	g.releaseOne()
	got := drain(s)
	<-closed
	require.LessOrEqual(t, len(got), 1)
	for _, ev := range got {
		requireColdEvent(t, firstEncoded, ev)
	}
	require.NoError(t, s.Err())

	g.opened()
	for seq := uint64(1); seq <= 3000; seq++ {
		requireColdEvent(t, seq, receive(t, other))
	}
}

// TestColdDecodeConcurrentWithPublish has a publisher and a reader run freely
// against each other, the reader pausing now and then so that its backlog swings
// across hotLimit, into the encoded tier and out of it, again and again: every
// event arrives once, in order, whole.
func TestColdDecodeConcurrentWithPublish(t *testing.T) {
	const n = 12_000
	b := newTestBus(t, 0)
	s := b.subscribe(&SubscribeOptions{QueueID: "q", MaxBacklog: n})
	go publishCold(b, 1, n)
	for seq := uint64(1); seq <= n; seq++ {
		requireColdEvent(t, seq, receive(t, s))
		if seq%2500 == 0 {
			time.Sleep(5 * time.Millisecond) // let the backlog grow past the first tier
		}
	}
	require.NoError(t, s.Err())
}

// A decode held on the last encoded event, while publishes fill the first tier and
// several encoded chunks behind it: the held event comes out whole, and every event
// after it in order (a chunk emptied by that take is dropped, never refilled).
func TestColdDecodeOfTheLastEncodedEventAcrossARefill(t *testing.T) {
	g, b := newGatedBus(t)
	s := b.subscribe(&SubscribeOptions{QueueID: "q", MaxBacklog: 1 << 20})
	const last = firstEncoded
	publishPastFirstTier(t, b, s, last) // exactly one encoded event
	for seq := uint64(1); seq < firstEncoded; seq++ {
		requireColdEvent(t, seq, receive(t, s))
	}
	g.waitEntered(t)
	s.mu.Lock()
	require.Zero(t, s.q.cold.n, "the held event was the last encoded one")
	s.mu.Unlock()
	g.publishWhileHeld(t, b, last+1, last+hotLimit+800)
	g.releaseOne()
	requireColdEvent(t, last, receive(t, s))
	g.opened()
	for seq := uint64(last + 1); seq <= last+hotLimit+800; seq++ {
		requireColdEvent(t, seq, receive(t, s))
	}
}

// The backlog limit counts an encoded event held in decode: exactly the room left
// can be published, and one more closes the subscription.
func TestColdDecodeHeldEventCountsInTheBacklog(t *testing.T) {
	g, b := newGatedBus(t)
	const limit, published = 2000, 1500
	s := b.subscribe(&SubscribeOptions{QueueID: "q", MaxBacklog: limit})
	publishPastFirstTier(t, b, s, published)
	for seq := uint64(1); seq < firstEncoded; seq++ {
		requireColdEvent(t, seq, receive(t, s))
	}
	g.waitEntered(t) // holds firstEncoded: that one and the rest queued are the backlog
	backlog := published - (firstEncoded - 1)
	room := uint64(limit - backlog)
	g.publishWhileHeld(t, b, published+1, published+room)
	require.NoError(t, s.Err())
	g.publishWhileHeld(t, b, published+room+1, published+room+1)
	require.ErrorIs(t, s.Err(), ErrSlowSubscriber)
}
