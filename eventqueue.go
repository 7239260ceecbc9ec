package jobrouter

import (
	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/spares"
)

// eventQueue is the backlog of a subscription that is not shared (an ID filter, or
// Synchronous; the shared ones read the bus's eventLog): an unbounded FIFO of engine
// events in two tiers. The first hotLimit events are kept as they are (chunkQueue);
// beyond that, events are kept encoded (coldQueue), their strings as bytes in memory
// that holds no pointers, so that a subscriber far behind — up to its backlog limit, 65,536
// events by default — costs the garbage collector little to mark: an event record
// is 280 bytes of which about 15 words are pointers, while an encoded one takes
// about 140 bytes (B1's six event types, UUID offer and assignment IDs), most of
// them bytes without pointers. While the second tier holds any
// event, new events go to it too, so that every event of the first tier is older
// than every event of the second. Push is O(1) (amortised for the second tier);
// take is O(1), and leaves an event of the second tier encoded, for its caller to
// decode (O(size of the event), its strings allocated afresh) after releasing its
// lock. The zero value is empty.
type eventQueue struct {
	hot  chunkQueue
	cold coldQueue
}

// len returns the number of events queued, in both tiers. O(1).
func (q *eventQueue) len() int { return q.hot.n + q.cold.n }

// hotLimit is how many events an eventQueue keeps as they are before it encodes
// them: enough for any subscriber that keeps up, bursts included (288 KB).
const hotLimit = 1024

// push appends a copy of *ev.
func (q *eventQueue) push(ev *engine.Event) {
	if q.cold.n > 0 || q.hot.n >= hotLimit {
		q.cold.push(ev)
	} else {
		q.hot.push(ev)
	}
}

// pop removes and returns the oldest event, decoded; the queue must not be empty.
func (q *eventQueue) pop() engine.Event {
	if q.hot.n > 0 {
		return q.hot.pop()
	}
	return q.cold.pop()
}

// take removes the oldest event, in O(1); the queue must not be empty. An event of
// the first tier is copied into *ev and take reports false; an encoded one is left
// encoded in *x, and take reports true: x.decode(ev) then builds it, and needs no
// lock (see coldQueue), so that a subscription decodes after unlocking.
func (q *eventQueue) take(ev *engine.Event, x *coldEvent) (encoded bool) {
	if q.hot.n > 0 {
		q.hot.popInto(ev)
		return false
	}
	q.cold.take(x)
	return true
}

// drain calls f with each event of q in order (f must not keep the pointer) and
// leaves q empty: chunkQueue.drain, then each encoded event decoded in turn. For a
// queue that nothing else can push to: Poll's batch. O(events).
func (q *eventQueue) drain(f func(*engine.Event)) {
	q.hot.drain(f)
	if q.cold.n > 0 {
		ev := new(engine.Event) // allocated only here: f's argument escapes
		var x coldEvent
		for q.cold.n > 0 {
			q.cold.take(&x)
			x.decode(ev)
			f(ev)
		}
	}
}

// takeAll moves every event of q into a queue of its own, in O(1), and leaves q
// empty (keeping its spare chunks); see chunkQueue.takeAll.
func (q *eventQueue) takeAll() eventQueue {
	out := eventQueue{hot: q.hot.takeAll(), cold: q.cold}
	q.cold = coldQueue{}
	return out
}

// recycle keeps the chunks of from, which must be empty, for reuse; see
// chunkQueue.recycle.
func (q *eventQueue) recycle(from *eventQueue) {
	q.hot.recycle(&from.hot)
	*from = eventQueue{}
}

// queueChunkLen is the number of events per chunk of a chunkQueue.
const queueChunkLen = 32

// queueChunk is one block of a chunkQueue.
type queueChunk struct {
	evs  [queueChunkLen]engine.Event
	next *queueChunk
}

