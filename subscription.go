package jobrouter

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// SubscribeOptions selects the events a Subscription receives and bounds its backlog.
// The filters AND together; an empty filter matches every event. Filters compare the
// ID fields an event carries: an event without the field never matches a filter on
// it. A nil *SubscribeOptions and a zero value mean the same: every event, the default
// backlog.
//
// A subscription that filters on an ID (WorkerID, JobID or QueueID) costs a publish
// nothing unless the event carries that ID: the Router keeps such subscriptions by
// their ID, so that a subscription per agent, each on its own WorkerID, adds to an
// event only the cost of its own agent's subscription, however many agents there are.
// One without an ID filter (Types alone, or none) sees every event.
//
// Types also decides what the Router builds. (ours) An event of a type that no open
// subscription takes is not recorded: no extras are allocated for it, nothing is
// published, no subscription looks at it. Only Types narrows this: a subscription
// without Types (an agent's desktop on its WorkerID, say) makes every type built,
// and one with Types and an ID filter makes its types built for every worker, job
// or queue. Such an event still takes its Seq number, so an event's Seq does not
// depend on who listens: a subscription to a few types sees gaps where the others
// fall, as it would with them recorded.
type SubscribeOptions struct {
	// Types, when not empty, keeps only events of these types. A type that names no
	// event matches nothing. Defaults to every type.
	Types []EventType
	// WorkerID, when set, keeps only events whose WorkerID is this worker: the offer
	// events, the worker events, and JobCompleted, JobClosed and JobUnassigned (which
	// name the worker that held the job). Other job events never match. Defaults to
	// every event.
	WorkerID string
	// JobID, when set, keeps only events whose JobID is this job: the job and offer
	// events. Worker events never match. Defaults to every event.
	JobID string
	// QueueID, when set, keeps only events whose QueueID is this queue: the job and
	// offer events of jobs in that queue at the time of the event. Worker events carry
	// no queue (a worker may listen on many) and never match, nor does an event of a
	// job that has no queue yet. Defaults to every event.
	QueueID string
	// MaxBacklog is how many events may wait for the reader: events that passed the
	// filters and that the reader has not yet received from Events (those waiting in
	// the channel's buffer and the one being handed over count), or, for a
	// Synchronous subscription, that Poll has not yet taken. The publish that would
	// exceed it closes the subscription instead, with ErrSlowSubscriber; since one
	// Router call may publish several events at once, keep it well above that. Zero
	// or negative means the Router's Options.DefaultMaxBacklog (65,536 unless set).
	// A backlog is kept encoded, at about 140 bytes an event, past its first 1,024
	// events (a subscription keyed on an ID, or Synchronous), or (the others) once its
	// goroutine, waiting for the reader, is 1,024 events of the Router's behind: then
	// its oldest events are encoded.
	MaxBacklog int
	// Synchronous, when true, makes a subscription without a goroutine: its events
	// are queued and taken with Poll (or PollAppend) by the caller, and never sent on
	// Events. It is meant for single-goroutine drivers such as simulations and tests:
	// a Router call queues every event it causes before it returns, so a Poll after
	// the call sees them all, with nothing to wait for. Defaults to false: events
	// arrive on Events, fed by the subscription's own goroutine.
	Synchronous bool
}

