package jobrouter

import (
	"context"
	"strconv"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// WorkerState is whether a worker takes offers. Its values are Azure Job Router's.
type WorkerState string

// The worker states.
const (
	// WorkerStateActive: the worker is AvailableForOffers and may be offered jobs.
	WorkerStateActive WorkerState = "active"
	// WorkerStateDraining: the worker is not AvailableForOffers but still holds
	// assignments (completed but not yet closed ones count).
	WorkerStateDraining WorkerState = "draining"
	// WorkerStateInactive: the worker is not AvailableForOffers and holds no
	// assignment.
	WorkerStateInactive WorkerState = "inactive"
)

// valid reports whether s is one of the worker states.
func (s WorkerState) valid() bool {
	switch s {
	case WorkerStateActive, WorkerStateDraining, WorkerStateInactive:
		return true
	}
	return false
}

// ChannelConfig is a worker's entry for one channel: a worker is offered only jobs on
// channels it has an entry for.
type ChannelConfig struct {
	// ChannelID is the channel, as in Job.ChannelID. Required.
	ChannelID string
	// CapacityCostPerJob is the capacity one job on this channel takes from the
	// worker's Capacity. Must not be negative. Defaults to 0.
	CapacityCostPerJob int
	// MaxNumberOfJobs caps the jobs (offers and assignments) the worker holds on this
	// channel at once. Must not be negative. Defaults to 0: no limit.
	MaxNumberOfJobs int
}

// AssignedJob is one job a worker holds: assigned, or completed and not yet closed.
// All its fields are read-only.
type AssignedJob struct {
	// AssignmentID identifies the assignment.
	AssignmentID string
	// JobID is the held job.
	JobID string
	// CapacityCost is the capacity the assignment holds.
	CapacityCost int
	// AssignedAt is when the worker accepted the offer.
	AssignedAt time.Time
}

// Worker is someone (or something) that takes jobs: an agent, a bot. Fields above
// State are the caller's; State and the fields after it are read-only and ignored on
// input.
type Worker struct {
	// ID identifies the worker. Required. The worker's labels always hold "Id" = ID.
	ID string
	// Queues are the IDs of the queues the worker takes jobs from. Defaults to none.
	Queues []string
	// Capacity is the worker's total capacity, shared by its assignments and open
	// offers through each channel's CapacityCostPerJob. Must not be negative.
	// Defaults to 0.
	Capacity int
	// Channels are the channels the worker takes jobs on, one entry per channel.
	// Defaults to none.
	Channels []ChannelConfig
	// Labels are the worker's attributes, matched by worker selectors and used in
	// scoring. The Router adds "Id" = ID; an "Id" label given with another value is
	// ErrInvalidArgument. Optional.
	Labels Labels
	// Tags are attributes carried with the worker and its events but not used for
	// routing. Optional.
	Tags Labels
	// AvailableForOffers, when true, registers the worker (active; WorkerRegistered).
	// Setting it false deregisters the worker (draining or inactive;
	// WorkerDeregistered) and revokes its open offers. Defaults to false.
	AvailableForOffers bool
	// MaxConcurrentOffers caps the worker's open offers. Must not be negative.
	// Defaults to 0: no limit.
	MaxConcurrentOffers int

	// State is read-only: active, draining or inactive.
	State WorkerState
	// Offers is read-only: the worker's open offers.
	Offers []Offer
	// AssignedJobs is read-only: the jobs the worker holds.
	AssignedJobs []AssignedJob
	// LoadRatio is read-only: capacity used by assignments and open offers divided by
	// Capacity.
	LoadRatio float64
}

// ListWorkersOptions filters and pages ListWorkers. Zero fields match every worker;
// set fields must all match.
type ListWorkersOptions struct {
	// State selects workers in this state. Defaults to "" (any state). A value that
	// is not a WorkerState is ErrInvalidArgument.
	State WorkerState
	// ChannelID selects workers with an entry for this channel. Defaults to "" (any).
	ChannelID string
	// QueueID selects workers that take jobs from this queue. Defaults to "" (any).
	QueueID string
	// HasCapacity selects workers with free capacity for one more job: on ChannelID
	// when it is set, else on any of their channels. Defaults to false (no filter).
	HasCapacity bool
	// PageSize is the most workers a page holds. Defaults to DefaultPageSize (100);
	// negative or above MaxPageSize (1000) is ErrInvalidArgument.
	PageSize int
	// ContinuationToken is the previous page's WorkerPage.ContinuationToken, to get
	// the next page. Defaults to "" (the first page). It is opaque; a token that
	// ListWorkers did not return is ErrInvalidArgument.
	ContinuationToken string
}

// WorkerPage is one page of ListWorkers.
type WorkerPage struct {
	// Workers are the page's workers, sorted by ID.
	Workers []Worker
	// ContinuationToken gets the next page; "" on the last page.
	ContinuationToken string
}

// UpsertWorker creates the worker w.ID or replaces its settable fields with w's
// (read-only fields are ignored). Registration follows AvailableForOffers (see
// Worker); any other change announces WorkerUpdated with the changed properties and
// may trigger matching. It returns the worker as stored.
//
// Errors: ErrInvalidArgument when w breaks a validation rule (no ID, a negative
// capacity or cost, a bad label value, a channel or queue listed twice); ErrNotFound
// when a queue it names does not exist; ErrClosed after Close.
func (r *Router) UpsertWorker(ctx context.Context, w Worker) (Worker, error) {
	const op = "upsert worker"
	var out Worker
	err := r.do(ctx, op, func(now time.Time) error {
		got, err := r.eng.UpsertWorker(now, workerToEngine(w))
		if err != nil {
			return err
		}
		out = workerFromView(got)
		return nil
	})
	return out, err
}

// GetWorker returns a copy of the worker workerID, with its open offers and held
// jobs.
//
// Errors: ErrNotFound when there is no such worker; ErrClosed after Close.
// Complexity: a lookup by ID plus a copy of the worker's labels, channels, offers
// and assignments.
func (r *Router) GetWorker(ctx context.Context, workerID string) (Worker, error) {
	var out Worker
	err := r.do(ctx, "get worker", func(time.Time) error {
		got, err := r.eng.GetWorker(workerID)
		if err != nil {
			return err
		}
		out = workerFromView(got)
		return nil
	})
	return out, err
}

// ListWorkers returns one page of copies of the workers that match opts, sorted by
// ID; nil opts is the first page of every worker. Pass the page's ContinuationToken
// back in opts, with the same filters, for the next page: the walk continues after
// the last ID returned, whatever was created or deleted meanwhile.
//
// Errors: ErrInvalidArgument when opts.PageSize is negative or above MaxPageSize, the
// continuation token is malformed, or opts.State is not a WorkerState; ErrClosed after
// Close.
// Complexity: O(log n + scanned) for n stored workers, where scanned counts the
// workers visited from the token's position until the page is full, those that the
// filters skip included; the copy is bounded by the page size.
func (r *Router) ListWorkers(ctx context.Context, opts *ListWorkersOptions) (WorkerPage, error) {
	const op = "list workers"
	var o ListWorkersOptions
	if opts != nil {
		o = *opts
	}
	var out WorkerPage
	err := r.do(ctx, op, func(time.Time) error {
		p, err := checkPage(op, "worker", o.PageSize, o.ContinuationToken)
		if err != nil {
			return err
		}
		if o.State != "" && !o.State.valid() {
			return errInvalid(op, "worker", "", "unknown worker state "+strconv.Quote(string(o.State)))
		}
		got, token := cut(p, r.eng.ListWorkers(workerFilterToEngine(o, p)), func(w engine.Worker) string { return w.ID })
		out.Workers = make([]Worker, len(got))
		for i, w := range got {
			out.Workers[i] = workerFromView(w)
		}
		out.ContinuationToken = token
		return nil
	})
	return out, err
}

// DeleteWorker deletes the worker workerID, revoking its open offers and announcing
// WorkerDeleted.
//
// Errors: ErrNotFound when there is no such worker; ErrConflict when it still holds
// assignments (completed but not yet closed ones count); ErrClosed after Close.
func (r *Router) DeleteWorker(ctx context.Context, workerID string) error {
	return r.do(ctx, "delete worker", func(now time.Time) error {
		return r.eng.DeleteWorker(now, workerID)
	})
}
