package engine

import (
	"time"

	"github.com/openjobrouter/jobrouter/internal/deadline"
)

// offerState is an open offer: 208 bytes, a size class of its own (B6 holds a
// million), its expiry's heap entry (80 of them) included, so that issuing an offer
// allocates one record, not two. It does not embed Offer: the job's and the worker's
// IDs are theirs (offer returns the Offer).
type offerState struct {
	links[offerState]                   // its place among its worker's open offers (workerindex.go)
	jlinks            links[offerState] // its place among its job's open offers (jobState.offers)
	id                string
	cost              int
	offeredAt         time.Time
	expiresAt         time.Time
	channel           name           // the job's ChannelID when it was offered
	dlEntry           deadline.Entry // the expiry deadline (Heap.AddIn, RemoveIn)
	// The offer's job and worker: both exist while the offer is open (a worker is
	// deleted, and a job becomes deletable, only after its offers end).
	job    *jobState
	worker *workerState
}

// offer returns o as an Offer.
func (o *offerState) offer() Offer {
	return Offer{ID: o.id, JobID: o.job.ID, WorkerID: o.worker.ID, CapacityCost: o.cost, OfferedAt: o.offeredAt, ExpiresAt: o.expiresAt}
}

// decline remembers that a worker declined a job.
type decline struct {
	reg     uint64    // the worker's registration when it declined
	retryAt time.Time // zero: never again during that registration
	lapsed  bool      // retryAt was reached: its deadline fired, or it had passed
}

func offerKey(id string) deadline.Key { return deadline.Key{Kind: dlOfferExpiry, ID: id} }
func retryKey(jobID, workerID string) deadline.Key {
	return deadline.Key{Kind: dlRetryOffer, ID: jobID + "\x00" + workerID}
}

// issueOffer offers j to w. O(log n).
func (e *Engine) issueOffer(now time.Time, j *jobState, w *workerState, cost int, expiresAfter time.Duration) {
	id := e.newID(func(s string) bool { return w.offerByID(s) != nil })
	o := e.newOffer()
	o.id, o.cost, o.offeredAt, o.expiresAt = id, cost, now, now.Add(expiresAfter)
	o.channel, o.job, o.worker = j.channel, j, w
	e.pushOffer(w, o)
	w.used += cost
	j.addOffer(o)
	e.deadlines.AddIn(&o.dlEntry, offerKey(id), o.expiresAt, o)
	e.refreshWorker(w)
	e.refreshJob(j)
	e.emit(now, Event{Type: EvOfferIssued, WorkerID: w.ID, JobID: j.ID, OfferID: id, QueueID: j.QueueID(),
		ChannelID: j.ChannelID(), ChannelReference: j.cold().ChannelReference, JobPriority: int(j.Priority),
		ExpiresAt: o.expiresAt, JobLabels: j.Labels, JobTags: j.cold().Tags,
		WorkerLabels: &w.labels.Set, WorkerTags: w.Tags})
}

// maxSpareOffers bounds Engine.spareOffers: enough for the offers a busy router ends
// between two issues, few enough that a router that once held a million (B6) keeps
// about 200 KB of them.
const maxSpareOffers = 1024

// newOffer returns a zero offer record: an ended one when the engine keeps any
// (Engine.spareOffers), so that issuing an offer after one ended allocates nothing,
// else a new one. O(1).
func (e *Engine) newOffer() *offerState { return e.spareOffers.Get() }

// freeOffer keeps o, an offer ended by endOffer that nothing refers to any more, for
// newOffer, unless enough are kept. Each command that ends an offer frees it after
// its last use of the record (an event built, the capacity moved): endOffer itself
// cannot, since its callers still read it. O(1).
func (e *Engine) freeOffer(o *offerState) { e.spareOffers.Put(o, maxSpareOffers) }

// endOffer removes an open offer from every index. When release is set its capacity
// returns to the worker. O(log n) for the deadline, O(1) for the rest.
func (e *Engine) endOffer(o *offerState, release bool) {
	e.deadlines.RemoveIn(&o.dlEntry)
	w, j := o.worker, o.job
	e.unlinkOffer(w, o)
	if release {
		w.used -= o.cost
	}
	e.gainWorker(w)
	j.removeOffer(o)
	e.gainJob(j)
}