// Subscription is a stream of a Router's events, made by Router.Subscribe. Its
// events arrive on Events in Seq order (the order they happened), each one exactly
// once, until the channel is closed. Every subscription has its own unbounded
// backlog and its own goroutine feeding the channel (a Synchronous one has no
// goroutine: see below), so a slow reader never slows the Router or another
// subscriber; a reader that falls more than MaxBacklog events behind is cut off with
// ErrSlowSubscriber rather than ever being skipped silently. The asynchronous
// subscriptions without an ID filter share one log of the Router's events, which a
// publish writes once for all of them; each goroutine reads it by its own cursor and,
// once it is 1,024 of the Router's events behind while its reader is not taking
// them (or 4,096 behind in any case), encodes what it lags by into a queue of its
// own, off the Router's path. (ours) While such a goroutine is parked, with nothing
// left to deliver, the Router call that publishes the next events for it does not
// wake it: once the call has released the Router's mutex, the calling goroutine
// converts them and puts them on the channel itself, as long as the buffer has room
// (up to 64 events; beyond that, or while another such hand-off is pending, the
// goroutine is woken as before). A reader that is the caller then usually finds its
// events in the channel when the call returns, with no goroutine woken, and a reader
// blocked on the channel is woken by the caller, one hand-off instead of two. It is
// not a guarantee (a concurrent call, the Router's timer or a webhook answer, may be
// the one delivering); a Synchronous subscription is the way to have every event of
// a call when it returns. The
// others (an ID filter, or Synchronous) have a queue each, which the publish fills.
// The channel is buffered (64 events), so the goroutine and the reader do not meet
// for every event; what waits in the buffer counts toward MaxBacklog.
//
// The channel is closed, and the goroutine has exited, after one of:
//   - Close: the undelivered events, those in the channel's buffer included, are
//     discarded: a reader that calls Close receives nothing more. A reader on
//     another goroutine, receiving while Close runs, may still get some of the
//     buffered events, not necessarily consecutive (the subscription is no longer
//     open). Err returns nil (or the error that had already closed the subscription).
//   - overflow: a publish found MaxBacklog events waiting. The events not yet on the
//     channel are discarded and Err returns ErrSlowSubscriber. The reader still
//     receives those already in the channel's buffer (up to 64), in order, none
//     skipped, then the channel is closed.
//   - Router.Close: every event already queued is put on the channel first, then the
//     channel is closed and Err returns nil; the reader takes the last ones (up to
//     the buffer's 64) from the closed channel. If the reader takes no event for a
//     whole Options.CloseTimeout while more than those wait, the events not yet on
//     the channel are discarded and Err returns ErrSlowSubscriber (the buffered ones
//     can still be taken, as after an overflow).
//
// # Synchronous subscriptions
//
// A subscription made with SubscribeOptions.Synchronous has no goroutine and sends
// nothing on its channel: its events wait in its queue until Poll (or PollAppend)
// takes them, in Seq order, converted exactly as the channel would deliver them.
// Because a Router call queues every event it causes before it returns, a Poll made
// after a call has returned sees every event of that call, and of every call before
// it. Events also come from the Router's own goroutines: its timer (unless
// Options.ManualTime) and webhook answers (WebhookRule); without them the stream
// changes only during the Router's calls. Only Poll and Close take events out of the
// queue:
//   - overflow: a publish that finds MaxBacklog events not yet polled ends the
//     subscription with ErrSlowSubscriber. Every event queued before it can still be
//     polled, in order, none missing; the overflowing event and all later ones are
//     not queued.
//   - Router.Close ends the subscription at once (Close does not wait for a poller)
//     and Err stays nil; the events already queued can still be polled.
//   - Close discards the events not yet polled; later Polls return nil.
//
// Its Events channel never carries an event; it is closed when the subscription ends
// (any of the three above), so a goroutine may select on it to learn of the end.
//
// A Subscription is safe for use by any number of goroutines.
type Subscription struct {
	ch     chan Event
	done   chan struct{} // closed when the subscription is stopped early
	exited chan struct{} // closed after the goroutine has closed ch and returned
	bus    *bus          // nil for a closedSubscription

	// The filter, fixed at creation.
	hasTypes   bool
	types      uint32 // bit set of engine.EventTypeBit
	workerID   string
	jobID      string
	queueID    string
	maxBacklog int
	sync       bool // Synchronous: no goroutine; Poll takes the events
	shared     bool // asynchronous without an ID filter: reads the bus's eventLog

	// Its place in the bus's index (subIndex), guarded by bus.mu: the list that holds
	// it and its position there; nil and -1 when not listed. serial orders the
	// subscriptions by creation.
	list   *subList
	idx    int
	serial uint64

	// A shared subscription's counts, guarded by bus.mu: published counts the events
	// that passed the filters (the goroutine's own check agrees): with sent, it gives
	// the backlog. logWaiting: the cursor is free, at the end of the log, and no
	// holder will read on (the goroutine is parked on wake, or about to take the
	// cursor back and clear it), so a publish that concerns s must hand it off or
	// wake it.
	published  uint64
	logWaiting bool
	nextYield  uint64 // the log's end before which a publish does not yield for s again
	handedOff  uint64 // the log's end when a publish handed s off to its call's help; 0 when none is pending
	sentSeen   uint64 // sent, as a publish last read it (full)

	// A shared subscription's cursor in the bus's eventLog: the position of the next
	// event to read, and the chunk it is in (or at the end of). The cursor's holder
	// moves them; a publish reads pos (the log's recycling, the spill check, once
	// every lagCheckEvery events) and moves both only while logWaiting.
	pos atomic.Uint64
	at  *logChunk
	// cursor is held by whoever reads the log at the cursor: the goroutine, but
	// while it is parked, and a Router caller delivering for it meanwhile (bus.help).
	// Whoever takes it clears logWaiting under bus.mu before reading, so that no
	// publish moves the cursor under it. The goroutine keeps it once it has
	// stopped.
	cursor sync.Mutex

	mu       sync.Mutex
	state    subState
	err      error
	q        eventQueue    // not a shared subscription's: it reads the log
	sent     atomic.Uint64 // events the goroutine has put on ch (received, or in its buffer), with a shared one's events that have no public form; written under mu, or without it after a send that waited for room and for those events
	inFlight bool          // the goroutine holds an event it took (and may be decoding) and has not handed over
	taken    uint64        // the most events progress has seen the reader take
	waiting  bool          // the goroutine is parked on wake (not a shared subscription's: see logWaiting)
	wake     chan struct{} // capacity 1; one token per parking (a shared subscription's: at most one pending)
}

