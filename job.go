package jobrouter

import (
	"context"
	"strconv"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// JobStatus is where a job is in its life. Its values are Azure Job Router's. The
// terminal statuses are JobStatusClosed and JobStatusCancelled.
type JobStatus string

// The job statuses.
const (
	// JobStatusCreated: the job exists but has not been queued or classified yet.
	JobStatusCreated JobStatus = "created"
	// JobStatusPendingClassification: the job waits for its classification policy.
	JobStatusPendingClassification JobStatus = "pendingClassification"
	// JobStatusQueued: the job waits in its queue for a worker.
	JobStatusQueued JobStatus = "queued"
	// JobStatusAssigned: a worker accepted an offer for the job.
	JobStatusAssigned JobStatus = "assigned"
	// JobStatusCompleted: the worker completed the job and is wrapping it up; the
	// worker's capacity is still held until the job is closed.
	JobStatusCompleted JobStatus = "completed"
	// JobStatusClosed: the job is done and the worker's capacity released. Terminal.
	JobStatusClosed JobStatus = "closed"
	// JobStatusCancelled: the job was cancelled. Terminal.
	JobStatusCancelled JobStatus = "cancelled"
	// JobStatusClassificationFailed: the job's classification policy could not place
	// it in a queue.
	JobStatusClassificationFailed JobStatus = "classificationFailed"
	// JobStatusPendingSchedule: the job waits to be scheduled.
	JobStatusPendingSchedule JobStatus = "pendingSchedule"
	// JobStatusScheduled: the job waits for its ScheduleAndSuspendMode.ScheduleAt.
	JobStatusScheduled JobStatus = "scheduled"
	// JobStatusScheduleFailed: the job could not be scheduled.
	JobStatusScheduleFailed JobStatus = "scheduleFailed"
	// JobStatusWaitingForActivation: matching is suspended until UpdateJob sets
	// QueueAndMatchMode.
	JobStatusWaitingForActivation JobStatus = "waitingForActivation"
)

// valid reports whether s is one of the job statuses.
func (s JobStatus) valid() bool {
	switch s {
	case JobStatusCreated, JobStatusPendingClassification, JobStatusQueued,
		JobStatusAssigned, JobStatusCompleted, JobStatusClosed, JobStatusCancelled,
		JobStatusClassificationFailed, JobStatusPendingSchedule, JobStatusScheduled,
		JobStatusScheduleFailed, JobStatusWaitingForActivation:
		return true
	}
	return false
}

// Note is a free-text note on a job.
type Note struct {
	// Message is the note's text.
	Message string
	// AddedAt is when the note was added. Notes added by CompleteJob, CloseJob and
	// CancelJob carry the Router's time at that call.
	AddedAt time.Time
}

// MatchingMode says how a job is matched to workers. It is one of QueueAndMatchMode,
// ScheduleAndSuspendMode and SuspendMode, given as a value (not a pointer); nil
// means QueueAndMatchMode.
type MatchingMode interface {
	isMatchingMode()
}

// QueueAndMatchMode queues the job and offers it to workers at once. It is the
// default matching mode.
type QueueAndMatchMode struct{}

// ScheduleAndSuspendMode holds the job in JobStatusScheduled until ScheduleAt, then
// moves it to JobStatusWaitingForActivation (announcing JobWaitingForActivation)
// until UpdateJob sets QueueAndMatchMode.
type ScheduleAndSuspendMode struct {
	// ScheduleAt is when the job becomes waitingForActivation. Required.
	ScheduleAt time.Time
}

// SuspendMode holds the job in JobStatusWaitingForActivation, unmatched, until
// UpdateJob sets QueueAndMatchMode.
type SuspendMode struct{}

func (QueueAndMatchMode) isMatchingMode()      {}
func (ScheduleAndSuspendMode) isMatchingMode() {}
func (SuspendMode) isMatchingMode()            {}

// Job is a unit of work to be routed to a worker: a call, a chat, a case. Fields
// above Status are the caller's; Status and the fields after it are read-only and
// ignored on input.
type Job struct {
	// ID identifies the job. Defaults to an ID from Options.NewID when empty on
	// CreateJob.
	ID string
	// ChannelID is the job's channel, a free string such as "voice" or "chat". A
	// worker is eligible only if it has a ChannelConfig for it. Required.
	ChannelID string
	// ChannelReference is the caller's reference for the job in its channel (a call
	// ID, say). Optional.
	ChannelReference string
	// QueueID is the queue the job waits in. Required unless ClassificationPolicyID
	// is set, in which case classification may choose the queue.
	QueueID string
	// ClassificationPolicyID names a classification policy that sets the job's queue,
	// priority and worker selectors. Optional.
	ClassificationPolicyID string
	// Priority is the job's priority, -100..100; higher priorities are offered first.
	// Defaults to 1: the zero value means unset and becomes 1, as an absent priority
	// is 1 in Azure Job Router. A priority of 0 therefore cannot be requested (ours).
	// Outside -100..100 is ErrInvalidArgument.
	Priority int
	// RequestedWorkerSelectors are conditions on workers' labels that a worker must
	// meet to be offered the job. Optional.
	RequestedWorkerSelectors []WorkerSelector
	// Labels are the job's attributes, used by classification and scoring. Optional.
	Labels Labels
	// Tags are attributes carried with the job and its events but not used for
	// routing. Optional.
	Tags Labels
	// Notes are free-text notes on the job. Optional.
	Notes []Note
	// MatchingMode says how the job is matched. Defaults to QueueAndMatchMode (nil).
	MatchingMode MatchingMode

	// Status is read-only: where the job is in its life.
	Status JobStatus
	// CreatedAt is read-only: when the job was created.
	CreatedAt time.Time
	// EnqueuedAt is read-only: when the job was (first) queued; it orders jobs of the
	// same priority in a queue. Zero until queued.
	EnqueuedAt time.Time
	// ScheduledAt is read-only: for a ScheduleAndSuspendMode job, its ScheduleAt,
	// kept after activation. Zero otherwise.
	ScheduledAt time.Time
	// AttachedWorkerSelectors is read-only: the worker selectors attached by
	// classification or by an exception action.
	AttachedWorkerSelectors []WorkerSelector
	// Assignments is read-only: the job's assignment history, keyed by assignment ID.
	Assignments map[string]Assignment
	// DispositionCode is read-only: the code given when the job was closed or
	// cancelled.
	DispositionCode string
	// UnassignmentCount is read-only: how many times the job has been unassigned (at
	// most 3).
	UnassignmentCount int
}

// ListJobsOptions filters and pages ListJobs. Zero fields match every job; set fields
// must all match.
type ListJobsOptions struct {
	// Status selects jobs with exactly this status. Defaults to "" (any status). A
	// value that is not a JobStatus is ErrInvalidArgument.
	Status JobStatus
	// Active selects jobs in any non-terminal status (anything but closed and
	// cancelled): the "active" status filter of Azure Job Router. Defaults to false.
	Active bool
	// QueueID selects jobs in this queue. Defaults to "" (any queue).
	QueueID string
	// ChannelID selects jobs on this channel. Defaults to "" (any channel).
	ChannelID string
	// ClassificationPolicyID selects jobs with this classification policy. Defaults
	// to "" (any).
	ClassificationPolicyID string
	// ScheduledBefore selects jobs whose ScheduledAt is before this instant. Defaults
	// to zero (no bound).
	ScheduledBefore time.Time
	// ScheduledAfter selects jobs whose ScheduledAt is after this instant. Defaults
	// to zero (no bound).
	ScheduledAfter time.Time
	// PageSize is the most jobs a page holds. Defaults to DefaultPageSize (100);
	// negative or above MaxPageSize (1000) is ErrInvalidArgument.
	PageSize int
	// ContinuationToken is the previous page's JobPage.ContinuationToken, to get the
	// next page. Defaults to "" (the first page). It is opaque; a token that ListJobs
	// did not return is ErrInvalidArgument.
	ContinuationToken string
}

// JobPage is one page of ListJobs.
type JobPage struct {
	// Jobs are the page's jobs, sorted by ID.
	Jobs []Job
	// ContinuationToken gets the next page; "" on the last page.
	ContinuationToken string
}

// CreateJob creates the job j and routes it at once: when CreateJob returns, the job
// is already queued (and may hold offers), classified, scheduled or failed, and its
// events are queued for delivery. It returns the job as stored.
//
// A job with a ClassificationPolicyID is classified first (JobReceived,
// JobClassified, JobQueued; or JobClassificationFailed). The one exception: a job
// whose classification needs a WebhookRule is returned in
// JobStatusPendingClassification, and stays there until the webhook's answer is
// applied, on a goroutine of the Router's, outside any call: JobClassified and
// JobQueued (or JobClassificationFailed, when the webhook fails or times out)
// follow asynchronously. Wait for them on a Subscription.
//
// Errors: ErrInvalidArgument when j breaks a validation rule (no channel, a priority
// outside -100..100, a bad label value or selector, a pointer MatchingMode);
// ErrNotFound when its queue or classification policy does not exist; ErrConflict
// when a job with its ID exists; ErrClosed after Close.
func (r *Router) CreateJob(ctx context.Context, j Job) (Job, error) {
	const op = "create job"
	var out Job
	err := r.do(ctx, op, func(now time.Time) error {
		ej, err := jobToEngine(op, j)
		if err != nil {
			return err
		}
		got, err := r.eng.CreateJob(now, ej)
		if err != nil {
			return err
		}
		out = jobFromEngine(got)
		return nil
	})
	return out, err
}

// UpdateJob replaces the settable fields of the existing job j.ID with those of j
// (read-only fields are ignored: fetch with GetJob, change, pass back). Updating a
// queued job's queue, channel, priority, labels or selectors revokes its open offers
// and matches it again; setting QueueAndMatchMode on a scheduled or suspended job
// queues it. A zero Priority means 1, as in CreateJob. Changing the labels or the
// classification policy of a job that has a policy (and is not assigned, completed
// or terminal) classifies it again, as ReclassifyJob does. It returns the job as
// stored.
//
// Errors: ErrInvalidArgument when j breaks a validation rule; ErrNotFound when the
// job, or a queue or policy it names, does not exist; ErrConflict when the job's
// status does not allow the change (it is closed or cancelled, say); ErrClosed after
// Close.
func (r *Router) UpdateJob(ctx context.Context, j Job) (Job, error) {
	const op = "update job"
	var out Job
	err := r.do(ctx, op, func(now time.Time) error {
		ej, err := jobToEngine(op, j)
		if err != nil {
			return err
		}
		got, err := r.eng.UpdateJob(now, ej)
		if err != nil {
			return err
		}
		out = jobFromEngine(got)
		return nil
	})
	return out, err
}

// GetJob returns a copy of the job jobID.
//
// Errors: ErrNotFound when there is no such job; ErrClosed after Close.
// Complexity: a lookup by ID (O(1) for a job that is neither closed nor cancelled,
// O(log n) among the n terminal jobs for one that is: they are kept apart from the
// others, in their ID index) plus a copy of the job's labels, selectors, notes and
// assignments.
func (r *Router) GetJob(ctx context.Context, jobID string) (Job, error) {
	const op = "get job"
	var out Job
	err := r.do(ctx, op, func(time.Time) error {
		got, err := r.eng.GetJob(jobID)
		if err != nil {
			return err
		}
		out = jobFromEngine(got)
		return nil
	})
	return out, err
}

// ListJobs returns one page of copies of the jobs that match opts, sorted by ID; nil
// opts is the first page of every job. Pass the page's ContinuationToken back in opts,
// with the same filters, for the next page: the walk continues after the last ID
// returned, whatever was created or deleted meanwhile.
//
// Errors: ErrInvalidArgument when opts.PageSize is negative or above MaxPageSize, the
// continuation token is malformed, or opts.Status is not a JobStatus; ErrClosed after
// Close.
// Complexity: O(log n + scanned) for n stored jobs, where scanned counts the jobs
// visited from the token's position until the page is full, those that the filters
// skip included; the copy is bounded by the page size.
func (r *Router) ListJobs(ctx context.Context, opts *ListJobsOptions) (JobPage, error) {
	const op = "list jobs"
	var o ListJobsOptions
	if opts != nil {
		o = *opts
	}
	var out JobPage
	err := r.do(ctx, op, func(time.Time) error {
		p, err := checkPage(op, "job", o.PageSize, o.ContinuationToken)
		if err != nil {
			return err
		}
		if o.Status != "" && !o.Status.valid() {
			return errInvalid(op, "job", "", "unknown job status "+strconv.Quote(string(o.Status)))
		}
		got, token := cut(p, r.eng.ListJobs(jobFilterToEngine(o, p)), func(j engine.Job) string { return j.ID })
		out.Jobs = make([]Job, len(got))
		for i, j := range got {
			out.Jobs[i] = jobFromEngine(j)
		}
		out.ContinuationToken = token
		return nil
	})
	return out, err
}

// DeleteJob deletes the job jobID, announcing JobDeleted. Only a job in a terminal
// status (closed or cancelled) can be deleted.
//
// Errors: ErrNotFound when there is no such job; ErrConflict when the job is not
// closed or cancelled; ErrClosed after Close.
func (r *Router) DeleteJob(ctx context.Context, jobID string) error {
	return r.do(ctx, "delete job", func(now time.Time) error {
		return r.eng.DeleteJob(now, jobID)
	})
}

// CancelJobOptions are the options of CancelJob. A nil *CancelJobOptions is the
// zero value.
type CancelJobOptions struct {
	// DispositionCode is recorded on the job and in JobCancelled. Defaults to
	// "Cancelled".
	DispositionCode string
	// Note, when not empty, is added to the job's notes. Defaults to "" (no note).
	Note string
}

// CancelJob cancels the job jobID from any non-terminal status: its open offers are
// revoked, an assigned or completed job's worker capacity is released, and
// JobCancelled is announced.
//
// Errors: ErrNotFound when there is no such job; ErrConflict when the job is already
// closed or cancelled; ErrClosed after Close.
func (r *Router) CancelJob(ctx context.Context, jobID string, opts *CancelJobOptions) error {
	var o CancelJobOptions
	if opts != nil {
		o = *opts
	}
	return r.do(ctx, "cancel job", func(now time.Time) error {
		return r.eng.CancelJob(now, jobID, o.DispositionCode, o.Note)
	})
}
