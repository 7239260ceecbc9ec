package engine

import (
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// workerState is a stored worker and its matching state. It holds the caller's
// fields of Worker, its labels interned (labelset.go: a pointer to a set that
// workers with equal labels share, without "Id"), and none of Worker's read-only
// fields, which view computes. Its state is one byte (workerPhase), and fields are
// ordered so that the struct pads only its last 4 bytes: 256 bytes, a size class of its own
// (344 bytes, in the 352-byte class, when it embedded Worker with its own label map
// and its State as a string). Its open offers and holdings, two chains, their two
// 32-bit counts and the pointer to their index take the 48 bytes that two slices
// took (TestWorkerStructsFitTheirSizeClasses).
type workerState struct {
	ID                  string
	Queues              []string
	Channels            []ChannelConfig
	Tags                Labels
	labels              *labelSet // interned labels, without "Id"
	Capacity            int
	MaxConcurrentOffers int    // 0: no limit
	reg                 uint64 // registration number: a new one each time the worker registers
	idleSince           time.Time
	offers              chain[offerState, workerOffers] // open offers, in issue order
	holds               chain[holding, heldJobs]        // assignments holding capacity, in assignment order
	nOffers, nHolds     int32                           // their lengths (a worker holds far fewer than 2^31)
	many                *workerIndex                    // nil unless it holds many (workerindex.go)
	used                int                             // capacity used by offers and holdings

	// Matching indexes (matchindex.go).
	classes            []*workerClass // its class in each queue it listens on
	ikey               wkey           // its key in its classes' free trees, when inFree
	dirty              uint64         // the pass for which it is in Engine.dirtyWorkers
	AvailableForOffers bool
	state              workerPhase // State
	inFree             bool        // in its classes' free trees, at ikey
	gone               bool        // deleted: no index may take it back
	rank               uint32      // orders as ID does, ties aside (rank.go)
}

// workerPhase is a worker's State in a byte.
type workerPhase uint8

const (
	phaseInactive workerPhase = iota // WorkerInactive
	phaseActive                      // WorkerActive
	phaseDraining                    // WorkerDraining
)

// State returns the phase as a WorkerState.
func (p workerPhase) State() WorkerState {
	switch p {
	case phaseActive:
		return WorkerActive
	case phaseDraining:
		return WorkerDraining
	}
	return WorkerInactive
}

// holding is an assignment that holds a worker's capacity: the job is assigned, or
// completed and not yet closed. 96 bytes.
type holding struct {
	links[holding] // its place among its worker's holdings (workerindex.go)
	jobID          string
	assignmentID   string
	channelID      string
	cost           int
	assignedAt     time.Time
}

// maxSpareHolds bounds Engine.spareHolds: enough for the holdings that a busy
// router releases between two accepts, few enough that a router that once held a
// million keeps under 100 KB of them.
const maxSpareHolds = 1024

// newHolding returns a record holding h: a released one when the engine keeps any
// (Engine.spareHolds), so that an accept that follows a release allocates none
// (the spare records are the engine's, not a worker's), else a new one. O(1).
func (e *Engine) newHolding(h holding) *holding {
	x := e.spareHolds.Get()
	*x = h
	return x
}

// freeHolding keeps h, out of every chain, for newHolding, unless enough are kept.
func (e *Engine) freeHolding(h *holding) { e.spareHolds.Put(h, maxSpareHolds) }

func (w *workerState) channel(id string) (ChannelConfig, bool) {
	for _, c := range w.Channels {
		if c.ChannelID == id {
			return c, true
		}
	}
	return ChannelConfig{}, false
}

func (w *workerState) loadRatio() float64 {
	if w.Capacity <= 0 {
		if w.used > 0 {
			return 1
		}
		return 0
	}
	return float64(w.used) / float64(w.Capacity)
}

// view returns a copy of the worker with its read-only fields filled, and its labels
// as a new map with "Id": its open offers in issue order and its assigned jobs in
// assignment order. Its Queues, Labels, Offers and AssignedJobs are fresh, shared
// with nothing (the public shell adopts the Queues and Labels); its Tags and
// Channels are the worker's own, which must not be written to (the engine replaces
// them whole on an update; the shell converts them). O(labels + offers + holdings).
func (w *workerState) view() Worker {
	v := Worker{ID: w.ID, Queues: slices.Clone(w.Queues), Capacity: w.Capacity,
		Channels: w.Channels, Labels: WorkerLabelMap(&w.labels.Set, w.ID), Tags: w.Tags,
		AvailableForOffers: w.AvailableForOffers, MaxConcurrentOffers: w.MaxConcurrentOffers, State: w.state.State()}
	if w.nOffers > 0 {
		v.Offers = make([]Offer, 0, w.nOffers)
		for o := w.offers.first; o != nil; o = o.next {
			v.Offers = append(v.Offers, o.offer())
		}
	}
	if w.nHolds > 0 {
		v.AssignedJobs = make([]AssignedJob, 0, w.nHolds)
		for h := w.holds.first; h != nil; h = h.next {
			v.AssignedJobs = append(v.AssignedJobs, AssignedJob{AssignmentID: h.assignmentID, JobID: h.jobID, CapacityCost: h.cost, AssignedAt: h.assignedAt})
		}
	}
	v.LoadRatio = w.loadRatio()
	return v
}

// validateWorker checks everything about w that does not depend on its old state.
func (e *Engine) validateWorker(w *Worker) error {
	const ent = "worker"
	if err := e.validID(ent, w.ID); err != nil {
		return err
	}
	if w.Capacity < 0 {
		return invalid(ent, w.ID, "Capacity must not be negative")
	}
	if w.MaxConcurrentOffers < 0 {
		return invalid(ent, w.ID, "MaxConcurrentOffers must not be negative")
	}
	seen := map[string]bool{}
	for _, c := range w.Channels {
		switch {
		case c.ChannelID == "":
			return invalid(ent, w.ID, "a channel has an empty ChannelID")
		case seen[c.ChannelID]:
			return invalid(ent, w.ID, "channel "+quote(c.ChannelID)+" is listed twice")
		case c.CapacityCostPerJob < 0:
			return invalid(ent, w.ID, "channel "+quote(c.ChannelID)+": CapacityCostPerJob must not be negative")
		case c.MaxNumberOfJobs < 0:
			return invalid(ent, w.ID, "channel "+quote(c.ChannelID)+": MaxNumberOfJobs must not be negative")
		}
		seen[c.ChannelID] = true
	}
	clear(seen)
	for _, q := range w.Queues {
		if seen[q] {
			return invalid(ent, w.ID, "queue "+quote(q)+" is listed twice")
		}
		seen[q] = true
		if _, ok := e.queues[q]; !ok {
			return &Error{Code: CodeNotFound, Entity: ent, ID: w.ID, Reason: "queue " + quote(q) + " not found"}
		}
	}
	if err := checkLabels(ent, w.ID, w.Labels); err != nil {
		return err
	}
	if err := labels.ValidateMap(w.Tags); err != nil {
		return invalid(ent, w.ID, "tags: "+err.Error())
	}
	w.Tags = labels.Clone(w.Tags)
	w.Queues = slices.Clone(w.Queues)
	w.Channels = slices.Clone(w.Channels)
	return nil
}

// UpsertWorker creates or replaces a worker.
//
// A new worker is active and announced by WorkerRegistered when AvailableForOffers,
// else inactive (and not announced). On an existing worker, AvailableForOffers
// false→true registers it again (WorkerRegistered; it forgets every decline it made
// without a RetryOfferAt), true→false deregisters it (its open offers are revoked,
// then WorkerDeregistered; it drains while it holds assignments), and any other
// change is announced by WorkerUpdated with the changed property names.
// **(ours)** Updating a worker does not revoke its open offers: eligibility applies
// to the offers made from then on.
// Errors: CodeInvalid, CodeNotFound (a queue).
func (e *Engine) UpsertWorker(now time.Time, in Worker) (Worker, error) {
	now = e.at(now)
	if err := e.validateWorker(&in); err != nil {
		return Worker{}, err
	}
	w, exists := e.workers[in.ID]
	if !exists {
		w = &workerState{idleSince: now}
		w.store(in, e.internLabels(in.Labels))
		e.workers[in.ID] = w
		e.workerIDs.insert(in.ID)
		e.rankWorker(w)
		e.listen(w, nil, w.Queues)
		if w.AvailableForOffers {
			e.register(now, w)
		} else {
			w.state = phaseInactive
		}
		e.placeWorker(w, false)
		e.gainWorker(w)
		e.match(now)
		return w.view(), nil
	}
	oldQueues, oldLabels := w.Queues, w.labels
	newLabels := e.reinternLabels(oldLabels, in.Labels)
	changed := changedProps(w, in, newLabels)
	wasAvailable := w.AvailableForOffers
	w.store(in, newLabels)
	e.listen(w, oldQueues, w.Queues)
	switch {
	case !wasAvailable && w.AvailableForOffers:
		e.register(now, w)
		if len(changed) > 0 {
			e.emitWorkerUpdated(now, w, changed)
		}
	case wasAvailable && !w.AvailableForOffers:
		e.deregister(now, w)
		if len(changed) > 0 {
			e.emitWorkerUpdated(now, w, changed)
		}
	case len(changed) > 0:
		e.emitWorkerUpdated(now, w, changed)
	}
	e.placeWorker(w, false)
	// After placeWorker: a class keyed by the old set has let go of w by now.
	e.releaseLabels(oldLabels)
	e.gainWorker(w)
	e.match(now)
	return w.view(), nil
}

// store sets w's caller fields from in (validated), with its interned labels l.
func (w *workerState) store(in Worker, l *labelSet) {
	w.ID = in.ID
	w.Queues = in.Queues
	w.Channels = in.Channels
	w.Tags = in.Tags
	w.labels = l
	w.Capacity = in.Capacity
	w.MaxConcurrentOffers = in.MaxConcurrentOffers
	w.AvailableForOffers = in.AvailableForOffers
}

func (e *Engine) register(now time.Time, w *workerState) {
	e.regSeq++
	w.reg = e.regSeq
	w.state = phaseActive
	w.idleSince = now
	e.emitWith(now, Event{Type: EvWorkerRegistered, WorkerID: w.ID, WorkerLabels: &w.labels.Set, WorkerTags: w.Tags},
		&EventExtra{Queues: w.Queues, Capacity: w.Capacity, Channels: w.Channels, MaxConcurrentOffers: w.MaxConcurrentOffers})
}

// deregister makes w unavailable: its offers are revoked, it drains while it holds
// assignments, and WorkerDeregistered is announced.
func (e *Engine) deregister(now time.Time, w *workerState) {
	w.AvailableForOffers = false
	e.revokeWorkerOffers(now, w, "worker deregistered")
	w.state = phaseInactive
	if w.nHolds > 0 {
		w.state = phaseDraining
	}
	e.emit(now, Event{Type: EvWorkerDeregistered, WorkerID: w.ID})
	e.refreshWorker(w)
}

func (e *Engine) emitWorkerUpdated(now time.Time, w *workerState, changed []string) {
	e.emitWith(now, Event{Type: EvWorkerUpdated, WorkerID: w.ID, WorkerLabels: &w.labels.Set, WorkerTags: w.Tags},
		&EventExtra{Queues: w.Queues, Capacity: w.Capacity, Channels: w.Channels,
			MaxConcurrentOffers: w.MaxConcurrentOffers, UpdatedProperties: changed})
}

// changedProps names the properties of w that in, with the labels l, changes.
func changedProps(a *workerState, b Worker, l *labelSet) []string {
	var out []string
	if !slices.Equal(a.Queues, b.Queues) {
		out = append(out, "queues")
	}
	if a.Capacity != b.Capacity {
		out = append(out, "capacity")
	}
	if !slices.Equal(a.Channels, b.Channels) {
		out = append(out, "channels")
	}
	if !sameSets(a.labels, l) {
		out = append(out, "labels")
	}
	if !sameLabels(a.Tags, b.Tags) {
		out = append(out, "tags")
	}
	if a.MaxConcurrentOffers != b.MaxConcurrentOffers {
		out = append(out, "maxConcurrentOffers")
	}
	return out
}

func sameLabels(a, b Labels) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !sameValue(v, w) {
			return false
		}
	}
	return true
}