// subState is a Subscription's life cycle: open, then possibly finishing (the Router
// is closing: deliver what is left), then stopped (nothing more will be delivered).
type subState uint8

const (
	subOpen subState = iota
	subFinishing
	subStopped
)

// Events returns the channel the events arrive on. It is closed after Close, after an
// overflow, or after Router.Close has put everything on it (the buffered events come
// before the close); then see Err. On a Synchronous subscription it never carries an
// event (use Poll) and is closed when the subscription ends.
func (s *Subscription) Events() <-chan Event { return s.ch }

// Poll takes every event published to a Synchronous subscription and not yet taken,
// in Seq order, each converted as the Events channel of an asynchronous subscription
// would deliver it (the subscriber's own copy); it returns nil when there is none.
// Since a Router call queues the events it causes before it returns, a Poll made
// after the call has returned sees all of them, with no waiting: a single-goroutine
// driver alternates calls and Polls and never misses or reorders an event. After the
// subscription has ended by an overflow or Router.Close, Poll still returns what was
// queued before the end (then nil, and see Err); after Close it returns nil.
//
// Poll does not take the Router's lock: it holds the subscription's own lock only to
// take the whole backlog (O(1)), and converts the events outside it, so a long
// backlog never holds up the Router's calls. It is safe to call
// from any goroutine, concurrently with the Router's calls; concurrent Polls each
// take a different, in-order part of the stream. On an asynchronous subscription it
// returns nil: its events go to Events. O(events taken).
func (s *Subscription) Poll() []Event { return s.PollAppend(nil) }

// PollAppend is Poll appending to dst: it appends the events Poll would return and
// returns the extended slice (dst itself when there is none). A driver that reuses
// one buffer, as in evs = sub.PollAppend(evs[:0]), polls without allocating a slice.
func (s *Subscription) PollAppend(dst []Event) []Event {
	s.mu.Lock()
	if !s.sync || s.q.len() == 0 {
		s.mu.Unlock()
		return dst
	}
	batch := s.q.takeAll()
	s.mu.Unlock()

	dst = slices.Grow(dst, batch.len())
	batch.drain(func(ev *engine.Event) {
		if pub := toEvent(ev); pub != nil {
			dst = append(dst, pub)
		}
	})

	s.mu.Lock()
	if s.state != subStopped { // an ended subscription takes no more events
		s.q.recycle(&batch)
	}
	s.mu.Unlock()
	return dst
}

// Err returns why the subscription ended early: nil while it is open and after a
// clean end (Close, or Router.Close with every event put on the channel; for a
// Synchronous subscription, Router.Close whatever it left to poll); an error wrapping
// ErrSlowSubscriber after an overflow or when Router.Close's timeout ran out with
// events undelivered; an error wrapping ErrClosed when the subscription was made on a
// closed Router. Test it with errors.Is. Once set, it never changes.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription: it discards the undelivered events (for a Synchronous
// subscription, those Poll has not taken, even after an overflow or Router.Close) and
// returns after the channel is closed and the subscription's goroutine, if any, has
// exited. It is idempotent and safe to call from any goroutine, including the one
// reading Events, and concurrently with the Router's calls.
func (s *Subscription) Close() {
	s.mu.Lock()
	if s.state != subStopped {
		s.stopLocked(nil)
	}
	s.q = eventQueue{}
	s.mu.Unlock()
	if s.bus != nil {
		s.bus.remove(s)
	}
	<-s.exited
	// The channel is closed now. Empty its buffer, which the goroutine leaves to the
	// reader however it stopped: a reader that closes its own subscription receives
	// nothing more. One on another goroutine, taking events meanwhile, may still get
	// some of them, not necessarily consecutive.
	for range s.ch {
	}
}