// chunkQueue is an unbounded FIFO of engine events kept as they are, in a linked
// list of fixed-size chunks: a push is O(1) even in the worst case (the backlog is
// never copied), and the memory held follows the backlog. The zero value is empty.
// It is eventQueue's first tier.
type chunkQueue struct {
	head, tail *queueChunk
	r, w       int // next read index in head, next write index in tail
	n          int
	spares     spares.List[queueChunk] // emptied chunks, cleared as read, for reuse: at most maxSpareChunks
}

// maxSpareChunks bounds the emptied chunks a queue keeps: enough for a backlog that
// swings by a few hundred events without allocating, little memory for an idle one.
const maxSpareChunks = 8

// push appends a copy of *ev.
func (q *chunkQueue) push(ev *engine.Event) {
	switch {
	case q.tail == nil:
		q.head = q.chunk()
		q.tail = q.head
		q.r, q.w = 0, 0
	case q.w == queueChunkLen:
		c := q.chunk()
		q.tail.next = c
		q.tail = c
		q.w = 0
	}
	q.tail.evs[q.w] = *ev
	q.w++
	q.n++
}

// pop removes and returns the oldest event; the queue must not be empty.
func (q *chunkQueue) pop() engine.Event {
	var ev engine.Event
	q.popInto(&ev)
	return ev
}

// popInto removes the oldest event into *ev; the queue must not be empty. One copy
// out of the chunk and one clear of its slot (a subscription's goroutine takes
// every event so, with its lock held).
func (q *chunkQueue) popInto(ev *engine.Event) {
	c := q.head
	*ev = c.evs[q.r]
	c.evs[q.r] = engine.Event{} // drop the references to engine maps
	q.r++
	q.n--
	switch {
	case q.n == 0:
		// head == tail and fully read: start again at its beginning.
		q.r, q.w = 0, 0
	case q.r == queueChunkLen:
		q.head = c.next
		q.r = 0
		c.next = nil
		q.spares.Keep(c, maxSpareChunks)
	}
}

// drain calls f with each event of q in order, in place (f must not keep the
// pointer), and leaves q empty. It copies no event, and clears each chunk once it
// has been visited in one write rather than one per event (pop must clear each slot
// as it copies the event out: its caller converts the event after unlocking, while
// the slot may be written again). A visited chunk is kept as a spare (up to
// maxSpareChunks) or dropped; the last stays as the empty queue's head, as after pop.
// For a queue that nothing else can push to: Poll's batch. O(events).
func (q *chunkQueue) drain(f func(*engine.Event)) {
	for c := q.head; c != nil; {
		end := queueChunkLen
		if c == q.tail {
			end = q.w
		}
		for i := q.r; i < end; i++ {
			f(&c.evs[i])
		}
		clear(c.evs[q.r:end]) // drop the references to engine maps
		next := c.next
		if next == nil {
			break
		}
		c.next = nil
		q.spares.Keep(c, maxSpareChunks)
		q.head, q.r = next, 0
		c = next
	}
	q.r, q.w, q.n = 0, 0, 0
}

// chunk returns an empty chunk, reusing a spare one when there is one.
func (q *chunkQueue) chunk() *queueChunk { return q.spares.Get() }

// takeAll moves every event of q into a queue of its own, in O(1), and leaves q empty
// (keeping its spare chunks). Poll uses it to convert a batch outside the
// subscription's lock, so that a long batch never holds up the Router's publishes.
func (q *chunkQueue) takeAll() chunkQueue {
	out := chunkQueue{head: q.head, tail: q.tail, r: q.r, w: q.w, n: q.n}
	q.head, q.tail = nil, nil
	q.r, q.w, q.n = 0, 0, 0
	return out
}

// recycle keeps the chunks of from, which must be empty, as q's spares (up to
// maxSpareChunks), so that a queue emptied by takeAll does not allocate again.
func (q *chunkQueue) recycle(from *chunkQueue) {
	if from.head != nil {
		q.spares.Keep(from.head, maxSpareChunks)
	}
	for _, c := range from.spares.All() {
		q.spares.Keep(c, maxSpareChunks)
	}
	*from = chunkQueue{}
}
