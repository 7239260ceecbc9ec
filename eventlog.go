package jobrouter

import (
	"slices"
	"sync/atomic"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/spares"
)

// eventLog is the events of a bus, stored once for all its shared subscriptions: the
// asynchronous ones without an ID filter (SubscribeOptions), which see every event.
// Each such subscription reads the log by a cursor of its own (Subscription.pos and
// .at), in its own goroutine (or, while that is parked, in a Router call delivering
// for it: bus.help), without the bus's lock: a publish writes an event into its
// slot and only then moves end past it, and a slot is written again only once every
// cursor is past its chunk. So a publish costs one copy of the event, whatever the
// number of shared subscriptions (and none when no shared subscription's filters
// pass it), and each of them only a filter check and a few
// counters (bus.publishShared): a subscriber that keeps up and one that is stalled cost
// the publishing path about the same. A subscription whose reader stalls falls behind
// in the log; once it is spillAt events behind, its goroutine (woken for it) encodes
// what it lags by into a queue of its own (coldQueue) and moves its cursor to the
// end, so that a stalled reader holds about spillAt events of the log (farBehind at
// most, once its goroutine gets a processor), and the encoding runs on the
// subscription's goroutine, not on the Router's path.
//
// The log is a list of chunks of logChunkLen events. It is written under bus.mu
// (append, attach, detach); end is read by the readers without a lock. A chunk is
// recycled (kept as a spare) once every attached cursor, those of the
// goroutines still running included, is past its last event. Appending is O(1),
// plus O(attached readers) once per chunk.
type eventLog struct {
	head, tail *logChunk     // head is the oldest chunk kept, tail the one being written; nil until a reader attaches
	end        atomic.Uint64 // events appended so far: the next event's position
	readers    []*Subscription
	spares     spares.List[logChunk] // chunks for reuse, at most maxSpareLogChunks; their old events are cleared only by detach
	made       int                   // chunks allocated, reuse aside
}

// logChunkLen is the number of events per chunk of an eventLog (18 KB a chunk).
const logChunkLen = 64

// maxSpareLogChunks bounds the spare chunks a log keeps (576 KB).
const maxSpareLogChunks = 32

// spillAt is how far behind the log a shared subscription's goroutine may fall, while
// it waits for its reader, before it is woken to encode what it lags by: the log
// keeps about this many of a stalled reader's events as records (280 KB).
const spillAt = 1024

// farBehind is how far behind the log a shared subscription's goroutine may fall
// before a publish yields its processor, at most once per spillAt events. A woken
// goroutine is readied on the waker's processor and runs when that processor is
// free, or when another steals it; a Router call that publishes a long run of
// events (an advance that expires a million offers, B6) keeps its processor, so
// without the yield the goroutine could lag by tens of thousands of events, all
// held in the log as records for the collector to scan (measured in B6: up to 700
// chunks, and 1.1-1.8 µs an expiry against 0.6-1.0). The yielded processor runs
// the goroutine, which spills (no lock needed) and goes back to waiting, and then
// the publish goes on. The yield is made under the Router's mutex (a publish runs in
// a Router call), so other calls wait through it: a Gosched, a few microseconds
// once per 1,024 events, and only while a subscriber is this far behind. The
// goroutine also spills by itself when it finds itself this far behind while its
// reader keeps up (its own conversions, or decoding its spill, are then the
// bottleneck), so that the log stays bounded either way.
const farBehind = 4 * spillAt

// logChunk is one block of an eventLog: the events at positions start to
// start+logChunkLen-1. next is written under bus.mu before end passes the chunk, so
// that a reader who has seen end past it may follow it without a lock.
type logChunk struct {
	evs   [logChunkLen]engine.Event
	start uint64
	next  *logChunk
}

// reserve makes room in the tail chunk for the next event and returns its position.
// A publish reserves, counts the event for each shared subscription (publishShared),
// then appends it: a reader that sees the event sees it counted. Called with bus.mu
// held. O(1), plus recycling once per chunk (grow).
func (lg *eventLog) reserve() uint64 {
	end := lg.end.Load() // only a publish, under bus.mu, writes it
	if lg.tail == nil || end == lg.tail.start+logChunkLen {
		lg.grow(end)
	}
	return end
}

// append writes a copy of *ev at the position reserve returned, and makes it
// readable. Called with bus.mu held, after reserve. O(1).
func (lg *eventLog) append(ev *engine.Event) {
	end := lg.end.Load()
	lg.tail.evs[end-lg.tail.start] = *ev
	lg.end.Store(end + 1)
}