// eventsBuffer is the capacity of an asynchronous subscription's channel. A buffer
// lets the subscription's goroutine and the reader run apart, without a hand-off per
// event: B1's lifecycles through a subscriber went from 78-97 k/s unbuffered to
// 90-126 k/s with 64 (256 gave 108-136 k/s, at 4 KiB a subscription rather than
// 1 KiB). The events in it count toward MaxBacklog.
const eventsBuffer = 64

// closedSubscription returns a subscription that is already over: its channel is
// closed, Poll returns nil and Err returns ErrClosed. The Router hands it out once it
// is closed.
func closedSubscription(opts *SubscribeOptions) *Subscription {
	s := &Subscription{
		ch:     make(chan Event),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
		sync:   opts != nil && opts.Synchronous,
		idx:    -1,
		state:  subStopped,
		err:    &Error{Op: "subscribe", Reason: "router closed", Err: ErrClosed},
	}
	close(s.ch)
	close(s.done)
	close(s.exited)
	return s
}

// newSubscription builds an open subscription (without its goroutine) for opts.
func newSubscription(opts *SubscribeOptions, defaultMaxBacklog int) *Subscription {
	var o SubscribeOptions
	if opts != nil {
		o = *opts
	}
	ch := make(chan Event, eventsBuffer)
	if o.Synchronous {
		ch = make(chan Event) // never carries an event
	}
	s := &Subscription{
		ch:         ch,
		done:       make(chan struct{}),
		exited:     make(chan struct{}),
		wake:       make(chan struct{}, 1),
		hasTypes:   len(o.Types) > 0,
		workerID:   o.WorkerID,
		jobID:      o.JobID,
		queueID:    o.QueueID,
		maxBacklog: o.MaxBacklog,
		sync:       o.Synchronous,
		shared:     !o.Synchronous && o.WorkerID == "" && o.JobID == "" && o.QueueID == "",
		idx:        -1,
	}
	for _, t := range o.Types {
		s.types |= engine.EventTypeBit(engine.EventType(t))
	}
	if s.maxBacklog <= 0 {
		s.maxBacklog = defaultMaxBacklog
	}
	return s
}

// matches reports whether ev passes the subscription's filters. O(1).
func (s *Subscription) matches(ev *engine.Event) bool {
	if s.hasTypes && s.types&engine.EventTypeBit(ev.Type) == 0 {
		return false
	}
	if s.workerID != "" && ev.WorkerID != s.workerID {
		return false
	}
	if s.jobID != "" && ev.JobID != s.jobID {
		return false
	}
	if s.queueID != "" && ev.QueueID != s.queueID {
		return false
	}
	return true
}

// enqueue appends the events of evs that pass the filters, in order. It reports
// whether the subscription is still open; an overflow stops it. It never blocks on
// the reader: O(1) per event, under the subscription's own short lock.
func (s *Subscription) enqueue(ev *engine.Event) bool {
	// No defer: this runs once per event and subscription, and nothing in it panics.
	s.mu.Lock()
	if s.state != subOpen {
		s.mu.Unlock()
		return false
	}
	if !s.matches(ev) {
		s.mu.Unlock()
		return true
	}
	if s.backlogLocked() >= s.maxBacklog {
		s.stopLocked(overflowError(s.maxBacklog))
		s.mu.Unlock()
		return false
	}
	s.q.push(ev)
	s.wakeLocked()
	s.mu.Unlock()
	return true
}

// backlogLocked is the number of events published to s and not yet received by the
// reader: the queue, the one the goroutine is handing over and those waiting in the
// channel's buffer. Behind the lock's back the reader takes from the buffer, and a
// send that waited for room completes; so the count may be one high for an instant
// (see run), never low.
func (s *Subscription) backlogLocked() int {
	if s.shared {
		// published is bus.mu's: this runs under it (full) or once the bus
		// is closed (abort), after the last publish.
		return int(s.published-s.sent.Load()) + len(s.ch)
	}
	n := s.q.len() + len(s.ch)
	if s.inFlight {
		n++
	}
	return n
}

