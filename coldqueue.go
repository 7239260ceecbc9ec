package jobrouter

import (
	"encoding/binary"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// coldQueue is the second tier of an eventQueue, and the spill of a shared
// subscription (eventLog, touched by its goroutine only): a FIFO of engine events
// kept encoded, for a subscriber far behind. Each event's flags, numbers and strings are
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
	data  []byte      // per event: flags, Seq, JobPriority, its string lengths, then its strings (see coldHeader)
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
	coldLong                     // its string lengths take 8 bytes each, not 1
)

// An encoded event is, in a chunk's data: its flags (1 byte); Seq and JobPriority (8
// bytes each, little-endian, the priority in two's complement); the lengths of its
// coldStrings strings (Type, JobStatus, JobID, WorkerID, OfferID, AssignmentID,
// QueueID, ChannelID, ChannelReference, ClassificationPolicyID, DispositionCode),
// one byte each, or 8 bytes each (little-endian) when one is longer than 255 bytes
// (flag coldLong); then the strings' bytes, one after another, in that order. Fixed
// widths take a few bytes more than varints would (95 bytes of data for B1's events
// on average, against 82) and spare push the work of sizing and writing them: a
// push is a sum of lengths and one copy per non-empty string: 581 instructions per
// event of B1 against 770 with varints (BenchmarkColdQueuePush under valgrind,
// memmove included). The length of an encoded event is the sum of its header and
// its string lengths.
const (
	coldHeader  = 1 + 8 + 8 // flags, Seq, JobPriority
	coldStrings = 11        // Type, JobStatus, then the nine IDs and codes
)