// sameValue reports whether a label value is unchanged: labels.Same treats 1 and 1.0
// alike (a number for a number of another Go type is no change, as README's
// decisions say); a change of kind — string, bool, number — is still a change.
func sameValue(v, w any) bool { return labels.Same(v, w) && sameType(v, w) }

// sameSets is sameLabels for label sets. O(labels).
func sameSets(a, b *labelSet) bool {
	if a == b {
		return true
	}
	x, y := a.Pairs(), b.Pairs()
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i].Key != y[i].Key || !sameValue(x[i].Value, y[i].Value) {
			return false
		}
	}
	return true
}

func sameType(a, b any) bool {
	switch a.(type) {
	case string:
		_, ok := b.(string)
		return ok
	case bool:
		_, ok := b.(bool)
		return ok
	}
	return labels.IsNumber(b)
}

// listen moves w's queue memberships from old to new.
func (e *Engine) listen(w *workerState, old, new []string) {
	for _, q := range old {
		if !slices.Contains(new, q) {
			if qs := e.queues[q]; qs != nil {
				qs.removeListener(w)
			}
		}
	}
	for _, q := range new {
		if !slices.Contains(old, q) { // a queue it already listens on: nothing to do
			e.queues[q].addListener(w)
		}
	}
}

// GetWorker returns a worker with its read-only fields. Errors: CodeNotFound.
func (e *Engine) GetWorker(id string) (Worker, error) {
	w, ok := e.workers[id]
	if !ok {
		return Worker{}, notFound("worker", id)
	}
	return w.view(), nil
}