// grow starts a new tail chunk at position end, first recycling the chunks every
// reader has passed. O(attached readers + chunks recycled).
func (lg *eventLog) grow(end uint64) {
	lg.recycle(end)
	c := lg.chunk()
	c.start = end
	if lg.tail == nil {
		lg.head = c
	} else {
		lg.tail.next = c
	}
	lg.tail = c
}

// recycle keeps (or drops) the chunks that lie wholly before every attached reader's
// cursor. A reader's chunk (Subscription.at) is the one its cursor is in or at the
// end of, so a chunk whose last event is before the cursor is not its. With no
// reader attached, every chunk but the tail goes. A kept chunk is not cleared: each
// slot is overwritten when the chunk is reused, and clearing it here costs a publish
// a second pass over memory that the readers' goroutines, on the other cores, last
// touched (BenchmarkPublishToStalledSubscription: 232-266 ns a publish with the
// clear, 162-206 without). So the spares may keep the engine maps and strings of up
// to maxSpareLogChunks*logChunkLen old events alive, a bounded amount; detach clears
// them when the last reader goes. O(attached readers + chunks recycled).
func (lg *eventLog) recycle(end uint64) {
	low := end
	for _, s := range lg.readers {
		low = min(low, s.pos.Load())
	}
	for c := lg.head; c != nil && c != lg.tail && c.start+logChunkLen < low; c = lg.head {
		lg.head = c.next
		c.next = nil
		lg.spares.Keep(c, maxSpareLogChunks)
	}
}

// caughtUp recycles the chunks that every reader has passed, when a reader has
// caught up with the log's end. A publish recycles as it starts a chunk (grow), but
// an event that no shared subscription wants is not appended at all
// (publishShared), so a log that gets only such events would otherwise keep the
// chunks, and the events' maps, that its readers read last. Called with bus.mu
// held. O(1) when only the tail is left; else O(attached readers + chunks
// recycled).
func (lg *eventLog) caughtUp() {
	if lg.head != lg.tail {
		lg.recycle(lg.end.Load())
	}
}

// chunk returns an empty chunk, a spare when there is one.
func (lg *eventLog) chunk() *logChunk {
	if lg.spares.Len() == 0 {
		lg.made++
	}
	return lg.spares.Get()
}

// attach puts s's cursor at the end of the log: s reads the events appended from now
// on. Called with bus.mu held. O(1) amortised.
func (lg *eventLog) attach(s *Subscription) {
	end := lg.end.Load()
	if lg.tail == nil || end == lg.tail.start+logChunkLen {
		lg.grow(end)
	}
	s.pos.Store(end)
	s.at = lg.tail
	lg.readers = append(lg.readers, s)
}

// detach forgets s's cursor, once s's goroutine has stopped reading the log. With no
// reader left, the log's chunks (the tail included) become spares and every spare is
// cleared, so that no event's maps stay referenced. Called with bus.mu held.
// O(attached readers), plus O(spares) for the last one.
func (lg *eventLog) detach(s *Subscription) {
	if i := slices.Index(lg.readers, s); i >= 0 {
		lg.readers = slices.Delete(lg.readers, i, i+1)
	}
	s.at = nil
	if len(lg.readers) > 0 {
		return
	}
	for c := lg.head; c != nil; {
		next := c.next
		c.next = nil
		lg.spares.Keep(c, maxSpareLogChunks)
		c = next
	}
	lg.head, lg.tail = nil, nil
	for _, c := range lg.spares.All() {
		clear(c.evs[:]) // drop the references to engine maps
	}
}

// chunks returns the number of chunks the log holds, spares aside. For tests.
func (lg *eventLog) chunks() int {
	n := 0
	for c := lg.head; c != nil; c = c.next {
		n++
	}
	return n
}