func (e *Engine) offerEvent(typ EventType, o *offerState) Event {
	j := o.job
	return Event{Type: typ, WorkerID: o.worker.ID, JobID: j.ID, OfferID: o.id, ChannelID: o.channel.String(),
		QueueID: j.QueueID(), ChannelReference: j.cold().ChannelReference, JobPriority: int(j.Priority)}
}

// revoke withdraws an open offer: OfferRevoked with the reason.
func (e *Engine) revoke(now time.Time, o *offerState, reason string) {
	ev := e.offerEvent(EvOfferRevoked, o)
	e.endOffer(o, true)
	e.freeOffer(o)
	e.emitWith(now, ev, &EventExtra{Reason: reason})
}

// revokeWorkerOffers revokes w's open offers, in issue order. O(offers × log n).
func (e *Engine) revokeWorkerOffers(now time.Time, w *workerState, reason string) {
	for w.offers.first != nil {
		e.revoke(now, w.offers.first, reason)
	}
}

// addOffer appends o to j's open offers. O(1): a job offered to many workers at
// once (a large MaxConcurrentOffers) takes each offer in constant time.
func (j *jobState) addOffer(o *offerState) {
	j.offers.pushBack(o)
	j.nOffers++
}

// removeOffer takes o, which must be open, out of j's open offers. O(1).
func (j *jobState) removeOffer(o *offerState) {
	j.offers.remove(o)
	j.nOffers--
}

// hasOffer reports whether o is among j's open offers. O(the job's offers).
func (j *jobState) hasOffer(o *offerState) bool {
	for x := j.offers.first; x != nil; x = x.jlinks.next {
		if x == o {
			return true
		}
	}
	return false
}

// revokeJobOffers revokes j's open offers, in issue order. O(offers × log n).
func (e *Engine) revokeJobOffers(now time.Time, j *jobState, reason string) {
	for j.offers.first != nil {
		e.revoke(now, j.offers.first, reason)
	}
}

// openOffer finds an offer that is open at now and belongs to workerID.
// O(1).
func (e *Engine) openOffer(now time.Time, workerID, offerID string) (*offerState, error) {
	var o *offerState
	if w := e.workers[workerID]; w != nil {
		o = w.offerByID(offerID)
	}
	// An offer is closed from its ExpiresAt on, even when no Advance has fired its
	// expiry yet: SEMANTICS says that from that instant it can no longer be accepted,
	// and a command must not depend on whether its caller advanced first.
	if o == nil || !now.Before(o.expiresAt) {
		return nil, &Error{Code: CodeNotFound, Entity: "offer", ID: offerID, Reason: "no open offer " + quote(offerID) + " for worker " + quote(workerID)}
	}
	return o, nil
}

// AcceptOffer accepts an open offer: the job is assigned to the worker (a new
// assignment holds the offer's capacity), OfferAccepted is announced, and every
// other offer for the job is revoked.
// Errors: CodeNotFound (the offer is not open or has reached its ExpiresAt, or is
// another worker's).
func (e *Engine) AcceptOffer(now time.Time, workerID, offerID string) (jobID, assignmentID string, err error) {
	now = e.at(now)
	o, err := e.openOffer(now, workerID, offerID)
	if err != nil {
		return "", "", err
	}
	j, w := o.job, o.worker
	aid := e.newID(func(s string) bool { return j.assignment(s) != nil })
	ev := e.offerEvent(EvOfferAccepted, o)
	ev.AssignmentID = aid
	ev.JobLabels, ev.JobTags, ev.WorkerLabels, ev.WorkerTags = j.Labels, j.cold().Tags, &w.labels.Set, w.Tags
	e.endOffer(o, false) // the capacity moves to the assignment
	j.asgW().addAssignment(assignRec{ID: aid, WorkerID: w.ID, CapacityCost: o.cost, AssignedAt: now})
	j.asgW().current = aid
	e.pushHolding(w, e.newHolding(holding{jobID: j.ID, assignmentID: aid, channelID: o.channel.String(), cost: o.cost, assignedAt: now}))
	e.freeOffer(o)
	e.refreshWorker(w)
	recordService(now, j.inQueue) // the queue's service rate, for wait estimates
	e.unqueue(j)
	e.cancelWaitTimes(j) // the wait in queue is over
	j.st = stAssigned
	e.emit(now, ev)
	e.revokeJobOffers(now, j, "accepted by another worker")
	e.match(now)
	return j.ID, aid, nil
}

