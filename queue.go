package jobrouter

import (
	"context"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// Queue is where jobs wait for workers. Its distribution policy chooses which workers
// are offered its jobs; its exception policy, if any, acts on jobs that wait too long
// or find it too full.
type Queue struct {
	// ID identifies the queue. Required. The queue's labels always hold "Id" = ID.
	ID string
	// Name is a display name. Optional.
	Name string
	// DistributionPolicyID names the queue's distribution policy, which must exist.
	// Required.
	DistributionPolicyID string
	// ExceptionPolicyID names the queue's exception policy. Optional.
	ExceptionPolicyID string
	// Labels are the queue's attributes, matched by the queue selectors of
	// classification policies. The Router adds "Id" = ID; an "Id" label given with
	// another value is ErrInvalidArgument. Optional.
	Labels Labels
}

// UpsertQueue creates the queue q.ID or replaces it with q. It returns the queue as
// stored.
//
// Errors: ErrInvalidArgument when q breaks a validation rule (no ID, no distribution
// policy, a bad label value); ErrNotFound when its distribution or exception policy
// does not exist; ErrClosed after Close.
func (r *Router) UpsertQueue(ctx context.Context, q Queue) (Queue, error) {
	var out Queue
	err := r.do(ctx, "upsert queue", func(now time.Time) error {
		got, err := r.eng.UpsertQueue(now, queueToEngine(q))
		if err != nil {
			return err
		}
		out = queueFromEngine(got)
		return nil
	})
	return out, err
}

// GetQueue returns a copy of the queue queueID.
//
// Errors: ErrNotFound when there is no such queue; ErrClosed after Close.
func (r *Router) GetQueue(ctx context.Context, queueID string) (Queue, error) {
	var out Queue
	err := r.do(ctx, "get queue", func(time.Time) error {
		got, err := r.eng.GetQueue(queueID)
		if err != nil {
			return err
		}
		out = queueFromEngine(got)
		return nil
	})
	return out, err
}

// QueuePage is one page of ListQueues.
type QueuePage struct {
	// Queues are the page's queues, sorted by ID.
	Queues []Queue
	// ContinuationToken gets the next page; "" on the last page.
	ContinuationToken string
}

// ListQueues returns one page of copies of the queues, sorted by ID; nil opts is the
// first page. Pass the page's ContinuationToken back in opts for the next page.
//
// Errors: ErrInvalidArgument when opts.PageSize is negative or above MaxPageSize or
// the continuation token is malformed; ErrClosed after Close.
// Complexity: O(q log q) for q stored queues (queues are few; jobs and workers, which
// are many, are listed from an index); the copy is bounded by the page size.
func (r *Router) ListQueues(ctx context.Context, opts *ListOptions) (QueuePage, error) {
	const op = "list queues"
	var out QueuePage
	err := r.do(ctx, op, func(time.Time) error {
		p, err := opts.page(op, "queue")
		if err != nil {
			return err
		}
		got, token := cut(p, r.eng.ListQueues(pageToEngine(p)), func(q engine.Queue) string { return q.ID })
		out.Queues = make([]Queue, len(got))
		for i, q := range got {
			out.Queues[i] = queueFromEngine(q)
		}
		out.ContinuationToken = token
		return nil
	})
	return out, err
}

// DeleteQueue deletes the queue queueID.
//
// Errors: ErrNotFound when there is no such queue; ErrConflict when it still has
// active jobs, a worker listens on it, or a classification policy uses it as its
// fallback; ErrClosed after Close.
func (r *Router) DeleteQueue(ctx context.Context, queueID string) error {
	return r.do(ctx, "delete queue", func(now time.Time) error {
		return r.eng.DeleteQueue(now, queueID)
	})
}
