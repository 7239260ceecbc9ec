package sim

import (
	"errors"
	"maps"
	"strconv"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// Disposition codes the simulator gives.
const (
	// DispositionResolved closes every job a worker finishes.
	DispositionResolved = "Resolved"
	// DispositionAbandoned cancels a job whose customer's patience ran out.
	DispositionAbandoned = "Abandoned"
)

// arrive creates st's next job and schedules the one after.
func (rn *runner) arrive(st *streamState) error {
	a := st.def
	st.n++
	js := &jobState{id: a.Name + "-" + strconv.Itoa(st.n), s: st, arrived: rn.now, rec: len(rn.records),
		inWindow: !rn.now.Before(rn.tl.winStart) && rn.now.Before(rn.tl.winEnd)}
	// Every draw is made whatever the trace says, so that the k-th job of a stream
	// always gets the same numbers.
	js.handle = st.handle()
	if st.wrap != nil {
		js.wrap = st.wrap()
	}
	var patience time.Duration
	hasPatience := st.patience != nil
	if hasPatience {
		patience = st.patience()
	}
	labels := a.Labels
	if rec := st.next; rec != nil {
		if len(rec.Labels) > 0 {
			labels = maps.Clone(a.Labels)
			if labels == nil {
				labels = jobrouter.Labels{}
			}
			maps.Copy(labels, rec.Labels)
		}
		if rec.HandleTime > 0 {
			js.handle = rec.HandleTime
		}
		if rec.WrapUp > 0 {
			js.wrap = rec.WrapUp
		}
		if rec.Patience > 0 {
			patience, hasPatience = rec.Patience, true
		}
	}
	rn.records = append(rn.records, record{stream: int32(st.idx), queue: -1, group: -1,
		arrived: rn.now.Sub(rn.sc.Start), offered: -1})
	rn.jobs[js.id] = js
	rn.active++
	rn.calls++
	_, err := rn.r.CreateJob(rn.ctx, jobrouter.Job{
		ID:                       js.id,
		ChannelID:                a.ChannelID,
		QueueID:                  a.QueueID,
		ClassificationPolicyID:   a.ClassificationPolicyID,
		Priority:                 a.Priority,
		Labels:                   labels,
		RequestedWorkerSelectors: a.RequestedWorkerSelectors,
	})
	if err != nil {
		return rn.fail("arrivals["+strconv.Itoa(st.idx)+"]: create job", err)
	}
	if hasPatience {
		rn.agenda.push(item{at: rn.now.Add(patience), kind: itemPatience, job: js})
	}
	if !rn.scheduleArrival(st) {
		rn.streamsLeft--
	}
	return nil
}

// abandon cancels js if it is still waiting: its customer hung up.
func (rn *runner) abandon(js *jobState) (bool, error) {
	if js.phase != phaseWaiting {
		return false, nil
	}
	rn.calls++
	err := rn.r.CancelJob(rn.ctx, js.id, &jobrouter.CancelJobOptions{DispositionCode: DispositionAbandoned})
	if errors.Is(err, jobrouter.ErrConflict) || errors.Is(err, jobrouter.ErrNotFound) {
		return true, nil // ended meanwhile; its event says how
	}
	if err != nil {
		return true, rn.fail("cancel job "+js.id, err)
	}
	js.byUs = true
	rn.leaveQueue(js, rn.now)
	rn.done(js, outcomeAbandoned, rn.now)
	rn.deletable = append(rn.deletable, js.id)
	return true, nil
}

// offered decides how w answers an offer and schedules the answer.
func (rn *runner) offered(e jobrouter.OfferIssued) {
	w := rn.workers[e.WorkerID]
	js := rn.jobs[e.JobID]
	if w == nil || js == nil {
		return
	}
	rn.countOffer(js, w, func(c *offerCounts) { c.Issued++ })
	if r := &rn.records[js.rec]; r.offered < 0 {
		r.offered = rn.now.Sub(js.arrived)
	}
	choice := int(w.pick.Rand())
	if choice == 0 {
		return // let it expire
	}
	at := rn.now
	if w.answerTime != nil {
		at = at.Add(w.answerTime())
	}
	rn.agenda.push(item{at: at, kind: itemAnswer, worker: w, job: js, offerID: e.OfferID, accept: choice == 2})
}

// answer accepts or declines an offer. An offer no longer open (expired, revoked)
// is counted as a late answer.
func (rn *runner) answer(w *workerState, js *jobState, offerID string, accept bool) error {
	rn.calls++
	if !accept {
		var opts *jobrouter.DeclineJobOfferOptions
		if d := w.g.def.Behaviour.RetryDelay; d > 0 {
			opts = &jobrouter.DeclineJobOfferOptions{RetryOfferAt: rn.now.Add(d)}
		}
		err := rn.r.DeclineJobOffer(rn.ctx, w.id, offerID, opts)
		switch {
		case errors.Is(err, jobrouter.ErrNotFound):
			rn.countOffer(js, w, func(c *offerCounts) { c.Late++ })
		case err != nil:
			return rn.fail("decline offer "+offerID, err)
		default:
			rn.countOffer(js, w, func(c *offerCounts) { c.Declined++ })
		}
		return nil
	}
	res, err := rn.r.AcceptJobOffer(rn.ctx, w.id, offerID)
	if errors.Is(err, jobrouter.ErrNotFound) {
		rn.countOffer(js, w, func(c *offerCounts) { c.Late++ })
		return nil
	}
	if err != nil {
		return rn.fail("accept offer "+offerID, err)
	}
	rn.countOffer(js, w, func(c *offerCounts) { c.Accepted++ })
	js.phase = phaseAssigned
	js.worker = w
	js.assignmentID = res.AssignmentID
	js.cost = channelCost(w.def.Channels, js.s.def.ChannelID)
	w.holding++
	w.g.busyCap.add(rn.now, float64(js.cost))
	rn.leaveQueue(js, rn.now)
	r := &rn.records[js.rec]
	r.outcome = outcomeAnswered
	r.group = int32(w.g.idx)
	r.wait = rn.now.Sub(js.arrived)
	handle := time.Duration(float64(js.handle) * w.g.def.HandleTimeFactor)
	if js.inWindow {
		w.g.handled++
		w.g.handleSum += handle
	}
	rn.agenda.push(item{at: rn.now.Add(handle), kind: itemFinish, job: js})
	return nil
}

func channelCost(chs []jobrouter.ChannelConfig, channelID string) int {
	for _, c := range chs {
		if c.ChannelID == channelID {
			return c.CapacityCostPerJob
		}
	}
	return 0
}

// finish completes js and closes it after its wrap-up (CloseJob with CloseAt: the
// Router holds the capacity until then and announces JobClosed at that instant).
func (rn *runner) finish(js *jobState) error {
	if js.phase != phaseAssigned {
		return nil
	}
	opts := &jobrouter.CloseJobOptions{DispositionCode: DispositionResolved}
	if js.wrap > 0 {
		opts.CloseAt = rn.now.Add(js.wrap)
	}
	rn.calls++
	err := rn.r.CloseJob(rn.ctx, js.id, js.assignmentID, opts)
	if errors.Is(err, jobrouter.ErrConflict) || errors.Is(err, jobrouter.ErrNotFound) {
		return nil // cancelled meanwhile (MaxJobAge); its event released the worker
	}
	if err != nil {
		return rn.fail("close job "+js.id, err)
	}
	return nil
}

// leaveQueue takes js out of its queue's length at t.
func (rn *runner) leaveQueue(js *jobState, t time.Time) {
	if js.queue != nil {
		js.queue.length.add(t, -1)
		rn.waiting.add(t, -1)
		js.queue = nil
	}
}

// release frees the capacity js held on its worker at t.
func (rn *runner) release(js *jobState, t time.Time) {
	w := js.worker
	if w == nil {
		return
	}
	js.worker = nil
	w.holding--
	w.g.busyCap.add(t, -float64(js.cost))
	if !w.staffed() {
		w.g.staffed.add(t, -1)
		w.g.staffedCap.add(t, -float64(w.g.def.Capacity))
	}
}

// done records how a job that was not answered ended. The job stays known until
// the end of the step, when it is deleted from the Router (the step's events not
// yet handled may still name it).
func (rn *runner) done(js *jobState, o outcome, t time.Time) {
	if js.phase == phaseWaiting && o != outcomeAnswered {
		r := &rn.records[js.rec]
		r.outcome = o
		r.wait = t.Sub(js.arrived)
	}
	js.phase = phaseDone
	rn.active--
}

// handle reacts to one event of the Router's.
func (rn *runner) handle(ev jobrouter.Event) error {
	switch e := ev.(type) {
	case jobrouter.OfferIssued:
		rn.offered(e)
	case jobrouter.OfferExpired:
		rn.countOffer(rn.jobs[e.JobID], rn.workers[e.WorkerID], func(c *offerCounts) { c.Expired++ })
	case jobrouter.OfferRevoked:
		rn.countOffer(rn.jobs[e.JobID], rn.workers[e.WorkerID], func(c *offerCounts) { c.Revoked++ })
	case jobrouter.WorkerDeregistered:
		// The simulator's own logouts clear registered first: this one is the
		// Router's, for an expired offer.
		if w := rn.workers[e.WorkerID]; w != nil && w.registered {
			w.registered = false
			rn.agenda.push(item{at: e.Time().Add(w.g.def.Behaviour.ReregisterAfter), kind: itemReregister, worker: w})
		}
	case jobrouter.JobQueued:
		js := rn.jobs[e.JobID]
		q := rn.queueIx[e.QueueID]
		if js == nil || q == nil || js.phase != phaseWaiting || js.queue == q {
			return nil
		}
		rn.leaveQueue(js, e.Time())
		q.length.add(e.Time(), 1)
		rn.waiting.add(e.Time(), 1)
		js.queue = q
		if r := &rn.records[js.rec]; r.queue < 0 {
			r.queue = int32(q.idx)
		}
	case jobrouter.JobCancelled:
		js := rn.jobs[e.JobID]
		if js == nil || js.byUs || js.phase == phaseDone {
			return nil
		}
		rn.leaveQueue(js, e.Time())
		rn.release(js, e.Time())
		rn.done(js, outcomeCancelled, e.Time())
		rn.deletable = append(rn.deletable, js.id)
	case jobrouter.JobClassificationFailed:
		if js := rn.jobs[e.JobID]; js != nil && js.phase == phaseWaiting {
			rn.done(js, outcomeFailed, e.Time())
		}
	case jobrouter.JobClosed:
		if js := rn.jobs[e.JobID]; js != nil && js.phase == phaseAssigned {
			rn.release(js, e.Time())
			rn.done(js, outcomeAnswered, e.Time())
			rn.deletable = append(rn.deletable, js.id)
		}
	case jobrouter.JobExceptionTriggered:
		if js := rn.jobs[e.JobID]; js != nil && js.inWindow {
			rn.exceptions[exceptionKey{e.QueueID, e.RuleID}]++
		}
	case jobrouter.JobWorkerSelectorsExpired:
		if js := rn.jobs[e.JobID]; js != nil && js.inWindow {
			rn.selectorExpiries++
		}
	}
	return nil
}

// countOffer counts an offer's fate for its job and, when the job is measured,
// for the worker's group.
func (rn *runner) countOffer(js *jobState, w *workerState, f func(*offerCounts)) {
	if js == nil {
		return
	}
	f(&rn.records[js.rec].offers)
	if w != nil && js.inWindow {
		f(&w.g.offers)
	}
}
