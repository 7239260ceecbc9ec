package jobrouter

import (
	"encoding/binary"
	"math/bits"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// coldQueue is the second tier of an eventQueue: a FIFO of engine events kept
// encoded, for a subscriber far behind. Each event's flags, numbers and strings are
// bytes in a buffer without pointers, which the garbage collector does not scan; its
// times (which may carry a *time.Location) and its maps and pointers, when it has
// any, sit in side arrays. Push appends in amortised O(size of the event). Reading is
// in two steps, so that a subscription can do the costly one without its lock: take
// (O(1)) removes the oldest event from the queue as a coldEvent, a handle on its
// bytes; the handle's decode (O(size of the event)) builds the record, allocating
// each non-empty string afresh so that it holds no reference into the queue. The
// zero value is empty.
//
// A taken event's bytes are never written again, nor moved, while its handle lives:
// a chunk's buffer is allocated at its final size and push only writes past the
// bytes already written (an event that does not fit starts a new chunk); a chunk
// read to its end is dropped, never reused; and emptying the queue (a subscription
// stopped or closed) drops its chunks. So decode needs no lock, whatever pushes,
// takes or resets the queue meanwhile; the handle keeps its buffer alive.
type coldQueue struct {
	head, tail *coldChunk
	read       int // events read from head
	d, t, p    int // read offsets in head's data, times and refs
	n          int // events queued
}

// A chunk of a coldQueue is allocated with room for coldChunkBytes encoded bytes and
// coldChunkTimes times: an event that would not fit in either starts a new chunk, so
// that neither is copied to grow (an event larger than a whole chunk gets a chunk of
// its own size). Its refs grow as needed: events with maps or pointers (job labels,
// the worker's labels on OfferIssued and OfferAccepted) use them, the rest not.
const (
	coldChunkBytes = 32 << 10
	coldChunkTimes = 512
)

// coldChunk is one block of a coldQueue. Its data and times are allocated at their
// full length and filled up to w and nt, so that a push stores no slice header
// (whose pointer the garbage collector's write barrier would record).
type coldChunk struct {
	data  []byte      // per event: flags, the length of the rest, then Seq, JobPriority and its strings
	times []time.Time // per event: Time, then ExpiresAt when it is set
	refs  []eventRefs // the pointerful fields of the events that have any
	w, nt int         // bytes of data and times written
	n     int         // events written
	next  *coldChunk
}

// eventRefs holds the fields of an engine event that hold pointers, strings aside.
// They are kept by reference: the engine never writes to what an event points to.
type eventRefs struct {
	jobLabels, jobTags, workerTags engine.Labels
	workerLabels                   *labels.Set
	extra                          *engine.EventExtra
}

// Flags of an encoded event.
const (
	coldExpires byte = 1 << iota // times holds its ExpiresAt after its Time
	coldRefs                     // refs holds its pointerful fields
)

// push appends an encoded copy of *ev. It writes each field in place, in a chunk
// found to have room for the event's exact size: no slice grows, and no write
// barrier is paid but for the times and, when the event has any, its maps and
// pointers.
func (q *coldQueue) push(ev *engine.Event) {
	prio := zigzag(int64(ev.JobPriority))
	body := uvarintLen(ev.Seq) + uvarintLen(prio) + strSize(string(ev.Type)) + strSize(string(ev.JobStatus)) +
		strSize(ev.JobID) + strSize(ev.WorkerID) + strSize(ev.OfferID) + strSize(ev.AssignmentID) +
		strSize(ev.QueueID) + strSize(ev.ChannelID) + strSize(ev.ChannelReference) +
		strSize(ev.ClassificationPolicyID) + strSize(ev.DispositionCode)
	size := 1 + uvarintLen(uint64(body)) + body
	var flags byte
	times := 1
	// A zero ExpiresAt is not kept: one at the zero instant but with a location would
	// come back as time.Time{}. The engine sets ExpiresAt from an offer's time, never
	// to the zero instant.
	if !ev.ExpiresAt.IsZero() {
		flags |= coldExpires
		times++
	}
	hasRefs := ev.JobLabels != nil || ev.JobTags != nil || ev.WorkerTags != nil || ev.WorkerLabels != nil || ev.Extra != nil
	if hasRefs {
		flags |= coldRefs
	}

	c := q.tail
	if c == nil || len(c.data)-c.w < size || len(c.times)-c.nt < times {
		c = &coldChunk{data: make([]byte, max(coldChunkBytes, size)), times: make([]time.Time, coldChunkTimes)}
		if q.tail == nil {
			q.head = c
		} else {
			q.tail.next = c
		}
		q.tail = c
	}
	b := c.data[c.w : c.w+size]
	b[0] = flags
	k := 1 + binary.PutUvarint(b[1:], uint64(body))
	k += binary.PutUvarint(b[k:], ev.Seq)
	k += binary.PutUvarint(b[k:], prio)
	k = putString(b, k, string(ev.Type))
	k = putString(b, k, string(ev.JobStatus))
	k = putString(b, k, ev.JobID)
	k = putString(b, k, ev.WorkerID)
	k = putString(b, k, ev.OfferID)
	k = putString(b, k, ev.AssignmentID)
	k = putString(b, k, ev.QueueID)
	k = putString(b, k, ev.ChannelID)
	k = putString(b, k, ev.ChannelReference)
	k = putString(b, k, ev.ClassificationPolicyID)
	putString(b, k, ev.DispositionCode)
	c.w += size
	c.times[c.nt] = ev.Time
	if flags&coldExpires != 0 {
		c.times[c.nt+1] = ev.ExpiresAt
	}
	c.nt += times
	if hasRefs {
		if c.refs == nil {
			c.refs = make([]eventRefs, 0, coldChunkRefs)
		}
		c.refs = append(c.refs, eventRefs{jobLabels: ev.JobLabels, jobTags: ev.JobTags, workerTags: ev.WorkerTags,
			workerLabels: ev.WorkerLabels, extra: ev.Extra})
	}
	c.n++
	q.n++
}

// coldChunkRefs is the room a chunk first makes for the pointerful fields of its
// events, once one has any: in B1's lifecycle two events of six have some, about
// 130–150 of the 390–440 events a chunk holds (its 512 times fill first).
const coldChunkRefs = 160

// strSize is the length of s encoded: its length as a uvarint, then its bytes.
func strSize(s string) int {
	if len(s) < 0x80 {
		return 1 + len(s)
	}
	return uvarintLen(uint64(len(s))) + len(s)
}

// putString writes s encoded into b at k, which has room for it, and returns the
// index after it.
func putString(b []byte, k int, s string) int {
	if len(s) < 0x80 {
		b[k] = byte(len(s))
		k++
	} else {
		k += binary.PutUvarint(b[k:], uint64(len(s)))
	}
	if len(s) > 0 {
		k += copy(b[k:], s)
	}
	return k
}

// uvarintLen is the length of x's encoding by binary.PutUvarint.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

// zigzag is the unsigned form binary.PutVarint encodes x as, which binary.Varint
// reads back.
func zigzag(x int64) uint64 { return uint64(x<<1) ^ uint64(x>>63) }

// coldEvent is an encoded event taken off a coldQueue (take), to be decoded (decode)
// without the queue or its lock: its bytes, still in the queue's buffer, which is
// never written again (see coldQueue), and its side fields, copied out.
type coldEvent struct {
	body  []byte // Seq, JobPriority, the strings
	flags byte
	times [2]time.Time // Time, and ExpiresAt when the flags say so
	refs  eventRefs    // when the flags say so
}

// take removes the oldest event into *x, without decoding it; the queue must not be
// empty. O(1): it reads the event's flags and length, and copies its side fields
// (clearing the chunk's reference to its maps), but not its strings.
func (q *coldQueue) take(x *coldEvent) {
	c := q.head
	r := coldReader{b: c.data[q.d:c.w]}
	x.flags = r.byte()
	n := int(r.uvarint())
	x.body = r.b[:n:n] // the bytes after it may be written meanwhile: never read them
	q.d = c.w - len(r.b) + n
	x.times = [2]time.Time{c.times[q.t]}
	q.t++
	if x.flags&coldExpires != 0 {
		x.times[1] = c.times[q.t]
		q.t++
	}
	x.refs = eventRefs{}
	if x.flags&coldRefs != 0 {
		x.refs = c.refs[q.p]
		c.refs[q.p] = eventRefs{} // the maps are the reader's now; the chunk need not keep them
		q.p++
	}
	q.n--
	if q.read++; q.read == c.n {
		// Read to its end: the chunk goes (a later push starts a new one), never to be
		// written again; x.body keeps its buffer alive until decoded.
		q.head = c.next
		if q.head == nil {
			q.tail = nil
		}
		q.read, q.d, q.t, q.p = 0, 0, 0, 0
	}
}

// testHookColdDecode, when not nil, is called as each encoded event starts being
// decoded. Tests set it, before starting the goroutines that decode, to check that
// no lock is held meanwhile; it is nil otherwise.
var testHookColdDecode func()

// decode builds the event x holds into *ev, with fresh strings: nothing in *ev
// refers to the queue's buffers. It needs no lock: it reads only x and bytes that
// are never written again. O(size of the event).
func (x *coldEvent) decode(ev *engine.Event) {
	if testHookColdDecode != nil {
		testHookColdDecode()
	}
	r := coldReader{b: x.body}
	seq := r.uvarint()
	priority := r.varint()
	*ev = engine.Event{
		Seq:                    seq,
		JobPriority:            int(priority),
		Type:                   engine.EventType(r.canonical()),
		JobStatus:              engine.JobStatus(r.canonical()),
		JobID:                  r.string(),
		WorkerID:               r.string(),
		OfferID:                r.string(),
		AssignmentID:           r.string(),
		QueueID:                r.string(),
		ChannelID:              r.string(),
		ChannelReference:       r.string(),
		ClassificationPolicyID: r.string(),
		DispositionCode:        r.string(),
		Time:                   x.times[0],
	}
	if x.flags&coldExpires != 0 {
		ev.ExpiresAt = x.times[1]
	}
	if x.flags&coldRefs != 0 {
		ev.JobLabels, ev.JobTags, ev.WorkerTags, ev.WorkerLabels, ev.Extra = x.refs.jobLabels, x.refs.jobTags, x.refs.workerTags, x.refs.workerLabels, x.refs.extra
	}
}

// pop removes and returns the oldest event; the queue must not be empty.
func (q *coldQueue) pop() engine.Event {
	var x coldEvent
	q.take(&x)
	var ev engine.Event
	x.decode(&ev)
	return ev
}

// coldReader reads an encoded event.
type coldReader struct{ b []byte }

func (r *coldReader) byte() byte {
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *coldReader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	r.b = r.b[k:]
	return v
}

func (r *coldReader) varint() int64 {
	v, k := binary.Varint(r.b)
	r.b = r.b[k:]
	return v
}

// bytes reads a length-prefixed string's bytes, still in the queue's buffer.
func (r *coldReader) bytes() []byte {
	n := int(r.uvarint())
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

// string reads a string into fresh memory.
func (r *coldReader) string() string { return string(r.bytes()) }

// canonical reads an event type or a job status: one of the engine's constants when
// it is one (no allocation), else a fresh string.
func (r *coldReader) canonical() string {
	b := r.bytes()
	if s, ok := canonicalStrings[string(b)]; ok {
		return s
	}
	return string(b)
}

// canonicalStrings maps each engine event type and job status to itself.
var canonicalStrings = func() map[string]string {
	m := make(map[string]string)
	for _, t := range []engine.EventType{engine.EvJobReceived, engine.EvJobClassified,
		engine.EvJobClassificationFailed, engine.EvJobQueued, engine.EvJobCompleted, engine.EvJobClosed,
		engine.EvJobCancelled, engine.EvJobExceptionTriggered, engine.EvJobWorkerSelectorsExpired,
		engine.EvJobUnassigned, engine.EvJobWaitingForActivation, engine.EvJobSchedulingFailed,
		engine.EvJobDeleted, engine.EvOfferIssued, engine.EvOfferAccepted, engine.EvOfferDeclined,
		engine.EvOfferExpired, engine.EvOfferRevoked, engine.EvWorkerRegistered, engine.EvWorkerUpdated,
		engine.EvWorkerDeregistered, engine.EvWorkerDeleted} {
		m[string(t)] = string(t)
	}
	for _, s := range []engine.JobStatus{engine.JobCreated, engine.JobPendingClassification,
		engine.JobQueued, engine.JobAssigned, engine.JobCompleted, engine.JobClosed, engine.JobCancelled,
		engine.JobClassificationFailed, engine.JobPendingSchedule, engine.JobScheduled,
		engine.JobScheduleFailed, engine.JobWaitingForActivation} {
		m[string(s)] = string(s)
	}
	return m
}()
