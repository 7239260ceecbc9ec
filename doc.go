// Package jobrouter is a job router that runs inside the program that imports it.
//
// Jobs (calls, chats, tickets, tasks) enter queues; workers (agents, bots) register
// with labels, channels and capacity; the Router offers each job to the best
// eligible worker; the worker accepts or declines (optionally "offer it to me again
// at T"); the job is completed, then closed with a disposition code. The semantics
// are those of Azure Communication Services Job Router (REST API 2023-11-01), with
// the names of its models, rebuilt as an in-memory, deterministic engine: every call
// is a function call, and every state change is announced as an event on a Go
// channel.
//
// # Quick start
//
//	r, _ := jobrouter.New(nil)
//	defer r.Close()
//	sub := r.Subscribe(&jobrouter.SubscribeOptions{Types: []jobrouter.EventType{jobrouter.EventTypeOfferIssued}})
//	r.UpsertDistributionPolicy(ctx, jobrouter.DistributionPolicy{ID: "longest-idle", OfferExpiresAfter: time.Minute, Mode: jobrouter.LongestIdleMode{}})
//	r.UpsertQueue(ctx, jobrouter.Queue{ID: "support", DistributionPolicyID: "longest-idle"})
//	r.UpsertWorker(ctx, jobrouter.Worker{ID: "alice", Queues: []string{"support"}, Capacity: 1,
//		Channels: []jobrouter.ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: true})
//	r.CreateJob(ctx, jobrouter.Job{ID: "call-1", ChannelID: "voice", QueueID: "support"})
//	offer := (<-sub.Events()).(jobrouter.OfferIssued)
//	res, _ := r.AcceptJobOffer(ctx, offer.WorkerID, offer.OfferID)
//	r.CompleteJob(ctx, res.JobID, res.AssignmentID, nil)
//	r.CloseJob(ctx, res.JobID, res.AssignmentID, &jobrouter.CloseJobOptions{DispositionCode: "Resolved"})
//
// # Concurrency
//
// A Router is safe for concurrent use. Every method takes one mutex, reads the clock
// once, fires every deadline that has fallen due, applies its operation, queues the
// events it caused for every subscriber and releases the mutex. Methods are
// synchronous: when a call returns nil, its transition is committed and its events
// are queued, and any later call (from any goroutine) sees it. Concurrent calls are
// linearizable: of two workers accepting offers for the same job at the same time,
// exactly one wins and the other gets ErrNotFound (its offer was revoked).
//
// The one transition that completes later is a classification that needs a
// WebhookRule: the job stays pendingClassification while a goroutine of the Router
// calls the webhook outside the mutex, and the answer is applied as a step of its
// own (JobClassified, JobQueued or JobClassificationFailed follow on the
// subscriptions). Close aborts the webhooks in flight and waits for those goroutines.
//
// No user code runs under the mutex except the pure rule functions of policies (a
// BestWorkerMode.ScoringFunc, a FuncRule) and Options.NewID, which must be fast and
// must not call the Router; their panics are recovered.
// Values cross the API by copy: no returned value or event aliases the Router's
// memory, and no input is retained.
//
// # Time
//
// All time comes from Options.Clock (a github.com/benbjohnson/clock Clock; the real
// clock by default). The Router keeps one timer, armed at its earliest pending
// deadline (an offer expiry, a RetryOfferAt, a CloseAt); the timer's goroutine only
// fires deadlines. Because every call also fires what is due first, a test that
// moves a clock.Mock sees the consequences in its very next call, without sleeping
// or waiting for a goroutine:
//
//	mock := clock.NewMock()
//	r, _ := jobrouter.New(&jobrouter.Options{Clock: mock})
//	... // an offer is issued with a 30 s expiry
//	mock.Add(30 * time.Second)
//	job, _ := r.GetJob(ctx, "call-1") // the offer has expired, the job is offered again
//
// Deadlines fire in time order (equal times in the order they were set) and each
// takes effect at its own instant, followed by matching at that instant: a clock
// that jumps is replayed as if a timer had fired on time at every deadline on the
// way, so the outcome never depends on whether the timer's goroutine or the next
// call got there first. Events carry the instant they happened. A clock that goes
// backwards is treated as standing still.
//
// With Options.ManualTime the Router has no clock and no timer at all: time moves
// only by AdvanceTo, and NextDeadline tells a discrete-event simulator where to jump.
//
// # Events
//
// Subscribe returns a Subscription whose Events channel delivers, in order, every
// event published after Subscribe returned that passes its filters. Each event is a
// value of a concrete struct type (OfferIssued, JobClosed, ...; switch on the type)
// carrying a router-wide sequence number (Seq; a subscriber that filters sees gaps,
// one that does not sees none) and the time at which it happened (Time).
//
// For one job the order is JobReceived → JobQueued → OfferIssued… → OfferAccepted
// (and OfferRevoked for the job's other offers) → JobCompleted → JobClosed.
//
// Publishing never blocks the Router and never drops an event silently. Each
// subscription has its own unbounded backlog and its own goroutine that feeds the
// channel. A publish, under the Router's mutex, costs O(1) per subscription: it
// copies the event into the queue of each subscription keyed on an ID or
// Synchronous, and once into a log that the asynchronous subscriptions without an
// ID filter share, each reading it by its own cursor (see Subscription); for one of
// these whose goroutine is parked, the calling goroutine delivers the call's events
// itself once the Router's mutex is released. When a subscription has
// more than MaxBacklog events queued and not yet received (default 65,536), it is
// closed: its channel is closed, its queued events are discarded and Err returns
// ErrSlowSubscriber. The Router and the other subscriptions are not slowed.
//
// Close stops the Router: every subscription puts what was queued for it on its
// channel, then the channel is closed (the channel buffers 64 events, which the
// reader takes from the closed channel). Close waits as long as each subscriber that
// has more than that keeps taking events; one that takes none for
// Options.CloseTimeout (real time, default 1 s) is closed with ErrSlowSubscriber. So
// a reader must keep reading until its channel closes, or call Subscription.Close
// first.
// Subscription.Close ends one subscription at once, discarding what it had queued.
// No goroutine started by the Router outlives Close.
//
// A subscription made with SubscribeOptions.Synchronous has no goroutine: its
// events are queued as above and taken with Subscription.Poll, in the caller's
// goroutine. Because the events of a call are queued before the call returns, a
// Poll after a call returns sees every event the call caused, which is what a
// single-goroutine driver (a simulation, a test in manual time) needs:
//
//	sub := r.Subscribe(&jobrouter.SubscribeOptions{Synchronous: true})
//	var evs []jobrouter.Event
//	for {
//		evs = sub.PollAppend(evs[:0]) // every event of the calls so far, in order
//		for _, ev := range evs {
//			... // react: accept an offer, close a job (their events come in the next Poll)
//		}
//		if len(evs) > 0 {
//			continue // the reactions may have caused more
//		}
//		next, ok := r.NextDeadline()
//		if !ok {
//			break
//		}
//		r.AdvanceTo(next)
//	}
//
// The backlog limit applies to it too, but the events queued before an overflow
// can still be polled; Router.Close does not wait for it, and what it had queued
// can still be polled after Close.
//
// # Errors
//
// Every error is an *Error wrapping one sentinel, to be tested with errors.Is:
// ErrNotFound (no such entity, a reference to a missing one, or an offer that is not
// open for that worker), ErrInvalidArgument (bad input), ErrConflict (the entity is
// in the wrong state for the operation, or a delete would break a reference),
// ErrClosed (the Router is closed), ErrInternal (a recovered bug). A context that is
// already done returns an *Error wrapping the context's error. A call that returns an
// error has changed nothing (deadlines that fell due before it have still fired).
//
// # Decisions of ours
//
// Where Azure Job Router leaves a point undocumented, jobrouter decides, and says
// so in the documentation of the method concerned. The list is in README.md.
package jobrouter