// ListWorkers returns the workers that pass f, sorted by ID: those after f.After, at
// most f.Limit of them (every one when Limit is 0). O(log n + scanned), where scanned
// counts the workers visited, those the filter skips included.
func (e *Engine) ListWorkers(f WorkerFilter) []Worker {
	var out []Worker
	e.workerIDs.ascendAfter(f.After, func(id string) bool {
		w := e.workers[id]
		if w == nil ||
			f.State != "" && w.state.State() != f.State ||
			f.QueueID != "" && !slices.Contains(w.Queues, f.QueueID) ||
			f.HasCapacity && !w.hasCapacity(f.ChannelID) {
			return true
		}
		if f.ChannelID != "" {
			if _, ok := w.channel(f.ChannelID); !ok {
				return true
			}
		}
		out = append(out, w.view())
		return f.Limit <= 0 || len(out) < f.Limit
	})
	return out
}

// hasCapacity reports whether w could hold one more job on channel (any channel
// when channel is empty), by capacity and MaxNumberOfJobs. O(channels).
func (w *workerState) hasCapacity(channel string) bool {
	for _, c := range w.Channels {
		if channel != "" && c.ChannelID != channel {
			continue
		}
		if w.Capacity-w.used >= c.CapacityCostPerJob && (c.MaxNumberOfJobs == 0 || w.onChannel(c.ChannelID) < c.MaxNumberOfJobs) {
			return true
		}
	}
	return false
}