// overflowError is the error of a subscription stopped by an overflow.
func overflowError(maxBacklog int) error {
	return &Error{Op: "subscribe",
		Reason: fmt.Sprintf("more than %d events behind; subscription closed", maxBacklog),
		Err:    ErrSlowSubscriber}
}

// wakeLocked unparks the goroutine if it is parked.
func (s *Subscription) wakeLocked() {
	if s.waiting {
		s.waiting = false
		s.wake <- struct{}{} // never blocks: one token per parking, capacity 1
	}
}

// stopLocked stops delivery now: err (if not nil) becomes Err, and the goroutine is
// told to close the channel and exit. The queue is discarded, except a Synchronous
// subscription's, which Poll may still empty: having no goroutine, it closes its
// channel here. s.state must not be subStopped.
func (s *Subscription) stopLocked(err error) {
	s.state = subStopped
	if err != nil && s.err == nil {
		s.err = err
	}
	close(s.done)
	if s.sync {
		close(s.ch)
		close(s.exited)
		return
	}
	s.q = eventQueue{}
}

// finish asks the goroutine to deliver what is queued and then close the channel. A
// Synchronous subscription, which has no goroutine, ends at once, its queue left for
// Poll.
func (s *Subscription) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state != subOpen:
	case s.sync:
		s.stopLocked(nil)
	default:
		s.state = subFinishing
		s.wakeLocked()
	}
}

// progress returns how many events the reader has taken so far: those put on the
// channel less those still in its buffer. Between a send that waited for room and
// its count (under the goroutine's next lock, or, for a shared subscription, right
// after the send) that difference reads one low; so
// progress reports the most it has seen, which never goes back and never passes the
// truth (nor wraps, should the difference ever read below zero). Router.Close
// samples it once per CloseTimeout, so at worst a reader that took a single event
// in a whole timeout, just as the goroutine sent another, is taken for stalled.
func (s *Subscription) progress() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sent, buffered := s.sent.Load(), uint64(len(s.ch)); sent >= buffered && sent-buffered > s.taken {
		s.taken = sent - buffered
	}
	return s.taken
}

// abort stops a finishing subscription whose reader has taken no event for a whole
// close timeout: ErrSlowSubscriber. A subscription already drained is left to end
// cleanly.
func (s *Subscription) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == subFinishing && s.backlogLocked() > 0 {
		s.stopLocked(&Error{Op: "subscribe",
			Reason: fmt.Sprintf("%d events undelivered: the reader took none for the router's close timeout", s.backlogLocked()),
			Err:    ErrSlowSubscriber})
	}
}

// run is the subscription's goroutine: it takes events in order, decodes and converts
// each to its public form (copying its maps) outside both the Router's lock and its
// own, and hands it to the reader, until the subscription stops or, when finishing,
// runs dry.
func (s *Subscription) run() {
	// However it stops, the events already in the channel's buffer stay there for
	// the reader, ahead of the close: the oldest undelivered, in order, none
	// skipped. Only Close discards them, once this goroutine has exited.
	defer close(s.exited)
	defer close(s.ch)
	var ev engine.Event
	var enc coldEvent
	sent := false // an event went on the channel after waiting for room, not yet counted
	for {
		s.mu.Lock()
		s.inFlight = false
		if sent {
			s.sent.Add(1)
			sent = false
		}
		for s.state != subStopped && s.q.len() == 0 {
			if s.state == subFinishing {
				s.state = subStopped
				s.mu.Unlock()
				return
			}
			s.waiting = true
			s.mu.Unlock()
			ev = engine.Event{} // keep none of the last event's maps alive while parked
			select {
			case <-s.wake:
			case <-s.done:
				return
			}
			s.mu.Lock()
		}
		if s.state == subStopped {
			s.mu.Unlock()
			return
		}
		// An encoded event (the backlog beyond its first 1,024) is only taken here,
		// in O(1), and decoded after unlocking: a publish never waits for its
		// strings' copies. Its bytes stay as they are meanwhile, whatever pushes,
		// stops or closes the subscription (see coldQueue).
		encoded := s.q.take(&ev, &enc)
		s.inFlight = true
		s.mu.Unlock()

		if encoded {
			enc.decode(&ev)
			enc = coldEvent{} // keep no chunk alive while waiting for the reader
		}
		pub := toEvent(&ev)
		if pub == nil {
			continue // an engine type without a public form: a bug, but not the reader's
		}
		// Hand it over. While the buffer has room the send is made under the lock,
		// with its count, so that the backlog limit and progress never see the event
		// both on the channel and in flight: exact for a reader that takes nothing.
		// A full buffer is waited on outside the lock, and the event counted under
		// the next one; a reader taking an event at that instant may find the event
		// counted twice for the instant, as when the channel had no buffer.
		s.mu.Lock()
		if s.state == subStopped {
			s.mu.Unlock()
			return
		}
		select {
		case s.ch <- pub:
			s.inFlight = false
			s.sent.Add(1)
			s.mu.Unlock()
			continue
		default:
		}
		s.mu.Unlock()
		ev = engine.Event{} // nor while waiting for room (the next take overwrites it anyway)
		select {
		case s.ch <- pub:
			sent = true
		case <-s.done:
			return
		}
	}
}

