package naive

import (
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// offer is an open offer. Its expiry deadline is pending for as long as it is open.
type offer struct {
	engine.Offer
	channelID string // the job's channel when it was offered
	expiry    deadline
}

// decline is a worker's decline of a job: it is not offered the job again during the
// same registration, unless retryAt (when set) has come. The retry deadline lives on
// even when a later decline without a future retryAt replaces the memory; it only
// triggers a matching.
type decline struct {
	reg     uint64
	retryAt time.Time
	retry   deadline
	// lapsed: retryAt has come — its deadline fired at or after it, or it had
	// already passed when the worker declined. A decline holds until it lapses: a
	// command carrying a later time than the last Advance still sees it.
	lapsed bool
}

// jobOffers returns j's open offers in issue order.
func (r *Router) jobOffers(jobID string) []*offer {
	var out []*offer
	for _, o := range r.offers {
		if o.JobID == jobID {
			out = append(out, o)
		}
	}
	return out
}

func (r *Router) issueOffer(now time.Time, j *job, w *worker, cost int, expiresAfter time.Duration) {
	// Unique among w's open offers, as the engine's (an offer is named with its worker).
	id := r.newID(func(s string) bool {
		return slices.ContainsFunc(w.offers, func(o *offer) bool { return o.ID == s })
	})
	o := &offer{
		Offer:     engine.Offer{ID: id, JobID: j.ID, WorkerID: w.ID, CapacityCost: cost, OfferedAt: now, ExpiresAt: now.Add(expiresAfter)},
		channelID: j.ChannelID,
	}
	r.setDeadline(&o.expiry, o.ExpiresAt)
	r.offers = append(r.offers, o)
	w.offers = append(w.offers, o)
	r.emit(now, engine.Event{Type: engine.EvOfferIssued, WorkerID: w.ID, JobID: j.ID, OfferID: id, QueueID: j.QueueID,
		ChannelID: j.ChannelID, ChannelReference: j.ChannelReference, JobPriority: j.Priority,
		ExpiresAt: o.ExpiresAt, JobLabels: j.Labels, JobTags: j.Tags,
		WorkerLabels: workerLabelSet(w.Labels), WorkerTags: w.Tags})
}

// endOffer closes an open offer; the capacity it took is free again (accepting
// moves it to a new holding).
func (r *Router) endOffer(o *offer) {
	r.offers = slices.DeleteFunc(r.offers, func(x *offer) bool { return x == o })
	if w := r.workers[o.WorkerID]; w != nil {
		w.offers = slices.DeleteFunc(w.offers, func(x *offer) bool { return x == o })
	}
}

func (r *Router) offerEvent(typ engine.EventType, o *offer) engine.Event {
	ev := engine.Event{Type: typ, WorkerID: o.WorkerID, JobID: o.JobID, OfferID: o.ID, ChannelID: o.channelID}
	if j := r.jobs[o.JobID]; j != nil {
		ev.QueueID, ev.ChannelReference, ev.JobPriority = j.QueueID, j.ChannelReference, j.Priority
	}
	return ev
}

func (r *Router) revoke(now time.Time, o *offer, reason string) {
	ev := r.offerEvent(engine.EvOfferRevoked, o)
	ev.Extra = &engine.EventExtra{Reason: reason}
	r.endOffer(o)
	r.emit(now, ev)
}

func (r *Router) revokeJobOffers(now time.Time, j *job, reason string) {
	for _, o := range r.jobOffers(j.ID) {
		r.revoke(now, o, reason)
	}
}

// openOffer finds workerID's offer offerID, open at now: from its ExpiresAt on it is
// closed even before the expiry has been fired.
func (r *Router) openOffer(now time.Time, workerID, offerID string) (*offer, error) {
	for _, o := range r.offers {
		if o.ID == offerID && o.WorkerID == workerID && now.Before(o.ExpiresAt) {
			return o, nil
		}
	}
	return nil, notFound("offer", offerID)
}

// AcceptOffer accepts an open offer: a new assignment takes over the offer's
// capacity, the job is assigned, OfferAccepted is announced, then the job's other
// offers are revoked.
func (r *Router) AcceptOffer(now time.Time, workerID, offerID string) (jobID, assignmentID string, err error) {
	now = r.at(now)
	o, err := r.openOffer(now, workerID, offerID)
	if err != nil {
		return "", "", err
	}
	j, w := r.jobs[o.JobID], r.workers[o.WorkerID]
	aid := r.newID(func(s string) bool { _, ok := j.Assignments[s]; return ok })
	ev := r.offerEvent(engine.EvOfferAccepted, o)
	ev.AssignmentID = aid
	ev.JobLabels, ev.JobTags, ev.WorkerLabels, ev.WorkerTags = j.Labels, j.Tags, workerLabelSet(w.Labels), w.Tags
	r.endOffer(o)
	if j.Assignments == nil {
		j.Assignments = map[string]engine.Assignment{}
	}
	j.Assignments[aid] = engine.Assignment{ID: aid, JobID: j.ID, WorkerID: w.ID, CapacityCost: o.CapacityCost, AssignedAt: now}
	j.current = aid
	w.holds = append(w.holds, holding{jobID: j.ID, assignmentID: aid, channelID: o.channelID, cost: o.CapacityCost, assignedAt: now})
	j.Status = engine.JobAssigned
	r.emit(now, ev)
	r.revokeJobOffers(now, j, "accepted by another worker")
	r.match(now)
	return j.ID, aid, nil
}

// DeclineOffer declines an open offer: OfferDeclined, and the job goes to the next
// eligible worker. The decliner is not offered the job again until retryAt (never,
// when it is zero) or until it registers again.
func (r *Router) DeclineOffer(now time.Time, workerID, offerID string, retryAt time.Time) error {
	now = r.at(now)
	o, err := r.openOffer(now, workerID, offerID)
	if err != nil {
		return err
	}
	j, w := r.jobs[o.JobID], r.workers[o.WorkerID]
	ev := r.offerEvent(engine.EvOfferDeclined, o)
	if !retryAt.IsZero() {
		ev.Extra = &engine.EventExtra{RetryOfferAt: retryAt}
	}
	r.endOffer(o)
	if j.declines == nil {
		j.declines = map[string]*decline{}
	}
	d := j.declines[w.ID]
	if d == nil {
		d = &decline{}
		j.declines[w.ID] = d
	}
	d.reg, d.retryAt = w.reg, retryAt
	d.lapsed = !retryAt.IsZero() && !retryAt.After(now)
	if retryAt.After(now) {
		r.setDeadline(&d.retry, retryAt)
	}
	r.emit(now, ev)
	r.match(now)
	return nil
}

// declined reports whether w must not be offered j: it declined during its current
// registration, and the decline has not lapsed.
func (j *job) declined(w *worker) bool {
	d := j.declines[w.ID]
	return d != nil && d.reg == w.reg && !d.lapsed
}

// expireOffer ends an offer at its ExpiresAt t: OfferExpired. Unless
// KeepWorkersOnOfferExpiry, the worker is then deregistered, after its other offers
// due at t have expired too.
func (r *Router) expireOffer(t time.Time, o *offer) {
	r.endExpired(t, o)
	w := r.workers[o.WorkerID]
	if w == nil || r.cfg.KeepWorkersOnOfferExpiry || !w.AvailableForOffers {
		return
	}
	for _, x := range r.workerOffers(w) {
		if !x.ExpiresAt.After(t) {
			r.endExpired(t, x)
		}
	}
	r.deregister(t, w)
}

func (r *Router) endExpired(t time.Time, o *offer) {
	ev := r.offerEvent(engine.EvOfferExpired, o)
	r.endOffer(o)
	r.emit(t, ev)
}