// DeleteWorker deletes a worker that holds no assignment (completed jobs not yet
// closed count). Its open offers are revoked, then WorkerDeleted is announced.
// Errors: CodeNotFound, CodeConflict.
func (e *Engine) DeleteWorker(now time.Time, id string) error {
	now = e.at(now)
	w, ok := e.workers[id]
	if !ok {
		return notFound("worker", id)
	}
	if w.holds.first != nil {
		return conflict("worker", id, "it holds the assignment of job "+quote(w.holds.first.jobID))
	}
	e.revokeWorkerOffers(now, w, "worker deleted")
	w.gone = true
	e.placeWorker(w, true)
	e.listen(w, w.Queues, nil)
	e.releaseLabels(w.labels)
	delete(e.workers, id)
	e.workerIDs.remove(id)
	e.emit(now, Event{Type: EvWorkerDeleted, WorkerID: id})
	e.match(now)
	return nil
}

// release frees a holding's capacity at time t. The worker's idle time restarts,
// and a draining worker with nothing left becomes inactive. A holding is named by
// its job and assignment: an assignment ID is unique only within its job (a
// repeated NewID), and a worker may hold two jobs' assignments of the same ID.
// O(1) (holdingOf), plus the free-tree updates.
func (e *Engine) release(t time.Time, workerID, jobID, assignmentID string) {
	w := e.workers[workerID]
	if w == nil {
		return
	}
	if h := w.holdingOf(jobID, assignmentID); h != nil {
		w.used -= h.cost
		e.unlinkHolding(w, h)
		e.freeHolding(h)
	}
	w.idleSince = t
	if w.state == phaseDraining && w.nHolds == 0 {
		w.state = phaseInactive
	}
	e.gainWorker(w)
}
