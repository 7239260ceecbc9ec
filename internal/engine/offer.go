package engine

import (
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/deadline"
)

// offerState is an open offer.
type offerState struct {
	Offer
	channelID string
	dl        deadline.Handle // the expiry deadline
	// The offer's job and worker: both exist while the offer is open (a worker is
	// deleted, and a job becomes deletable, only after its offers end).
	job    *jobState
	worker *workerState
}

// A worker's open offers are found by a scan while it holds few of them, and
// through Engine.offerIndex once it holds offerIndexAt or more (a bot with a large
// capacity, say), until it is down to offerIndexAt/2 again, so that issuing and
// accepting stay O(1) however many it holds.
const offerIndexAt = 32

// offerByID returns w's open offer with that ID, or nil. O(1): a scan of fewer than
// offerIndexAt offers, or a map lookup.
func (e *Engine) offerByID(w *workerState, id string) *offerState {
	if w.offersIndexed {
		return e.offerIndex[w][id]
	}
	for _, o := range w.offers {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// indexOffer records o, just appended to w.offers, in w's index if it has one, or
// builds the index when w reaches offerIndexAt open offers. O(1) amortised.
func (e *Engine) indexOffer(w *workerState, o *offerState) {
	switch {
	case w.offersIndexed:
		e.offerIndex[w][o.ID] = o
	case len(w.offers) >= offerIndexAt:
		idx := make(map[string]*offerState, 2*len(w.offers))
		for _, x := range w.offers {
			idx[x.ID] = x
		}
		e.offerIndex[w] = idx
		w.offersIndexed = true
	}
}

// unindexOffer forgets o, just removed from w.offers, and drops w's index when w is
// down to offerIndexAt/2 open offers. O(1) amortised.
func (e *Engine) unindexOffer(w *workerState, o *offerState) {
	if !w.offersIndexed {
		return
	}
	if len(w.offers) <= offerIndexAt/2 {
		delete(e.offerIndex, w)
		w.offersIndexed = false
		return
	}
	delete(e.offerIndex[w], o.ID)
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
	id := e.newID(func(s string) bool { return e.offerByID(w, s) != nil })
	o := &offerState{
		Offer:     Offer{ID: id, JobID: j.ID, WorkerID: w.ID, CapacityCost: cost, OfferedAt: now, ExpiresAt: now.Add(expiresAfter)},
		channelID: j.ChannelID, job: j, worker: w,
	}
	w.offers = append(w.offers, o)
	e.indexOffer(w, o)
	w.used += cost
	j.offers = append(j.offers, o)
	o.dl = e.deadlines.AddRef(offerKey(id), o.ExpiresAt, o)
	e.refreshWorker(w)
	e.refreshJob(j)
	e.emit(now, Event{Type: EvOfferIssued, WorkerID: w.ID, JobID: j.ID, OfferID: id, QueueID: j.QueueID,
		ChannelID: j.ChannelID, ChannelReference: j.cold().ChannelReference, JobPriority: int(j.Priority),
		ExpiresAt: o.ExpiresAt, JobLabels: j.Labels, JobTags: j.cold().Tags,
		WorkerLabels: &w.labels.Set, WorkerTags: w.Tags})
}

// endOffer removes an open offer from every index. When release is set its capacity
// returns to the worker.
func (e *Engine) endOffer(o *offerState, release bool) {
	e.deadlines.Remove(o.dl)
	if w := o.worker; w != nil {
		w.offers = removeOffer(w.offers, o)
		e.unindexOffer(w, o)
		if release {
			w.used -= o.CapacityCost
		}
		e.gainWorker(w)
	}
	if j := o.job; j != nil {
		j.offers = removeOffer(j.offers, o)
		e.gainJob(j)
	}
}

// removeOffer removes o from s, keeping the order. O(1) for the first offer (offers
// usually end in the order they were issued), else O(len(s)).
func removeOffer(s []*offerState, o *offerState) []*offerState {
	if len(s) > 0 && s[0] == o {
		s[0] = nil
		if len(s) == 1 {
			return s[:0] // keeps the capacity for the next offer
		}
		return s[1:]
	}
	for i, x := range s {
		if x == o {
			copy(s[i:], s[i+1:])
			s[len(s)-1] = nil
			return s[:len(s)-1]
		}
	}
	return s
}

func (e *Engine) offerEvent(typ EventType, o *offerState) Event {
	ev := Event{Type: typ, WorkerID: o.WorkerID, JobID: o.JobID, OfferID: o.ID, ChannelID: o.channelID}
	if j := o.job; j != nil {
		ev.QueueID = j.QueueID
		ev.ChannelReference = j.cold().ChannelReference
		ev.JobPriority = int(j.Priority)
	}
	return ev
}

// revoke withdraws an open offer: OfferRevoked with the reason.
func (e *Engine) revoke(now time.Time, o *offerState, reason string) {
	ev := e.offerEvent(EvOfferRevoked, o)
	ev.Extra = &EventExtra{Reason: reason}
	e.endOffer(o, true)
	e.emit(now, ev)
}

func (e *Engine) revokeWorkerOffers(now time.Time, w *workerState, reason string) {
	for len(w.offers) > 0 {
		e.revoke(now, w.offers[0], reason)
	}
}

func (e *Engine) revokeJobOffers(now time.Time, j *jobState, reason string) {
	for len(j.offers) > 0 {
		e.revoke(now, j.offers[0], reason)
	}
}

// openOffer finds an offer that is open at now and belongs to workerID.
// O(1).
func (e *Engine) openOffer(now time.Time, workerID, offerID string) (*offerState, error) {
	var o *offerState
	if w := e.workers[workerID]; w != nil {
		o = e.offerByID(w, offerID)
	}
	// An offer is closed from its ExpiresAt on, even when no Advance has fired its
	// expiry yet: SEMANTICS says that from that instant it can no longer be accepted,
	// and a command must not depend on whether its caller advanced first.
	if o == nil || !now.Before(o.ExpiresAt) {
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
	j.asgW().assigns = append(j.asg().assigns, assignRec{ID: aid, WorkerID: w.ID, CapacityCost: o.CapacityCost, AssignedAt: now})
	j.asgW().current = aid
	w.holds = append(w.holds, holding{jobID: j.ID, assignmentID: aid, channelID: o.channelID, cost: o.CapacityCost, assignedAt: now})
	e.refreshWorker(w)
	e.recordService(now, j.QueueID) // the queue's service rate, for wait estimates
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
	if !retryAt.IsZero() {
		ev.Extra = &EventExtra{RetryOfferAt: retryAt}
	}
	e.endOffer(o, true)
	if j.cold().declines == nil {
		j.ext().declines = make(map[string]decline)
	}
	// A RetryOfferAt already reached makes the decliner eligible again at once.
	j.ext().declines[w.ID] = decline{reg: w.reg, retryAt: retryAt, lapsed: !retryAt.IsZero() && !retryAt.After(now)}
	if retryAt.After(now) {
		e.deadlines.Set(retryKey(j.ID, w.ID), retryAt)
	}
	e.emit(now, ev)
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
	if e.cfg.Checks && (o.worker == nil || e.offerByID(o.worker, o.ID) != o) {
		panic("engine: an offer's expiry deadline outlived the offer " + quote(o.ID))
	}
	w := o.worker
	dereg := w != nil && !e.cfg.KeepWorkersOnOfferExpiry && w.AvailableForOffers
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
		// announce them as expired before the deregistration revokes the rest, so an
		// offer's outcome does not depend on the order of equal deadlines.
		for _, x := range slices.Clone(w.offers) {
			if !x.ExpiresAt.After(t) {
				e.endExpired(t, x)
			}
		}
		e.deregister(t, w)
	}
}

func (e *Engine) endExpired(t time.Time, o *offerState) {
	ev := e.offerEvent(EvOfferExpired, o)
	e.endOffer(o, true)
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
