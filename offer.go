package jobrouter

import (
	"context"
	"time"
)

// Offer is an open offer of a job to a worker. It reserves CapacityCost of the
// worker's capacity until it is accepted, declined, expires or is revoked. All its
// fields are read-only.
type Offer struct {
	// ID identifies the offer; pass it to AcceptJobOffer or DeclineJobOffer.
	ID string
	// JobID is the offered job.
	JobID string
	// WorkerID is the worker the job is offered to.
	WorkerID string
	// CapacityCost is the capacity the offer reserves on the worker.
	CapacityCost int
	// OfferedAt is when the offer was issued.
	OfferedAt time.Time
	// ExpiresAt is OfferedAt plus the distribution policy's OfferExpiresAfter; from
	// that instant the offer can no longer be accepted.
	ExpiresAt time.Time
}

// AcceptJobOfferResult is what AcceptJobOffer returns.
type AcceptJobOfferResult struct {
	// JobID is the job now assigned.
	JobID string
	// WorkerID is the worker it is assigned to.
	WorkerID string
	// AssignmentID identifies the new assignment; pass it to CompleteJob, CloseJob
	// and UnassignJob.
	AssignmentID string
}

// AcceptJobOffer accepts the open offer offerID made to workerID: the job becomes
// assigned to the worker under a new assignment, OfferAccepted is announced, and
// every other open offer for the job is revoked (OfferRevoked).
//
// Errors: ErrNotFound when the offer is not open for this worker (unknown, another
// worker's, or already accepted, declined, expired or revoked); ErrClosed after
// Close.
func (r *Router) AcceptJobOffer(ctx context.Context, workerID, offerID string) (AcceptJobOfferResult, error) {
	var out AcceptJobOfferResult
	err := r.do(ctx, "accept offer", func(now time.Time) error {
		jobID, assignmentID, err := r.eng.AcceptOffer(now, workerID, offerID)
		if err != nil {
			return err
		}
		out = AcceptJobOfferResult{JobID: jobID, WorkerID: workerID, AssignmentID: assignmentID}
		return nil
	})
	return out, err
}

// DeclineJobOfferOptions are the options of DeclineJobOffer. A nil
// *DeclineJobOfferOptions is the zero value.
type DeclineJobOfferOptions struct {
	// RetryOfferAt, when set, makes the worker eligible for the job again from that
	// time. Defaults to zero: the worker is never offered this job again, unless it
	// deregisters and registers again.
	RetryOfferAt time.Time
}

// DeclineJobOffer declines the open offer offerID made to workerID: the reserved
// capacity is released, OfferDeclined is announced and the job goes to the next
// eligible worker.
//
// Errors: ErrNotFound when the offer is not open for this worker (unknown, another
// worker's, or already accepted, declined, expired or revoked); ErrClosed after
// Close.
func (r *Router) DeclineJobOffer(ctx context.Context, workerID, offerID string, opts *DeclineJobOfferOptions) error {
	var o DeclineJobOfferOptions
	if opts != nil {
		o = *opts
	}
	return r.do(ctx, "decline offer", func(now time.Time) error {
		return r.eng.DeclineOffer(now, workerID, offerID, o.RetryOfferAt)
	})
}