// publishShared puts ev in the log for the shared subscriptions, unless none of them
// passes it (then it does nothing). It counts ev for each one whose filters it
// passes, and gets it delivered: a subscription whose
// goroutine is parked at the end of the log is handed off to the publishing call
// (bus.help) when no other hand-off is pending (bus.handoff), else its goroutine is
// woken, as is one handed off maxHelpEvents events ago and one waiting for its reader
// while spillAt events behind.
// A parked subscription the event does not concern has its cursor moved past it, so
// that a subscription that rarely matches never holds the log's chunks. A
// subscription whose backlog is full is stopped with ErrSlowSubscriber and leaves
// the index. The counts come before the event is readable, so that a reader never
// sends more than was counted; a goroutine woken before the append finds the event
// once it gets b.mu (park). It reports whether a goroutine is farBehind (woken to
// spill, it has not caught up; most often it has not run): the caller then yields
// its processor once, after
// unlocking b.mu (see farBehind). Called with b.mu held. O(shared subscriptions),
// each O(1), no lock taken but near a subscription's backlog limit (full).
func (b *bus) publishShared(ev *engine.Event) (yield bool) {
	lg := &b.log
	l := &b.index.shared
	if !b.index.sharedWants(ev) {
		// No shared subscription passes ev: each would only step over it, so it is
		// not logged at all (a subscriber to a few event types, such as B2's to
		// OfferIssued, no longer has every other event copied into the log). The
		// log's positions count the events logged; nothing reads them as Seq.
		return false
	}
	end := lg.reserve() + 1 // the end once ev is in
	for i := 0; i < len(l.subs); i++ {
		s := l.subs[i]
		if s.matches(ev) {
			if s.published-s.sentSeen+eventsBuffer >= uint64(s.maxBacklog) && s.full() {
				b.index.remove(s)
				i--
				continue
			}
			s.published++
			if s.logWaiting {
				s.logWaiting = false
				if b.handoff.CompareAndSwap(nil, s) { // delivered by the caller (help)
					s.handedOff = end
				} else {
					s.signal()
				}
				continue
			}
			if s.handedOff != 0 && end-s.handedOff >= maxHelpEvents {
				// A long call (an advance that fires many deadlines): let the
				// goroutine deliver as the events come rather than after the call.
				s.handedOff = 0
				s.signal()
			}
		} else if s.logWaiting {
			s.pos.Store(end)
			s.at = lg.tail
			continue
		}
		if end%lagCheckEvery != 0 {
			continue
		}
		if lag := end - s.pos.Load(); lag >= spillAt {
			s.signal()
			if lag >= farBehind && end >= s.nextYield {
				s.nextYield = end + spillAt
				yield = true
			}
		}
	}
	lg.append(ev)
	return yield
}

// lagCheckEvery is how often (in events published) a publish reads how far each
// shared subscription's goroutine lags: its cursor is written by the goroutine,
// often on another core, and reading it for every event cost a cache miss an event.
const lagCheckEvery = 64

// full reports whether s's backlog is full, and if so stops it with
// ErrSlowSubscriber. publishShared calls it only when published - sentSeen +
// eventsBuffer, a bound on the backlog that reads nothing the goroutine writes
// (sentSeen ≤ sent, and the channel holds at most eventsBuffer), has reached the
// limit: it refreshes sentSeen and estimates again (one high at most, never low),
// and takes s's lock only if that estimate is full too, to count exactly (a send on
// the channel that did not wait is counted under the lock). So a publish reads the
// goroutine's count, a cache line it writes for every event, only near the limit.
// Called with bus.mu held.
func (s *Subscription) full() bool {
	s.sentSeen = s.sent.Load()
	if s.published-s.sentSeen+uint64(len(s.ch)) < uint64(s.maxBacklog) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != subOpen {
		return true
	}
	if s.backlogLocked() < s.maxBacklog {
		return false
	}
	s.stopLocked(overflowError(s.maxBacklog))
	return true
}