// DeclineOffer declines an open offer: its capacity is released, OfferDeclined is
// announced, and the job goes to the next eligible worker. The decliner is not
// offered this job again until retryAt (never, when retryAt is zero) or until it
// registers again.
// Errors: CodeNotFound (the offer is not open or has reached its ExpiresAt, or is
// another worker's).
func (e *Engine) DeclineOffer(now time.Time, workerID, offerID string, retryAt time.Time) error {
	now = e.at(now)
	o, err := e.openOffer(now, workerID, offerID)
	if err != nil {
		return err
	}
	j, w := o.job, o.worker
	ev := e.offerEvent(EvOfferDeclined, o)
	var x *EventExtra
	if !retryAt.IsZero() {
		x = &EventExtra{RetryOfferAt: retryAt}
	}
	e.endOffer(o, true)
	e.freeOffer(o)
	if j.cold().declines == nil {
		j.ext().declines = make(map[string]decline)
	}
	// A RetryOfferAt already reached makes the decliner eligible again at once.
	j.ext().declines[w.ID] = decline{reg: w.reg, retryAt: retryAt, lapsed: !retryAt.IsZero() && !retryAt.After(now)}
	if retryAt.After(now) {
		e.deadlines.Set(retryKey(j.ID, w.ID), retryAt)
	}
	e.emitWith(now, ev, x)
	e.match(now)
	return nil
}

// expireOffer ends an offer at its expiry: OfferExpired; the worker is deregistered
// unless Config.KeepWorkersOnOfferExpiry.
//
// o is the offer the deadline carries (Deadline.Ref): it is open, since ending an
// offer (endOffer) always removes its expiry deadline. With Config.Checks that is
// verified against the worker's offers.
func (e *Engine) expireOffer(t time.Time, o *offerState) {
	w := o.worker
	if e.cfg.Checks && w.offerByID(o.id) != o {
		panic("engine: an offer's expiry deadline outlived the offer " + quote(o.id))
	}
	dereg := !e.cfg.KeepWorkersOnOfferExpiry && w.AvailableForOffers
	if dereg {
		// Deregistered below, so no longer offerable from here on: ending its
		// offers must not put it in the free trees only for deregister to take it
		// out again (B-tree updates per expiry for nothing). Before deregister
		// sets it again, only refreshWorker reads it (through endOffer's gain),
		// and no matching pass runs in between.
		w.AvailableForOffers = false
	}
	e.endExpired(t, o)
	if dereg {
		// The worker's other offers due at this same instant have expired too:
		// announce them as expired (in issue order) before the deregistration
		// revokes the rest, so that an offer's outcome does not depend on the order
		// of equal deadlines. Ending one ends no other: next is taken first.
		for x, next := w.offers.first, (*offerState)(nil); x != nil; x = next {
			next = x.next
			if !x.expiresAt.After(t) {
				e.endExpired(t, x)
			}
		}
		e.deregister(t, w)
	}
}

func (e *Engine) endExpired(t time.Time, o *offerState) {
	ev := e.offerEvent(EvOfferExpired, o)
	e.endOffer(o, true)
	e.freeOffer(o)
	e.emit(t, ev)
}

// declined reports whether j must not be offered to w: w declined it during its
// current registration, and the decline's RetryOfferAt (if any) has not been reached
// by Advance yet — the retry deadline, when it fires, lapses the decline. So a
// command that carries a later time than the last Advance sees the decline still in
// force, as it sees every other deadline not yet fired, whichever jobs it happens to
// match. O(1).
func (j *jobState) declined(w *workerState) bool {
	d, ok := j.cold().declines[w.ID]
	return ok && d.reg == w.reg && !d.lapsed
}