// push appends an encoded copy of *ev, in O(size of the event), amortised over the
// chunks it allocates. It writes each field in place, in a chunk found to have room
// for the event's exact size: no slice grows, and no write barrier is paid but for
// the times and, when the event has any, its maps and pointers.
func (q *coldQueue) push(ev *engine.Event) {
	// Straight-line over the fields: written as loops over an array of the strings,
	// push took 60 % more instructions.
	typ, st := string(ev.Type), string(ev.JobStatus)
	n := len(typ) + len(st) + len(ev.JobID) + len(ev.WorkerID) + len(ev.OfferID) +
		len(ev.AssignmentID) + len(ev.QueueID) + len(ev.ChannelID) + len(ev.ChannelReference) +
		len(ev.ClassificationPolicyID) + len(ev.DispositionCode)
	all := len(typ) | len(st) | len(ev.JobID) | len(ev.WorkerID) | len(ev.OfferID) |
		len(ev.AssignmentID) | len(ev.QueueID) | len(ev.ChannelID) | len(ev.ChannelReference) |
		len(ev.ClassificationPolicyID) | len(ev.DispositionCode)
	var flags byte
	width := 1
	if all > 0xff {
		flags |= coldLong
		width = 8
	}
	size := coldHeader + coldStrings*width + n
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
	binary.LittleEndian.PutUint64(b[1:], ev.Seq)
	binary.LittleEndian.PutUint64(b[9:], uint64(int64(ev.JobPriority)))
	k := coldHeader
	if width == 1 {
		l := b[k : k+coldStrings : k+coldStrings]
		l[0], l[1], l[2], l[3] = byte(len(typ)), byte(len(st)), byte(len(ev.JobID)), byte(len(ev.WorkerID))
		l[4], l[5], l[6], l[7] = byte(len(ev.OfferID)), byte(len(ev.AssignmentID)), byte(len(ev.QueueID)), byte(len(ev.ChannelID))
		l[8], l[9], l[10] = byte(len(ev.ChannelReference)), byte(len(ev.ClassificationPolicyID)), byte(len(ev.DispositionCode))
	} else {
		for i, s := range [coldStrings]string{typ, st, ev.JobID, ev.WorkerID, ev.OfferID, ev.AssignmentID,
			ev.QueueID, ev.ChannelID, ev.ChannelReference, ev.ClassificationPolicyID, ev.DispositionCode} {
			binary.LittleEndian.PutUint64(b[k+8*i:], uint64(len(s)))
		}
	}
	k += coldStrings * width
	k = putBytes(b, k, typ)
	k = putBytes(b, k, st)
	k = putBytes(b, k, ev.JobID)
	k = putBytes(b, k, ev.WorkerID)
	k = putBytes(b, k, ev.OfferID)
	k = putBytes(b, k, ev.AssignmentID)
	k = putBytes(b, k, ev.QueueID)
	k = putBytes(b, k, ev.ChannelID)
	k = putBytes(b, k, ev.ChannelReference)
	k = putBytes(b, k, ev.ClassificationPolicyID)
	putBytes(b, k, ev.DispositionCode)
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

// putBytes writes s's bytes into b at k, which has room for them, and returns the
// index after them.
func putBytes(b []byte, k int, s string) int {
	if len(s) > 0 {
		k += copy(b[k:], s)
	}
	return k
}

// coldSize is the size of the encoded event at the start of b, from its flags and
// string lengths. O(coldStrings).
func coldSize(b []byte) int {
	n := 0
	if b[0]&coldLong == 0 {
		for _, l := range b[coldHeader : coldHeader+coldStrings] {
			n += int(l)
		}
		return coldHeader + coldStrings + n
	}
	for i := range coldStrings {
		n += int(binary.LittleEndian.Uint64(b[coldHeader+8*i:]))
	}
	return coldHeader + coldStrings*8 + n
}

// coldEvent is an encoded event taken off a coldQueue (take), to be decoded (decode)
// without the queue or its lock: its bytes, still in the queue's buffer, which is
// never written again (see coldQueue), and its side fields, copied out.
type coldEvent struct {
	body  []byte // the encoded event, flags first
	flags byte
	times [2]time.Time // Time, and ExpiresAt when the flags say so
	refs  eventRefs    // when the flags say so
}

// take removes the oldest event into *x, without decoding it; the queue must not be
// empty. O(1): it reads the event's flags and lengths, and copies its side fields
// (clearing the chunk's reference to its maps), but not its strings.
func (q *coldQueue) take(x *coldEvent) {
	c := q.head
	b := c.data[q.d:c.w]
	x.flags = b[0]
	n := coldSize(b)
	x.body = b[:n:n] // the bytes after it may be written meanwhile: never read them
	q.d += n
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
	b := x.body
	var ls [coldStrings]int
	k := coldHeader
	if b[0]&coldLong == 0 {
		for i, l := range b[k : k+coldStrings] {
			ls[i] = int(l)
		}
		k += coldStrings
	} else {
		for i := range ls {
			ls[i] = int(binary.LittleEndian.Uint64(b[k+8*i:]))
		}
		k += coldStrings * 8
	}
	var ss [coldStrings]string
	for i, l := range ls {
		if l > 0 {
			if i < 2 {
				ss[i] = canonical(b[k : k+l])
			} else {
				ss[i] = string(b[k : k+l])
			}
			k += l
		}
	}
	*ev = engine.Event{
		Seq:                    binary.LittleEndian.Uint64(b[1:]),
		JobPriority:            int(int64(binary.LittleEndian.Uint64(b[9:]))),
		Type:                   engine.EventType(ss[0]),
		JobStatus:              engine.JobStatus(ss[1]),
		JobID:                  ss[2],
		WorkerID:               ss[3],
		OfferID:                ss[4],
		AssignmentID:           ss[5],
		QueueID:                ss[6],
		ChannelID:              ss[7],
		ChannelReference:       ss[8],
		ClassificationPolicyID: ss[9],
		DispositionCode:        ss[10],
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

// canonical returns an event type or a job status read as b: one of the engine's
// constants when it is one (no allocation), else a fresh string.
func canonical(b []byte) string {
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