// signal leaves a token on wake unless one is already there. A shared subscription's
// goroutine takes tokens both when parked and while waiting for its reader, and may
// find a stale one: it checks what is to do either way.
func (s *Subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// finish asks s's goroutine to deliver what is queued (or, shared, what is left in
// the log and its spill) and then close the channel; see Subscription.finish. A
// shared subscription is woken under b.mu, which guards its parking.
func (b *bus) finish(s *Subscription) {
	if !s.shared {
		s.finish()
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s.mu.Lock()
	if s.state == subOpen {
		s.state = subFinishing
	}
	s.mu.Unlock()
	if s.logWaiting {
		s.logWaiting = false
		s.signal()
	}
}

// runShared is a shared subscription's goroutine. It reads the log from its cursor,
// converts each event that passes its filters to its public form straight from the
// log's slot (no copy, no lock), and hands it to the reader. While it waits for the
// reader, a token on wake means it has fallen spillAt events behind: it encodes what
// it lags by into its own coldQueue (spill) and moves its cursor to the end, so that
// the log can recycle its chunks; those events are delivered first. It parks when
// nothing is left, and stops as run does (Close, overflow, or finishing and run dry).
func (s *Subscription) runShared(b *bus) {
	defer close(s.exited)
	defer close(s.ch)
	defer b.leave(s)
	lg := &b.log
	var cold coldQueue // the spilled events, all before the cursor; only this goroutine's
	var ev engine.Event
	var enc coldEvent
	for {
		pos, end := s.pos.Load(), lg.end.Load()
		if end-pos >= farBehind {
			// Far behind though not waiting for the reader (converting, or decoding
			// its spill, is the bottleneck): see farBehind.
			s.spill(lg, &cold)
			pos = end
		}
		var pub Event
		if cold.n > 0 {
			cold.take(&enc)
			enc.decode(&ev)
			enc = coldEvent{}
			pub = toEvent(&ev)
			ev = engine.Event{}
		} else {
			if pos == end {
				if !s.park(b) {
					return
				}
				continue
			}
			slot := s.slot(pos)
			if !s.matches(slot) {
				s.pos.Store(pos + 1)
				continue
			}
			pub = toEvent(slot)
			s.pos.Store(pos + 1)
		}
		if pub == nil {
			s.sent.Add(1) // an engine type without a public form: a bug, but not the reader's
			continue
		}
		if !s.hand(pub, lg, &cold) {
			return
		}
	}
}

// hand puts pub on the channel: with trySend while the buffer has room, else by a
// blocking send outside the lock, spilling whenever woken meanwhile. It reports
// false when the subscription stopped.
func (s *Subscription) hand(pub Event, lg *eventLog, cold *coldQueue) bool {
	if sent, st := s.trySend(pub); sent || st == subStopped {
		return sent
	}
	for {
		select {
		case s.ch <- pub:
			s.sent.Add(1) // one high for an instant, as run's count after such a send
			return true
		case <-s.wake:
			s.spill(lg, cold)
		case <-s.done:
			return false
		}
	}
}

// spill encodes the events from the cursor to the end of the log that pass the
// filters into cold, and moves the cursor to the end. O(events passed).
func (s *Subscription) spill(lg *eventLog, cold *coldQueue) {
	end := lg.end.Load()
	for pos := s.pos.Load(); pos < end; pos++ {
		if slot := s.slot(pos); s.matches(slot) {
			cold.push(slot)
		}
	}
	s.pos.Store(end)
}

// slot returns the log's slot at pos, the cursor's position or the next one the
// goroutine reads (below the log's end), moving the cursor's chunk on when pos is
// past its last event. Only the cursor's holder calls it: the goroutine, or help.
func (s *Subscription) slot(pos uint64) *engine.Event {
	if pos == s.at.start+logChunkLen {
		s.at = s.at.next
	}
	return &s.at.evs[pos-s.at.start]
}

// park waits for the next event of a shared subscription whose cursor is at the end
// of the log, and reports false when the goroutine is to stop: stopped, or finishing
// with nothing left. While it waits, the cursor is not its own: publishes move it
// past events the filters drop, and a caller may deliver for it (help). Its token
// comes from a publish or finish that cleared logWaiting, from a publish that finds
// it handed off maxHelpEvents events ago or spillAt behind, or from help when the
// reader's buffer is full, the subscription is no longer open or events came
// meanwhile; woken, it takes the cursor back (after any help under way) and clears
// logWaiting itself, since help may have set it again meanwhile.
func (s *Subscription) park(b *bus) bool {
	b.mu.Lock()
	if s.pos.Load() != b.log.end.Load() {
		b.mu.Unlock()
		return true
	}
	s.mu.Lock()
	st := s.state
	if st == subFinishing {
		s.state = subStopped
	}
	s.mu.Unlock()
	if st != subOpen {
		b.mu.Unlock()
		return false
	}
	select { // a stale token (a spill asked for before the goroutine caught up)
	case <-s.wake:
	default:
	}
	s.logWaiting = true
	b.log.caughtUp()
	// Let go of the cursor under b.mu, with logWaiting set: a publish that then
	// hands s off (bus.help) finds the cursor free, and one that came before saw
	// the events the check above counted.
	s.cursor.Unlock()
	b.mu.Unlock()
	ok := true
	select {
	case <-s.wake:
	case <-s.done:
		ok = false
	}
	s.cursor.Lock()
	b.mu.Lock()
	s.logWaiting, s.handedOff = false, 0
	b.mu.Unlock()
	return ok
}

// maxHelpEvents bounds the events help delivers in one go; the goroutine, woken,
// delivers the rest.
const maxHelpEvents = eventsBuffer

// help delivers, on the calling goroutine, the events of the Router call just
// ended to the shared subscription whose parked goroutine its publishes did not
// wake (bus.handoff), once the call has released the Router's lock. A goroutine
// woken costs the waker a futex call when the other processors are idle, and that
// call's tail (37 µs at p99 in CalibrationWake on this project's 2-core machine, and
// more under the Router's lock) was most of B2's p99; a caller that reads its own
// events after the call (a test, a simulation, B2) now finds them in the channel
// with no goroutine woken, and a reader blocked on the channel is woken by the
// caller directly, one hand-off instead of two. O(1) without a hand-off.
func (b *bus) help() {
	if b.handoff.Load() == nil { // the usual case: a plain load, no locked swap
		return
	}
	if s := b.handoff.Swap(nil); s != nil {
		s.help(b)
	}
}

// help delivers what s's cursor lags by, as its goroutine would, but without
// waiting: each event is put on the channel only if the buffer has room (trySend,
// as hand does first). It stops at the first that does not fit, at a stopped
// subscription, or after maxHelpEvents, and then wakes the goroutine for the rest
// (or, when the subscription is no longer open, to finish or stop); having
// delivered everything to an open one, it leaves the goroutine parked.
//
// It does nothing when the cursor is taken. Whoever holds it then delivers the
// events of this call: the cursor is let go only under b.mu, by park or by help,
// after seeing the log's end there (every event appended so far), with logWaiting
// set (without which no publish hands s off) or with a token left for the parked
// goroutine; a holder that took it since then reads the log from the cursor to its
// end before it parks. (TryLock also fails on a free mutex in starvation mode, which
// means a waiter, the goroutine, is next to take it.) A call that took the hand-off
// and has not yet taken the cursor delays the events of later calls until it
// does, or until maxHelpEvents more events wake the goroutine: a latency, never a
// loss.
func (s *Subscription) help(b *bus) {
	if !s.cursor.TryLock() {
		return
	}
	defer func() {
		// A conversion that panicked (a bug) must not leave the cursor taken, which
		// would hang Close: the goroutine takes over, converts that event again and
		// fails there, as it did before calls delivered for it.
		if p := recover(); p != nil {
			b.mu.Lock()
			s.signal()
			s.cursor.Unlock()
			b.mu.Unlock()
		}
	}()
	b.mu.Lock()
	s.logWaiting, s.handedOff = false, 0 // no publish moves the cursor while it is read here
	b.mu.Unlock()
	lg := &b.log
	pos, end := s.pos.Load(), lg.end.Load()
	for n := 0; pos < end && n < maxHelpEvents; n++ {
		slot := s.slot(pos)
		if s.matches(slot) {
			pub := toEvent(slot)
			if pub == nil {
				s.sent.Add(1) // as runShared counts it
			} else if sent, _ := s.trySend(pub); !sent {
				break // the goroutine converts this one again and delivers the rest
			}
		}
		pos++
		s.pos.Store(pos)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s.mu.Lock()
	open := s.state == subOpen
	s.mu.Unlock()
	if open && pos == lg.end.Load() {
		select { // a stale token, from a spill asked for meanwhile
		case <-s.wake:
		default:
		}
		s.logWaiting = true
		lg.caughtUp()
	} else {
		s.signal() // the rest is the goroutine's
	}
	s.cursor.Unlock() // under b.mu: see above
}

// trySend puts pub on s's channel if the buffer has room and s is not stopped,
// counting it under s.mu (so the backlog is exact for a reader that takes nothing),
// and reports whether it did and the state it saw.
//
// Written without defer: it runs for every event a shared subscription delivers.
func (s *Subscription) trySend(pub Event) (sent bool, st subState) {
	s.mu.Lock()
	if st = s.state; st != subStopped {
		select {
		case s.ch <- pub:
			s.sent.Add(1)
			sent = true
		default:
		}
	}
	s.mu.Unlock()
	return sent, st
}

// leave detaches a shared subscription's cursor from the log once its goroutine has
// stopped reading it, and takes it out of the index if it is still there (a
// subscription that stopped leaves the index at its next publish or its Close).
func (b *bus) leave(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s.logWaiting = false
	b.log.detach(s)
	if s.list != nil {
		b.index.remove(s)
	}
}