// bus fans a Router's events out to its subscriptions. publish and subscribe are
// called with the Router's lock held; bus.mu also guards the index against
// Subscription.Close, which runs without the Router's lock. Lock order: Router.mu,
// bus.mu, Subscription.mu.
type bus struct {
	defaultMaxBacklog int
	wg                sync.WaitGroup // one count per subscription goroutine

	mu      sync.Mutex
	index   subIndex // the open subscriptions
	log     eventLog // the events, once, for the shared subscriptions (their goroutines still running)
	serials uint64   // subscriptions made
	closed  bool

	// handoff is the shared subscription whose parked goroutine a publish did not
	// wake, for the Router call that published to deliver to once it has unlocked
	// (help); nil when none is pending. One at a time: that covers the usual case,
	// a single subscriber to every event, without making a call that many
	// subscribers watch convert each of its events for each of them; a publish
	// wakes the goroutines of the others, as before. Set under mu, taken without it.
	handoff atomic.Pointer[Subscription]
}

// subIndex holds a bus's open subscriptions by the ID filter they are keyed on, so
// that a publish visits only the subscriptions that can want the event: one that
// filters on an ID receives only events that carry that very ID (SubscribeOptions),
// so it sits in the list of its worker ID, else of its job ID, else of its queue ID,
// and an event is offered to the list of its worker, the list of its job and the
// list of its queue, and to the subscriptions without an ID filter. Each
// subscription is in exactly one list, so it sees each event at most once, and its
// own filters (types, the other IDs) still decide. A contact centre whose every
// agent's desktop subscribes to its own worker's events pays for the agent's
// subscription on each event, not for all of them (BenchmarkPublishFanout: 91 µs an
// event with 10,000 such subscriptions when the bus scanned them all).
type subIndex struct {
	shared   subList             // no ID filter, asynchronous: they read the bus's eventLog
	unkeyed  subList             // no ID filter, Synchronous
	byWorker map[string]*subList // WorkerID filter, with or without others
	byJob    map[string]*subList // JobID filter, no WorkerID filter
	byQueue  map[string]*subList // QueueID filter only

	// The shared subscriptions' Types filters, summed up so that a publish can tell
	// in O(1) whether any of them passes an event (sharedWants).
	sharedTypes typeCounts
	// The same over every listed subscription, shared or not, and the set of types
	// it makes (typeCounts.set), which the engine builds the events of
	// (Router.syncWanted). Atomic, since a subscription leaves the index under the
	// bus's mutex alone, while a command may run.
	allTypes typeCounts
	wanted   atomic.Uint32
}

// typeCounts sums up subscriptions' Types filters: how many have none, how many
// name each type (by its bit, engine.EventTypeBit: the engine's numbering, so that
// the set of types wanted is handed to the engine as it is), and the bits some name.
type typeCounts struct {
	none int
	uses [32]int
	bits uint32
}

// add adds (by +1) or takes away (by -1) s's Types filter. O(event types).
func (c *typeCounts) add(s *Subscription, by int) {
	if !s.hasTypes {
		c.none += by
		return
	}
	for i := range c.uses {
		if s.types&(1<<i) == 0 {
			continue
		}
		c.uses[i] += by
		if c.uses[i] > 0 {
			c.bits |= 1 << i
		} else {
			c.bits &^= 1 << i
		}
	}
}

