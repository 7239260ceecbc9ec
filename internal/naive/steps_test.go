package naive_test

import (
	"strconv"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// The differential test's steps: one random command or time move each.

func (d *diff) randomStep() {
	r := d.rng
	switch n := r.IntN(100); {
	case n < 14:
		d.moveTime()
	case n < 30:
		d.createJob()
	case n < 36:
		d.updateJob()
	case n < 56 && len(d.openOffers()) == 0 && !d.chance(4):
		// Nothing to accept or decline: make something to offer.
		if d.chance(2) {
			d.createJob()
		} else {
			d.upsertWorker(pick(r, workerIDs), true)
		}
	case n < 48:
		wid, oid := d.someOffer()
		now := d.cmdTime()
		d.both(cmd("AcceptOffer worker=%s offer=%s", wid, oid),
			func() (any, error) { j, a, err := d.e.AcceptOffer(now, wid, oid); return [2]string{j, a}, err },
			func() (any, error) { j, a, err := d.n.AcceptOffer(now, wid, oid); return [2]string{j, a}, err })
	case n >= 56 && n < 76 && len(d.jobs(status(engine.JobAssigned, engine.JobCompleted))) == 0 && !d.chance(4):
		// Nothing held to complete, close or unassign: accept something.
		if offers := d.openOffers(); len(offers) > 0 {
			o := pick(r, offers)
			now := d.cmdTime()
			d.both(cmd("AcceptOffer worker=%s offer=%s", o.WorkerID, o.ID),
				func() (any, error) { j, a, err := d.e.AcceptOffer(now, o.WorkerID, o.ID); return [2]string{j, a}, err },
				func() (any, error) { j, a, err := d.n.AcceptOffer(now, o.WorkerID, o.ID); return [2]string{j, a}, err })
		} else {
			d.createJob()
		}
	case n < 56:
		wid, oid := d.someOffer()
		var retry time.Time
		switch r.IntN(10) {
		case 0:
			retry = d.now.Add(-10 * time.Second)
		case 1:
			retry = d.now
		case 2, 3, 4, 5:
			retry = d.now.Add(time.Duration(10+r.IntN(80)) * time.Second)
		case 6:
			retry = d.now.Add(5 * time.Hour)
		}
		now := d.cmdTime()
		d.both(cmd("DeclineOffer worker=%s offer=%s retryAt=%v", wid, oid, sinceT0(retry)),
			func() (any, error) { return nil, d.e.DeclineOffer(now, wid, oid, retry) },
			func() (any, error) { return nil, d.n.DeclineOffer(now, wid, oid, retry) })
	case n < 61:
		id := d.someJobID(status(engine.JobAssigned))
		aid := d.currentAssignment(id)
		note := pick(r, []string{"", "done"})
		now := d.cmdTime()
		d.both(cmd("CompleteJob job=%s assignment=%s note=%q", id, aid, note),
			func() (any, error) { return nil, d.e.CompleteJob(now, id, aid, note) },
			func() (any, error) { return nil, d.n.CompleteJob(now, id, aid, note) })
	case n < 67:
		id := d.someJobID(status(engine.JobAssigned, engine.JobCompleted))
		aid := d.currentAssignment(id)
		code, note := pick(r, []string{"", "Resolved"}), pick(r, []string{"", "bye"})
		var closeAt time.Time
		switch r.IntN(10) {
		case 0:
			closeAt = d.now.Add(-time.Minute)
		case 1:
			closeAt = d.now
		case 2, 3, 4, 5:
			closeAt = d.now.Add(time.Duration(5+r.IntN(120)) * time.Second)
		}
		now := d.cmdTime()
		d.both(cmd("CloseJob job=%s assignment=%s code=%q note=%q closeAt=%v", id, aid, code, note, sinceT0(closeAt)),
			func() (any, error) { return nil, d.e.CloseJob(now, id, aid, code, note, closeAt) },
			func() (any, error) { return nil, d.n.CloseJob(now, id, aid, code, note, closeAt) })
	case n < 70:
		id := d.someJobID(func(j engine.Job) bool { return !j.Status.Terminal() })
		code, note := pick(r, []string{"", "Abandoned"}), pick(r, []string{"", "gone"})
		now := d.cmdTime()
		d.both(cmd("CancelJob job=%s code=%q note=%q", id, code, note),
			func() (any, error) { return nil, d.e.CancelJob(now, id, code, note) },
			func() (any, error) { return nil, d.n.CancelJob(now, id, code, note) })
	case n < 76:
		id := d.someJobID(status(engine.JobAssigned))
		aid := d.currentAssignment(id)
		suspend := d.chance(3)
		now := d.cmdTime()
		d.both(cmd("UnassignJob job=%s assignment=%s suspend=%v", id, aid, suspend),
			func() (any, error) { return d.e.UnassignJob(now, id, aid, suspend) },
			func() (any, error) { return d.n.UnassignJob(now, id, aid, suspend) })
	case n < 78:
		id := d.someJobID(func(j engine.Job) bool { return j.Status.Terminal() })
		now := d.cmdTime()
		d.both(cmd("DeleteJob %s", id),
			func() (any, error) { return nil, d.e.DeleteJob(now, id) },
			func() (any, error) { return nil, d.n.DeleteJob(now, id) })
	case n < 84:
		d.upsertWorker(pick(r, workerIDs), !d.chance(10))
	case n < 85:
		id := pick(r, append(workerIDs, "w-none"))
		now := d.cmdTime()
		d.both(cmd("DeleteWorker %s", id),
			func() (any, error) { return nil, d.e.DeleteWorker(now, id) },
			func() (any, error) { return nil, d.n.DeleteWorker(now, id) })
	case n < 86:
		q := pick(r, queueIDs)
		d.upsertQueue(q, d.policyFor(q), !d.chance(4))
	case n < 87:
		id := pick(r, append(queueIDs, "q-none"))
		now := d.cmdTime()
		d.both(cmd("DeleteQueue %s", id),
			func() (any, error) { return nil, d.e.DeleteQueue(now, id) },
			func() (any, error) { return nil, d.n.DeleteQueue(now, id) })
	case n < 89:
		id := pick(r, policyIDs)
		kind := map[string]engine.ModeKind{"p-rr": engine.RoundRobin, "p-best": engine.BestWorker, "p-idle": engine.LongestIdle}[id]
		switch {
		case !d.chance(4):
		case modeChangesToRoundRobin:
			kind = pick(r, []engine.ModeKind{engine.RoundRobin, engine.BestWorker, engine.LongestIdle})
		case kind != engine.RoundRobin:
			kind = pick(r, []engine.ModeKind{engine.BestWorker, engine.LongestIdle})
		}
		d.upsertPolicy(id, kind, !d.chance(5))
	case n < 90:
		id := pick(r, append(policyIDs, "p-none"))
		now := d.cmdTime()
		d.both(cmd("DeleteDistributionPolicy %s", id),
			func() (any, error) { return nil, d.e.DeleteDistributionPolicy(now, id) },
			func() (any, error) { return nil, d.n.DeleteDistributionPolicy(now, id) })
	default:
		d.read()
	}
}

// read runs a query on both sides: gets of present and absent entities and filtered,
// paged lists.
func (d *diff) read() {
	r := d.rng
	switch r.IntN(8) {
	case 0:
		id := d.someJobID(nil)
		d.both(cmd("GetJob %s", id), func() (any, error) { return d.e.GetJob(id) }, func() (any, error) { return d.n.GetJob(id) })
	case 1:
		id := pick(r, append(workerIDs, "w-none"))
		d.both(cmd("GetWorker %s", id), func() (any, error) { return d.e.GetWorker(id) }, func() (any, error) { return d.n.GetWorker(id) })
	case 2:
		id := pick(r, append(queueIDs, "q-none"))
		d.both(cmd("GetQueue %s", id), func() (any, error) { return d.e.GetQueue(id) }, func() (any, error) { return d.n.GetQueue(id) })
	case 3:
		id := pick(r, append(policyIDs, "p-none"))
		d.both(cmd("GetDistributionPolicy %s", id),
			func() (any, error) { p, err := d.e.GetDistributionPolicy(id); return viewPolicy(p), err },
			func() (any, error) { p, err := d.n.GetDistributionPolicy(id); return viewPolicy(p), err })
	case 4, 5:
		f := engine.JobFilter{Limit: pick(r, []int{0, 0, 1, 3})}
		switch r.IntN(8) {
		case 0:
			f.Status = pick(r, []engine.JobStatus{engine.JobQueued, engine.JobAssigned, engine.JobCompleted, engine.JobClosed,
				engine.JobCancelled, engine.JobScheduled, engine.JobWaitingForActivation})
		case 1:
			f.Active = true
		case 2:
			f.QueueID = pick(r, queueIDs)
		case 3:
			f.ChannelID = pick(r, channels)
		case 4:
			f.ScheduledBefore = d.now.Add(time.Minute)
		case 5:
			f.ScheduledAfter = d.now
		case 6:
			f.After = "j" + strconv.Itoa(r.IntN(20))
		case 7:
			f.ClassificationPolicyID = "cp"
		}
		d.both(cmd("ListJobs %+v", f),
			func() (any, error) { return d.e.ListJobs(f), nil }, func() (any, error) { return d.n.ListJobs(f), nil })
	case 6:
		f := engine.WorkerFilter{Limit: pick(r, []int{0, 0, 1, 2})}
		switch r.IntN(6) {
		case 0:
			f.State = pick(r, []engine.WorkerState{engine.WorkerActive, engine.WorkerDraining, engine.WorkerInactive})
		case 1:
			f.ChannelID = pick(r, channels)
		case 2:
			f.QueueID = pick(r, queueIDs)
		case 3:
			f.HasCapacity = true
		case 4:
			f.HasCapacity, f.ChannelID = true, pick(r, channels)
		case 5:
			f.After = pick(r, workerIDs)
		}
		d.both(cmd("ListWorkers %+v", f),
			func() (any, error) { return d.e.ListWorkers(f), nil }, func() (any, error) { return d.n.ListWorkers(f), nil })
	case 7:
		pg := engine.Page{After: pick(r, []string{"", "p-best", "q1"}), Limit: pick(r, []int{0, 1})}
		d.both(cmd("ListQueues+ListDistributionPolicies %+v", pg),
			func() (any, error) {
				return []any{d.e.ListQueues(pg), viewPolicies(d.e.ListDistributionPolicies(pg))}, nil
			},
			func() (any, error) {
				return []any{d.n.ListQueues(pg), viewPolicies(d.n.ListDistributionPolicies(pg))}, nil
			})
	}
}

// moveTime advances both sides: onto the next deadline, just before or just after
// it, by a few seconds, or by hours.
func (d *diff) moveTime() {
	r := d.rng
	next, ok := d.e.NextDeadline()
	if ok && next.Sub(d.now) > 2*time.Hour && !d.chance(4) {
		ok = false // mostly stay near the present
	}
	var to time.Time
	switch n := r.IntN(40); {
	case ok && n < 12:
		to = next
	case ok && n < 16:
		to = next.Add(-time.Nanosecond)
	case ok && n < 20:
		to = next.Add(time.Nanosecond)
	case n < 32:
		to = d.now.Add(time.Duration(r.IntN(20)) * time.Second)
	case n < 38:
		to = d.now.Add(time.Duration(20+r.IntN(100)) * time.Second)
	default:
		to = d.now.Add(time.Duration(1+r.IntN(3)) * time.Hour)
	}
	if to.Before(d.now) {
		to = d.now
	}
	if ok && to.Equal(next) && d.chance(3) {
		d.atExpiryBeforeAdvance(next)
	}
	d.now = to
	d.both(cmd("Advance"),
		func() (any, error) { d.e.Advance(to); return nil, nil },
		func() (any, error) { d.n.Advance(to); return nil, nil })
}

// atExpiryBeforeAdvance moves the clock onto an offer's ExpiresAt and, before the
// routers are advanced (before the timer fires), accepts or declines that offer: it
// is closed from that instant on whether or not its expiry has fired.
func (d *diff) atExpiryBeforeAdvance(at time.Time) {
	for _, o := range d.openOffers() {
		if !o.ExpiresAt.Equal(at) {
			continue
		}
		d.now = at
		if d.chance(2) {
			d.both(cmd("AcceptOffer (at its ExpiresAt, before Advance) worker=%s offer=%s", o.WorkerID, o.ID),
				func() (any, error) { j, a, err := d.e.AcceptOffer(at, o.WorkerID, o.ID); return [2]string{j, a}, err },
				func() (any, error) { j, a, err := d.n.AcceptOffer(at, o.WorkerID, o.ID); return [2]string{j, a}, err })
		} else {
			d.both(cmd("DeclineOffer (at its ExpiresAt, before Advance) worker=%s offer=%s", o.WorkerID, o.ID),
				func() (any, error) { return nil, d.e.DeclineOffer(at, o.WorkerID, o.ID, time.Time{}) },
				func() (any, error) { return nil, d.n.DeclineOffer(at, o.WorkerID, o.ID, time.Time{}) })
		}
		return
	}
}

// sinceT0 formats a time for the log as an offset from the start.
type sinceT0 time.Time

func (t sinceT0) String() string {
	if time.Time(t).IsZero() {
		return "zero"
	}
	return "+" + time.Time(t).Sub(diffT0).String()
}
