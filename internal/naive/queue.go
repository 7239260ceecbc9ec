package naive

import (
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// queue is a stored queue and its RoundRobin cursor.
type queue struct {
	engine.Queue
	// lastOffered is the last worker offered a job from this queue, whatever the
	// distribution mode then: RoundRobin starts after it (SEMANTICS.md).
	lastOffered string
}

// UpsertQueue creates or replaces a queue; its labels gain "Id" = ID. Replacing a
// queue keeps its RoundRobin cursor. There are no exception policies here, so any
// ExceptionPolicyID is not found.
func (r *Router) UpsertQueue(now time.Time, q engine.Queue) (engine.Queue, error) {
	r.at(now)
	const ent = "queue"
	if err := r.validID(ent, q.ID); err != nil {
		return engine.Queue{}, err
	}
	if q.DistributionPolicyID == "" {
		return engine.Queue{}, invalid(ent, q.ID, "a DistributionPolicyID is required")
	}
	if _, ok := r.policies[q.DistributionPolicyID]; !ok {
		return engine.Queue{}, &engine.Error{Code: engine.CodeNotFound, Entity: ent, ID: q.ID, Reason: "distribution policy not found"}
	}
	if q.ExceptionPolicyID != "" {
		return engine.Queue{}, &engine.Error{Code: engine.CodeNotFound, Entity: ent, ID: q.ID, Reason: "exception policy not found"}
	}
	l, err := withID(ent, q.ID, q.Labels)
	if err != nil {
		return engine.Queue{}, err
	}
	q.Labels = l
	if old, ok := r.queues[q.ID]; ok {
		old.Queue = q
	} else {
		r.queues[q.ID] = &queue{Queue: q}
	}
	r.match(r.now)
	return q, nil
}

// withID validates l and returns a copy holding "Id" = id; a caller's "Id" label
// must equal id.
func withID(entity, id string, l engine.Labels) (engine.Labels, error) {
	if err := labels.ValidateMap(l); err != nil {
		return nil, invalid(entity, id, err.Error())
	}
	if v, ok := l["Id"]; ok && !labels.Same(v, id) {
		return nil, invalid(entity, id, `label "Id" must equal the ID`)
	}
	c := engine.Labels{"Id": id}
	for k, v := range l {
		if k != "Id" {
			c[k] = v
		}
	}
	return c, nil
}

// GetQueue returns a queue.
func (r *Router) GetQueue(id string) (engine.Queue, error) {
	q, ok := r.queues[id]
	if !ok {
		return engine.Queue{}, notFound("queue", id)
	}
	return q.Queue, nil
}

// ListQueues returns queues sorted by ID.
func (r *Router) ListQueues(pg engine.Page) []engine.Queue {
	var out []engine.Queue
	for _, id := range pageIDs(sortedKeys(r.queues), pg.After, pg.Limit) {
		out = append(out, r.queues[id].Queue)
	}
	return out
}

// DeleteQueue deletes a queue that no worker listens on and no active job is in.
func (r *Router) DeleteQueue(now time.Time, id string) error {
	r.at(now)
	if _, ok := r.queues[id]; !ok {
		return notFound("queue", id)
	}
	for _, w := range r.byID { // in ID order: the error names the first
		if w.listens(id) {
			return conflict("queue", id, "worker "+w.ID+" listens on it")
		}
	}
	for _, jid := range sortedKeys(r.open) {
		if j := r.open[jid]; j.QueueID == id {
			return conflict("queue", id, "active job "+j.ID+" is in it")
		}
	}
	delete(r.queues, id)
	return nil
}