// set is the set of types the counted subscriptions take: engine.AnyEventType
// while one has no Types filter, else the bits some name. O(1).
func (c *typeCounts) set() uint32 {
	if c.none > 0 {
		return engine.AnyEventType
	}
	return c.bits
}

// passes reports whether set, a set of event types as typeCounts.set gives it,
// holds type t. O(1).
func passes(set uint32, t engine.EventType) bool {
	return set&engine.AnyEventType != 0 || set&engine.EventTypeBit(t) != 0
}

// sharedWants reports whether some shared subscription passes ev: their only
// filter is Types (an ID filter makes a subscription keyed). O(1).
func (x *subIndex) sharedWants(ev *engine.Event) bool {
	return passes(x.sharedTypes.set(), ev.Type)
}

// wants reports whether some listed subscription may take events of type t (the
// engine builds only those: Router.syncWanted). O(1), without a lock.
func (b *bus) wants(t engine.EventType) bool { return passes(b.index.wanted.Load(), t) }

// hasKeyed reports whether any subscription filters on an ID: the maps hold only
// lists that are not empty. O(1).
func (x *subIndex) hasKeyed() bool {
	return len(x.byWorker)+len(x.byJob)+len(x.byQueue) > 0
}

// subList is one list of a subIndex, in no particular order.
type subList struct {
	subs []*Subscription
}

// keyOf returns the map of lists s is keyed in, with its key; nil when s has no
// ID filter.
func (x *subIndex) keyOf(s *Subscription) (m *map[string]*subList, key string) {
	switch {
	case s.workerID != "":
		return &x.byWorker, s.workerID
	case s.jobID != "":
		return &x.byJob, s.jobID
	case s.queueID != "":
		return &x.byQueue, s.queueID
	}
	return nil, ""
}

// add lists s. O(1) amortised.
func (x *subIndex) add(s *Subscription) {
	x.allTypes.add(s, +1)
	x.wanted.Store(x.allTypes.set())
	l := &x.unkeyed
	if s.shared {
		l = &x.shared
		x.sharedTypes.add(s, +1)
	} else if m, key := x.keyOf(s); m != nil {
		if *m == nil {
			*m = make(map[string]*subList)
		}
		if l = (*m)[key]; l == nil {
			l = &subList{}
			(*m)[key] = l
		}
	}
	s.list, s.idx = l, len(l.subs)
	l.subs = append(l.subs, s)
}

// remove takes s, which is listed, off its list in O(1), and drops the list when it
// empties (but the shared and unkeyed ones), so that subscriptions to IDs that come and go (a
// job's, say) leave nothing behind.
func (x *subIndex) remove(s *Subscription) {
	x.allTypes.add(s, -1)
	x.wanted.Store(x.allTypes.set())
	l := s.list
	if l == &x.shared {
		x.sharedTypes.add(s, -1)
	}
	last := len(l.subs) - 1
	l.subs[s.idx] = l.subs[last]
	l.subs[s.idx].idx = s.idx
	l.subs[last] = nil
	l.subs = l.subs[:last]
	s.list, s.idx = nil, -1
	if last == 0 && l != &x.unkeyed && l != &x.shared {
		m, key := x.keyOf(s)
		delete(*m, key)
	}
}

// all returns every listed subscription, in the order they were made. O(n log n).
func (x *subIndex) all() []*Subscription {
	out := slices.Concat(x.shared.subs, x.unkeyed.subs)
	for _, m := range []map[string]*subList{x.byWorker, x.byJob, x.byQueue} {
		for _, l := range m {
			out = append(out, l.subs...)
		}
	}
	// Map order is random: sort, so that nothing depends on it.
	slices.SortFunc(out, func(a, b *Subscription) int { return cmp.Compare(a.serial, b.serial) })
	return out
}

// newBus returns a bus whose subscriptions default to maxBacklog (65,536 when not
// positive).
func newBus(maxBacklog int) *bus {
	if maxBacklog <= 0 {
		maxBacklog = defaultMaxBacklog
	}
	return &bus{defaultMaxBacklog: maxBacklog}
}

