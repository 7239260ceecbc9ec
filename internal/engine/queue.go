package engine

import (
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// queueState is a stored queue and its matching state.
type queueState struct {
	Queue
	workers *workerTree         // workers listening on the queue, by ID
	rrLast  string              // RoundRobin: the last worker offered a job from this queue
	pol     *DistributionPolicy // e.policies[DistributionPolicyID], kept current

	// Matching indexes (matchindex.go).
	order       queueOrder                // queued jobs, in queue order (counted)
	free        *workerTree               // offerable listeners, LongestIdle order
	freeByID    *workerTree               // offerable listeners, by ID; RoundRobin only (syncByID)
	classTrees  bool                      // its classes keep free trees (ensureClassTrees)
	classes     map[classSig]*workerClass // worker classes by signature
	classList   []*workerClass            // the same, in creation order
	groups      map[string]*jobGroup      // job groups by signature
	groupList   []*jobGroup               // the same, in creation order
	emptyGroups int                       // groups in groupList without jobs

	served *serviceLog // its latest assignment times (stats.go); nil before the first
}

// UpsertQueue creates or replaces a queue. Its Labels gain "Id" = ID.
// Errors: CodeInvalid, CodeNotFound (distribution or exception policy).
func (e *Engine) UpsertQueue(now time.Time, q Queue) (Queue, error) {
	e.at(now)
	const ent = "queue"
	if err := e.validID(ent, q.ID); err != nil {
		return Queue{}, err
	}
	if q.DistributionPolicyID == "" {
		return Queue{}, invalid(ent, q.ID, "a DistributionPolicyID is required")
	}
	if _, ok := e.policies[q.DistributionPolicyID]; !ok {
		return Queue{}, &Error{Code: CodeNotFound, Entity: ent, ID: q.ID, Reason: "distribution policy " + quote(q.DistributionPolicyID) + " not found"}
	}
	if q.ExceptionPolicyID != "" {
		if _, ok := e.excPolicies[q.ExceptionPolicyID]; !ok {
			return Queue{}, &Error{Code: CodeNotFound, Entity: ent, ID: q.ID, Reason: "exception policy " + quote(q.ExceptionPolicyID) + " not found"}
		}
	}
	lbl, err := withID(ent, q.ID, q.Labels)
	if err != nil {
		return Queue{}, err
	}
	q.Labels = lbl
	if qs, ok := e.queues[q.ID]; ok {
		qs.Queue = q
		qs.pol = e.policies[q.DistributionPolicyID]
		syncByID(qs)
		e.rebuildQueue(qs)
	} else {
		qs := &queueState{Queue: q, pol: e.policies[q.DistributionPolicyID], order: newQueueOrder(),
			workers: newWorkerTree(lessID), free: newWorkerTree(lessIdle)}
		syncByID(qs)
		e.queues[q.ID] = qs
	}
	e.match(e.now)
	return q, nil
}

// checkLabels validates l, in which a caller's "Id" label must equal id.
func checkLabels(entity, id string, l Labels) error {
	if err := labels.ValidateMap(l); err != nil {
		return invalid(entity, id, err.Error())
	}
	if v, ok := l["Id"]; ok && !labels.Same(v, id) {
		return invalid(entity, id, `label "Id" is reserved and always equals the ID`)
	}
	return nil
}

// withID validates l and returns a copy holding "Id" = id.
func withID(entity, id string, l Labels) (Labels, error) {
	if err := checkLabels(entity, id, l); err != nil {
		return nil, err
	}
	c := make(Labels, len(l)+1)
	for k, v := range l {
		c[k] = v
	}
	c["Id"] = id
	return c, nil
}

// GetQueue returns a queue. Errors: CodeNotFound.
func (e *Engine) GetQueue(id string) (Queue, error) {
	q, ok := e.queues[id]
	if !ok {
		return Queue{}, notFound("queue", id)
	}
	return q.Queue, nil
}

// ListQueues returns queues sorted by ID. O(n log n).
func (e *Engine) ListQueues(pg Page) []Queue {
	return listPage(e.queues, pg, func(q *queueState) Queue { return q.Queue })
}

// DeleteQueue deletes a queue that no active job uses and no worker listens on.
// Errors: CodeNotFound, CodeConflict. O(active jobs): closed and cancelled ones are
// not visited.
func (e *Engine) DeleteQueue(now time.Time, id string) error {
	e.at(now)
	q, ok := e.queues[id]
	if !ok {
		return notFound("queue", id)
	}
	if w, ok := q.workers.min(); ok {
		return conflict("queue", id, "worker "+quote(w.ID)+" listens on it")
	}
	if j := e.firstActiveJob(func(j *jobState) bool { return j.QueueID() == id }); j != nil {
		return conflict("queue", id, "active job "+quote(j.ID)+" is in it")
	}
	for _, pid := range sortedKeys(e.classPolicies) {
		if e.classPolicies[pid].FallbackQueueID == id {
			return conflict("queue", id, "classification policy "+quote(pid)+" uses it as fallback")
		}
	}
	for _, pid := range sortedKeys(e.excPolicies) {
		for _, r := range e.excPolicies[pid].Rules {
			for _, a := range r.Actions {
				if a.Kind == ActionManualReclassify && a.QueueID == id {
					return conflict("queue", id, "exception policy "+quote(pid)+" moves jobs to it")
				}
			}
		}
	}
	delete(e.queues, id)
	return nil
}

// addListener and removeListener keep q.workers, the queue's listeners by ID.
// O(log n): a B-tree, so that registering many workers in random ID order does not
// cost a linear insertion each.
func (q *queueState) addListener(w *workerState) { q.workers.insert(w) }

func (q *queueState) removeListener(w *workerState) { q.workers.remove(w) }

// eachListener calls fn with each worker listening on q, by ID, until fn returns
// false. O(log n + listeners visited).
func (q *queueState) eachListener(fn func(w *workerState) bool) { q.workers.ascend(fn) }
