package jobrouter

import (
	"context"
	"time"
)

// Assignment is one entry in a job's assignment history: the worker that accepted an
// offer for the job, and when the job was completed and closed. All its fields are
// read-only.
type Assignment struct {
	// ID identifies the assignment; it is returned by AcceptJobOffer.
	ID string
	// JobID is the assigned job.
	JobID string
	// WorkerID is the worker the job is assigned to.
	WorkerID string
	// CapacityCost is the capacity the assignment holds on the worker (the worker's
	// CapacityCostPerJob for the job's channel when it accepted).
	CapacityCost int
	// AssignedAt is when the offer was accepted.
	AssignedAt time.Time
	// CompletedAt is when the job was completed; zero until then.
	CompletedAt time.Time
	// ClosedAt is when the job was closed; zero until then.
	ClosedAt time.Time
}

// CompleteJobOptions are the options of CompleteJob. A nil *CompleteJobOptions is the
// zero value.
type CompleteJobOptions struct {
	// Note, when not empty, is added to the job's notes. Defaults to "" (no note).
	Note string
}

// CompleteJob moves the assigned job jobID to completed (wrap-up) and announces
// JobCompleted. assignmentID must be the job's current assignment. The worker's
// capacity stays held until the job is closed.
//
// Errors: ErrNotFound when there is no such job or assignment; ErrConflict when the
// job is not assigned or assignmentID is not its current assignment; ErrClosed after
// Close.
func (r *Router) CompleteJob(ctx context.Context, jobID, assignmentID string, opts *CompleteJobOptions) error {
	var o CompleteJobOptions
	if opts != nil {
		o = *opts
	}
	return r.do(ctx, "complete job", func(now time.Time) error {
		return r.eng.CompleteJob(now, jobID, assignmentID, o.Note)
	})
}

// CloseJobOptions are the options of CloseJob. A nil *CloseJobOptions is the zero
// value.
type CloseJobOptions struct {
	// DispositionCode is recorded on the job and in JobClosed. Defaults to "" (the
	// job's DispositionCode stays empty).
	DispositionCode string
	// Note, when not empty, is added to the job's notes. Defaults to "" (no note).
	Note string
	// CloseAt, when after the Router's time, defers the close: the job closes, its
	// capacity is released and JobClosed is announced at CloseAt. Defaults to zero:
	// close now.
	CloseAt time.Time
}

// CloseJob closes the job jobID: completed → closed, releasing the worker's capacity
// now or at opts.CloseAt, and announces JobClosed then. assignmentID must be the
// job's current assignment. Closing an assigned job completes and closes it in one
// call, announcing JobCompleted then JobClosed (ours).
//
// Errors: ErrNotFound when there is no such job or assignment; ErrConflict when the
// job is neither assigned nor completed, or assignmentID is not its current
// assignment; ErrClosed after Close.
func (r *Router) CloseJob(ctx context.Context, jobID, assignmentID string, opts *CloseJobOptions) error {
	var o CloseJobOptions
	if opts != nil {
		o = *opts
	}
	return r.do(ctx, "close job", func(now time.Time) error {
		return r.eng.CloseJob(now, jobID, assignmentID, o.DispositionCode, o.Note, o.CloseAt)
	})
}

// UnassignJobOptions are the options of UnassignJob. A nil *UnassignJobOptions is the
// zero value.
type UnassignJobOptions struct {
	// SuspendMatching, when true, leaves the unassigned job in
	// JobStatusWaitingForActivation until UpdateJob sets QueueAndMatchMode (ours).
	// Defaults to false: the job is queued again at once (the same worker may get it).
	SuspendMatching bool
}

// UnassignJobResult is what UnassignJob returns.
type UnassignJobResult struct {
	// JobID is the unassigned job.
	JobID string
	// UnassignmentCount is how many times the job has now been unassigned.
	UnassignmentCount int
}

// UnassignJob releases the job jobID's current assignment assignmentID and the
// worker's capacity, announces JobUnassigned, and queues the job again (or suspends
// it, with opts.SuspendMatching). A job can be unassigned at most 3 times.
//
// Errors: ErrNotFound when there is no such job or assignment; ErrConflict when the
// job is not assigned, assignmentID is not its current assignment, or the job has
// already been unassigned 3 times; ErrClosed after Close.
func (r *Router) UnassignJob(ctx context.Context, jobID, assignmentID string, opts *UnassignJobOptions) (UnassignJobResult, error) {
	var o UnassignJobOptions
	if opts != nil {
		o = *opts
	}
	var out UnassignJobResult
	err := r.do(ctx, "unassign job", func(now time.Time) error {
		n, err := r.eng.UnassignJob(now, jobID, assignmentID, o.SuspendMatching)
		if err != nil {
			return err
		}
		out = UnassignJobResult{JobID: jobID, UnassignmentCount: n}
		return nil
	})
	return out, err
}