// subscribe adds a subscription and starts its goroutine (a Synchronous one has
// none). After close it returns a closed subscription. O(1) amortised.
func (b *bus) subscribe(opts *SubscribeOptions) *Subscription {
	s := newSubscription(opts, b.defaultMaxBacklog)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return closedSubscription(opts)
	}
	s.bus = b
	b.serials++
	s.serial = b.serials
	b.index.add(s)
	switch {
	case s.shared:
		b.log.attach(s)
		s.cursor.Lock() // the goroutine's until it parks
		b.wg.Go(func() { s.runShared(b) })
	case !s.sync:
		b.wg.Go(s.run)
	}
	return s
}

// publish queues evs, which are in Seq order, for every subscription whose filters
// they pass, then delivers to a parked shared subscriber (help), as one Router call
// does: the Router publishes each event through publishOne as the engine records it,
// under its lock, and calls help once unlocked. It never blocks on a reader and
// never calls the Router. Subscriptions found stopped, or stopped by an overflow
// here, leave the index.
func (b *bus) publish(evs []engine.Event) {
	for i := range evs {
		b.publishOne(&evs[i])
	}
	b.help()
}

// publishOne hands one event to every open subscription that wants it, as the
// engine records it. O(1 + the subscriptions visited): those without an ID filter,
// and those keyed on the event's worker, job or queue ID (subIndex), each O(1). The
// event is copied once into the eventLog for all the shared subscriptions, and once
// into the queue of each other subscription that wants it.
func (b *bus) publishOne(ev *engine.Event) {
	b.mu.Lock()
	yield := len(b.index.shared.subs) > 0 && b.publishShared(ev)
	if len(b.index.unkeyed.subs) > 0 {
		b.offer(&b.index.unkeyed, ev)
	}
	if b.index.hasKeyed() {
		b.offerKeyed(ev)
	}
	b.mu.Unlock()
	if yield {
		runtime.Gosched() // a shared subscription's goroutine is farBehind: let it run
	}
}

// offerKeyed hands ev to the subscriptions keyed on its worker, job and queue IDs.
// Called with b.mu held.
func (b *bus) offerKeyed(ev *engine.Event) {
	if ev.WorkerID != "" && len(b.index.byWorker) > 0 {
		if l := b.index.byWorker[ev.WorkerID]; l != nil {
			b.offer(l, ev)
		}
	}
	if ev.JobID != "" && len(b.index.byJob) > 0 {
		if l := b.index.byJob[ev.JobID]; l != nil {
			b.offer(l, ev)
		}
	}
	if ev.QueueID != "" && len(b.index.byQueue) > 0 {
		if l := b.index.byQueue[ev.QueueID]; l != nil {
			b.offer(l, ev)
		}
	}
}

// offer hands ev to each subscription of l; those that have stopped leave the index
// (and l, once empty, leaves it too: l is not used after). Called with b.mu held.
func (b *bus) offer(l *subList, ev *engine.Event) {
	for i := 0; i < len(l.subs); {
		if s := l.subs[i]; s.enqueue(ev) {
			i++
		} else {
			b.index.remove(s)
		}
	}
}

// remove takes s out of the index, if it is still there.
func (b *bus) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.list != nil {
		b.index.remove(s)
	}
}

// close ends every subscription: each delivers what it has queued, then closes its
// channel. close keeps waiting while readers keep taking events; a subscription whose
// reader takes none for a whole timeout (real time: time.NewTimer, not the Router's
// clock) is stopped with ErrSlowSubscriber. It returns after every subscription
// goroutine has exited. Later publishes are ignored and later subscribes get a
// closed subscription.
func (b *bus) close(timeout time.Duration) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.wg.Wait()
		return
	}
	b.closed = true
	subs := b.index.all()
	for _, s := range subs {
		b.index.remove(s) // which also empties the set of types wanted
	}
	b.mu.Unlock()

	seen := make([]uint64, len(subs))
	for i, s := range subs {
		b.finish(s)
		seen[i] = s.progress()
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for i := 0; i < len(subs); {
		select {
		case <-subs[i].exited:
			i++
		case <-timer.C:
			for j := i; j < len(subs); j++ {
				if p := subs[j].progress(); p != seen[j] {
					seen[j] = p // still reading: give it another timeout
				} else {
					subs[j].abort()
				}
			}
			timer.Reset(timeout)
		}
	}
	// Every goroutine left has been told to stop (a subscription leaves the list only
	// when stopped), so this wait is short.
	b.wg.Wait()
}
