package jobrouter

import (
	"context"
	"maps"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// Wait estimates.
//
// GetQueueStatistics and GetQueuePosition estimate waits from the queue's recent
// service rate. Each queue remembers when its jobs were assigned (an accepted offer),
// at most ServiceWindowSize times, and an estimate uses those within the last
// ServiceWindowSpan. With k such times, the earliest t1, the rate is
//
//	r = (k-1) / (now - t1)
//
// that is, the assignments that followed t1 over the time observed since t1. The job
// at position p waits about p / r, the time the queue takes to make p more
// assignments at that rate: with one assignment a minute, the fifth in line waits
// five minutes. Because the span runs to now, a queue that stops serving sees its
// estimates grow, and an hour without assignments empties its window.
//
// Without history (fewer than two assignments in the window) there is no rate: the
// estimates are 0 and EstimateAvailable is false: test EstimateAvailable, not the
// zero, to tell "no estimate" from "no wait".
const (
	// ServiceWindowSize is the most assignment times a queue keeps for its rate.
	ServiceWindowSize = engine.ServiceWindowSize
	// ServiceWindowSpan is how long an assignment time counts toward the rate.
	ServiceWindowSpan = engine.ServiceWindowSpan
)

// QueueStatistics describes a queue at the time of the call.
type QueueStatistics struct {
	// QueueID is the queue's ID.
	QueueID string
	// Length is the number of jobs queued in it (status queued).
	Length int
	// EstimatedWaitTime holds, for each priority that a job queued in it has, the
	// estimated wait of a new job of that priority queued now: it would be behind
	// every job with an active expedite selector and every job of its priority or
	// higher. Empty when the queue is; every value is 0 when EstimateAvailable is
	// false.
	EstimatedWaitTime map[int]time.Duration
	// LongestJobWaitTime is how long its longest-waiting job has been queued: now
	// minus the earliest EnqueuedAt among its queued jobs (a job unassigned or
	// reclassified keeps its EnqueuedAt). 0 when the queue is empty.
	LongestJobWaitTime time.Duration
	// EstimateAvailable reports whether the queue has the service history the
	// estimates need: two or more assignments within the last ServiceWindowSpan.
	EstimateAvailable bool
}

// JobPosition is a queued job's place in its queue, at the time of the call.
type JobPosition struct {
	// JobID and QueueID name the job and its queue.
	JobID, QueueID string
	// Position is the job's place in its queue, from 1: the jobs of the queue in
	// queue order (an active expedite selector first, then higher priority, then
	// earlier EnqueuedAt, then creation order).
	Position int
	// QueueLength is the number of jobs queued in the queue.
	QueueLength int
	// EstimatedWaitTime is the estimated time until the job is assigned: Position
	// divided by the queue's service rate. 0 when EstimateAvailable is false.
	EstimatedWaitTime time.Duration
	// EstimateAvailable reports whether the queue has the service history the
	// estimate needs: two or more assignments within the last ServiceWindowSpan.
	EstimateAvailable bool
}

// GetQueueStatistics returns the queue's length, its longest wait and the estimated
// wait of a new job at each priority present in it (see "Wait estimates" above).
//
// Errors: ErrNotFound when there is no such queue; ErrClosed after Close.
// Complexity: O(levels × log² n) for n jobs queued in the queue, where levels counts
// the distinct (expedited, priority) pairs among them: each queue keeps its jobs in
// a counted B-tree, which the call searches without walking the line.
func (r *Router) GetQueueStatistics(ctx context.Context, queueID string) (QueueStatistics, error) {
	var out QueueStatistics
	err := r.do(ctx, "get queue statistics", func(now time.Time) error {
		got, err := r.eng.QueueStatistics(now, queueID)
		if err != nil {
			return err
		}
		out = QueueStatistics{
			QueueID:            got.QueueID,
			Length:             got.Length,
			EstimatedWaitTime:  maps.Clone(got.EstimatedWaitTime),
			LongestJobWaitTime: got.LongestJobWaitTime,
			EstimateAvailable:  got.EstimateAvailable,
		}
		return nil
	})
	return out, err
}

// GetQueuePosition returns the place of the queued job jobID in its queue, the
// queue's length and the job's estimated wait (see "Wait estimates" above).
//
// Errors: ErrNotFound when there is no such job; ErrConflict when the job is not
// queued (it is assigned, scheduled, suspended, closed...); ErrClosed after Close.
// Complexity: O(log² n) for n jobs queued in its queue: a binary search of the
// queue's counted B-tree, not a walk up to the job.
func (r *Router) GetQueuePosition(ctx context.Context, jobID string) (JobPosition, error) {
	var out JobPosition
	err := r.do(ctx, "get queue position", func(now time.Time) error {
		got, err := r.eng.QueuePosition(now, jobID)
		if err != nil {
			return err
		}
		out = JobPosition(got)
		return nil
	})
	return out, err
}
