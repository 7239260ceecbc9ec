// Package match holds the routing decisions that do not need the engine's state:
// queue order, selector evaluation, default BestWorker scoring and the choice of
// workers by distribution mode. Every function here is pure and deterministic.
package match

import "time"

// JobKey is a queued job's place in queue order.
type JobKey struct {
	Expedite   bool      // an active expedite selector puts the job first
	Priority   int       // higher first
	EnqueuedAt time.Time // earlier first
	Seq        uint64    // creation order: earlier first; unique per job
}

// Less reports whether a comes before b in queue order: jobs with an active expedite
// selector first, then higher priority, then earlier EnqueuedAt, then creation order.
// Because Seq is unique, Less is a strict total order. O(1).
func Less(a, b JobKey) bool {
	if a.Expedite != b.Expedite {
		return a.Expedite
	}
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if !a.EnqueuedAt.Equal(b.EnqueuedAt) {
		return a.EnqueuedAt.Before(b.EnqueuedAt)
	}
	return a.Seq < b.Seq
}
