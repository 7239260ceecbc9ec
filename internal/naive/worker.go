package naive

import (
	"slices"
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// worker is a stored worker (writable fields and State) and what matching needs.
type worker struct {
	engine.Worker
	reg       uint64    // registration number: a new one each time it registers
	idleSince time.Time // creation, registration or last release of an assignment
	holds     []holding // assignments holding capacity, in assignment order
	offers    []*offer  // its open offers, in issue order (each also in Router.offers)
}

// holding is an assignment that holds capacity: assigned, or completed and not closed.
type holding struct {
	jobID, assignmentID, channelID string
	cost                           int
	assignedAt                     time.Time
}

// byID compares a worker's ID with id, for searching Router.byID.
func byID(w *worker, id string) int { return strings.Compare(w.ID, id) }

func (w *worker) listens(queueID string) bool { return slices.Contains(w.Queues, queueID) }

func (w *worker) channel(id string) (engine.ChannelConfig, bool) {
	for _, c := range w.Channels {
		if c.ChannelID == id {
			return c, true
		}
	}
	return engine.ChannelConfig{}, false
}

// workerOffers returns a copy of w's open offers in issue order, which the caller
// may revoke as it goes.
func (r *Router) workerOffers(w *worker) []*offer { return slices.Clone(w.offers) }

// used is the capacity w's open offers and held assignments take.
func (r *Router) used(w *worker) int {
	n := 0
	for _, o := range w.offers {
		n += o.CapacityCost
	}
	for _, h := range w.holds {
		n += h.cost
	}
	return n
}

// onChannel counts w's open offers and held assignments on a channel.
func (r *Router) onChannel(w *worker, channelID string) int {
	n := 0
	for _, o := range w.offers {
		if o.channelID == channelID {
			n++
		}
	}
	for _, h := range w.holds {
		if h.channelID == channelID {
			n++
		}
	}
	return n
}

// loadRatio is used capacity over capacity; a worker without capacity is at 1 when it
// holds anything, else at 0.
func (r *Router) loadRatio(w *worker) float64 {
	used := r.used(w)
	if w.Capacity <= 0 {
		if used > 0 {
			return 1
		}
		return 0
	}
	return float64(used) / float64(w.Capacity)
}

func (r *Router) workerView(w *worker) engine.Worker {
	v := w.Worker
	v.Queues = slices.Clone(w.Queues)
	v.Channels = slices.Clone(w.Channels)
	v.Offers = nil
	for _, o := range w.offers {
		v.Offers = append(v.Offers, o.Offer)
	}
	v.AssignedJobs = nil
	for _, h := range w.holds {
		v.AssignedJobs = append(v.AssignedJobs, engine.AssignedJob{AssignmentID: h.assignmentID, JobID: h.jobID, CapacityCost: h.cost, AssignedAt: h.assignedAt})
	}
	v.LoadRatio = r.loadRatio(w)
	return v
}

func (r *Router) validateWorker(w *engine.Worker) error {
	const ent = "worker"
	if err := r.validID(ent, w.ID); err != nil {
		return err
	}
	if w.Capacity < 0 {
		return invalid(ent, w.ID, "negative Capacity")
	}
	if w.MaxConcurrentOffers < 0 {
		return invalid(ent, w.ID, "negative MaxConcurrentOffers")
	}
	for i, c := range w.Channels {
		dup := slices.ContainsFunc(w.Channels[:i], func(x engine.ChannelConfig) bool { return x.ChannelID == c.ChannelID })
		if c.ChannelID == "" || dup || c.CapacityCostPerJob < 0 || c.MaxNumberOfJobs < 0 {
			return invalid(ent, w.ID, "bad channel "+c.ChannelID)
		}
	}
	for i, q := range w.Queues {
		if slices.Contains(w.Queues[:i], q) {
			return invalid(ent, w.ID, "queue "+q+" listed twice")
		}
		if _, ok := r.queues[q]; !ok {
			return &engine.Error{Code: engine.CodeNotFound, Entity: ent, ID: w.ID, Reason: "queue " + q + " not found"}
		}
	}
	l, err := withID(ent, w.ID, w.Labels)
	if err != nil {
		return err
	}
	w.Labels = l
	if err := labels.ValidateMap(w.Tags); err != nil {
		return invalid(ent, w.ID, "tags: "+err.Error())
	}
	w.Tags = labels.Clone(w.Tags)
	w.Queues = slices.Clone(w.Queues)
	w.Channels = slices.Clone(w.Channels)
	return nil
}

// UpsertWorker creates or replaces a worker. A new worker registers
// (WorkerRegistered) when AvailableForOffers, else it is inactive and unannounced.
// On an existing worker, false→true registers it again, true→false deregisters it
// (its offers revoked, then WorkerDeregistered), and changed properties are announced
// by WorkerUpdated (after the (de)registration). Open offers survive an update.
func (r *Router) UpsertWorker(now time.Time, in engine.Worker) (engine.Worker, error) {
	now = r.at(now)
	if err := r.validateWorker(&in); err != nil {
		return engine.Worker{}, err
	}
	in.State, in.Offers, in.AssignedJobs, in.LoadRatio = "", nil, nil, 0
	w, exists := r.workers[in.ID]
	if !exists {
		w = &worker{Worker: in, idleSince: now}
		r.workers[in.ID] = w
		i, _ := slices.BinarySearchFunc(r.byID, in.ID, byID)
		r.byID = slices.Insert(r.byID, i, w)
		if w.AvailableForOffers {
			r.register(now, w)
		} else {
			w.State = engine.WorkerInactive
		}
		r.match(now)
		return r.workerView(w), nil
	}
	old := w.Worker
	changed := changedProps(old, in)
	w.Worker = in
	w.State = old.State
	switch {
	case !old.AvailableForOffers && in.AvailableForOffers:
		r.register(now, w)
	case old.AvailableForOffers && !in.AvailableForOffers:
		r.deregister(now, w)
	}
	if len(changed) > 0 {
		r.emit(now, engine.Event{Type: engine.EvWorkerUpdated, WorkerID: w.ID, WorkerLabels: workerLabelSet(w.Labels), WorkerTags: w.Tags,
			Extra: &engine.EventExtra{Queues: w.Queues, Capacity: w.Capacity, Channels: w.Channels,
				MaxConcurrentOffers: w.MaxConcurrentOffers, UpdatedProperties: changed}})
	}
	r.match(now)
	return r.workerView(w), nil
}

func changedProps(a, b engine.Worker) []string {
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
	if !sameLabels(a.Labels, b.Labels) {
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

func (r *Router) register(now time.Time, w *worker) {
	r.regSeq++
	w.reg = r.regSeq
	w.State = engine.WorkerActive
	w.idleSince = now
	r.emit(now, engine.Event{Type: engine.EvWorkerRegistered, WorkerID: w.ID, WorkerLabels: workerLabelSet(w.Labels), WorkerTags: w.Tags,
		Extra: &engine.EventExtra{Queues: w.Queues, Capacity: w.Capacity, Channels: w.Channels, MaxConcurrentOffers: w.MaxConcurrentOffers}})
}

// deregister revokes w's offers, makes it draining (while it holds assignments) or
// inactive, and announces WorkerDeregistered.
func (r *Router) deregister(now time.Time, w *worker) {
	w.AvailableForOffers = false
	for _, o := range r.workerOffers(w) {
		r.revoke(now, o, "worker deregistered")
	}
	w.State = engine.WorkerInactive
	if len(w.holds) > 0 {
		w.State = engine.WorkerDraining
	}
	r.emit(now, engine.Event{Type: engine.EvWorkerDeregistered, WorkerID: w.ID})
}

// release ends a holding at t: its capacity is free, the worker's idle time starts
// again, and a draining worker left with nothing becomes inactive. A holding is
// named by its job and assignment (an assignment ID is unique only within its job).
func (r *Router) release(t time.Time, workerID, jobID, assignmentID string) {
	w := r.workers[workerID]
	if w == nil {
		return
	}
	w.holds = slices.DeleteFunc(w.holds, func(h holding) bool { return h.jobID == jobID && h.assignmentID == assignmentID })
	w.idleSince = t
	if w.State == engine.WorkerDraining && len(w.holds) == 0 {
		w.State = engine.WorkerInactive
	}
}

// GetWorker returns a worker with its read-only fields.
func (r *Router) GetWorker(id string) (engine.Worker, error) {
	w, ok := r.workers[id]
	if !ok {
		return engine.Worker{}, notFound("worker", id)
	}
	return r.workerView(w), nil
}

// ListWorkers returns the workers that pass f, sorted by ID.
func (r *Router) ListWorkers(f engine.WorkerFilter) []engine.Worker {
	var out []engine.Worker
	for _, id := range sortedKeys(r.workers) {
		w := r.workers[id]
		_, onChannel := w.channel(f.ChannelID)
		switch {
		case f.After != "" && id <= f.After,
			f.State != "" && w.State != f.State,
			f.QueueID != "" && !w.listens(f.QueueID),
			f.ChannelID != "" && !onChannel,
			f.HasCapacity && !r.hasCapacity(w, f.ChannelID):
			continue
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		out = append(out, r.workerView(w))
	}
	return out
}

// hasCapacity reports whether w could hold one more job on the channel (on any of its
// channels when channelID is empty), by capacity and MaxNumberOfJobs.
func (r *Router) hasCapacity(w *worker, channelID string) bool {
	for _, c := range w.Channels {
		if channelID != "" && c.ChannelID != channelID {
			continue
		}
		if w.Capacity-r.used(w) >= c.CapacityCostPerJob && (c.MaxNumberOfJobs == 0 || r.onChannel(w, c.ChannelID) < c.MaxNumberOfJobs) {
			return true
		}
	}
	return false
}

// DeleteWorker deletes a worker that holds no assignment: its offers are revoked,
// then WorkerDeleted.
func (r *Router) DeleteWorker(now time.Time, id string) error {
	now = r.at(now)
	w, ok := r.workers[id]
	if !ok {
		return notFound("worker", id)
	}
	if len(w.holds) > 0 {
		return conflict("worker", id, "it holds an assignment")
	}
	for _, o := range r.workerOffers(w) {
		r.revoke(now, o, "worker deleted")
	}
	delete(r.workers, id)
	if i, ok := slices.BinarySearchFunc(r.byID, id, byID); ok {
		r.byID = slices.Delete(r.byID, i, i+1)
	}
	r.emit(now, engine.Event{Type: engine.EvWorkerDeleted, WorkerID: id})
	r.match(now)
	return nil
}

// sameLabels reports whether two label maps hold the same keys with the same values
// of the same kind (1 and 1.0 are the same; "1" and 1 are not).
func sameLabels(a, b engine.Labels) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		x, ok := b[k]
		if !ok || !labels.Same(v, x) || !sameKind(v, x) {
			return false
		}
	}
	return true
}

func sameKind(a, b any) bool {
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

// workerLabelSet is a worker's labels as events carry them: a label set without
// "Id" (the event's WorkerID is the "Id"), made afresh for each event.
func workerLabelSet(l engine.Labels) *labels.Set { return labels.NewSet(l, "Id") }
