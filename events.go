package jobrouter

import (
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// EventType names a kind of event. Its value is the name of the event's struct.
type EventType string

// The event types, one per event struct.
const (
	// EventTypeJobReceived is the type of JobReceived.
	EventTypeJobReceived EventType = "JobReceived"
	// EventTypeJobClassified is the type of JobClassified.
	EventTypeJobClassified EventType = "JobClassified"
	// EventTypeJobClassificationFailed is the type of JobClassificationFailed.
	EventTypeJobClassificationFailed EventType = "JobClassificationFailed"
	// EventTypeJobQueued is the type of JobQueued.
	EventTypeJobQueued EventType = "JobQueued"
	// EventTypeJobCompleted is the type of JobCompleted.
	EventTypeJobCompleted EventType = "JobCompleted"
	// EventTypeJobClosed is the type of JobClosed.
	EventTypeJobClosed EventType = "JobClosed"
	// EventTypeJobCancelled is the type of JobCancelled.
	EventTypeJobCancelled EventType = "JobCancelled"
	// EventTypeJobExceptionTriggered is the type of JobExceptionTriggered.
	EventTypeJobExceptionTriggered EventType = "JobExceptionTriggered"
	// EventTypeJobWorkerSelectorsExpired is the type of JobWorkerSelectorsExpired.
	EventTypeJobWorkerSelectorsExpired EventType = "JobWorkerSelectorsExpired"
	// EventTypeJobUnassigned is the type of JobUnassigned.
	EventTypeJobUnassigned EventType = "JobUnassigned"
	// EventTypeJobWaitingForActivation is the type of JobWaitingForActivation.
	EventTypeJobWaitingForActivation EventType = "JobWaitingForActivation"
	// EventTypeJobSchedulingFailed is the type of JobSchedulingFailed.
	EventTypeJobSchedulingFailed EventType = "JobSchedulingFailed"
	// EventTypeJobDeleted is the type of JobDeleted.
	EventTypeJobDeleted EventType = "JobDeleted"
	// EventTypeOfferIssued is the type of OfferIssued.
	EventTypeOfferIssued EventType = "OfferIssued"
	// EventTypeOfferAccepted is the type of OfferAccepted.
	EventTypeOfferAccepted EventType = "OfferAccepted"
	// EventTypeOfferDeclined is the type of OfferDeclined.
	EventTypeOfferDeclined EventType = "OfferDeclined"
	// EventTypeOfferExpired is the type of OfferExpired.
	EventTypeOfferExpired EventType = "OfferExpired"
	// EventTypeOfferRevoked is the type of OfferRevoked.
	EventTypeOfferRevoked EventType = "OfferRevoked"
	// EventTypeWorkerRegistered is the type of WorkerRegistered.
	EventTypeWorkerRegistered EventType = "WorkerRegistered"
	// EventTypeWorkerDeregistered is the type of WorkerDeregistered.
	EventTypeWorkerDeregistered EventType = "WorkerDeregistered"
	// EventTypeWorkerUpdated is the type of WorkerUpdated.
	EventTypeWorkerUpdated EventType = "WorkerUpdated"
	// EventTypeWorkerDeleted is the type of WorkerDeleted.
	EventTypeWorkerDeleted EventType = "WorkerDeleted"
)

// Event is one state change of a Router, delivered on a Subscription's channel (or
// by its Poll, for a Synchronous subscription). The set of implementations is
// closed: every event is a value of one of the structs in this file (JobReceived,
// OfferIssued, ...), so consume events with a type switch:
//
//	switch e := ev.(type) {
//	case jobrouter.OfferIssued:
//		...
//	}
//
// Every map and slice in an event is the subscriber's own copy.
type Event interface {
	// Seq is the event's router-wide sequence number: one more for each event the
	// Router announces, whichever subscriptions it reaches (an event of a type that
	// no subscription takes is not built, but still takes its number: see
	// SubscribeOptions). A subscription receives its events in increasing Seq; one
	// without filters sees no gap while it is open.
	Seq() uint64
	// Time is the Router's time when the change happened (the clock reading of the
	// call, or the deadline that fired).
	Time() time.Time
	// Type names the event's struct.
	Type() EventType

	isEvent()
}

// eventHeader holds what every event carries.
type eventHeader struct {
	seq uint64
	at  time.Time
}

// Seq returns the event's router-wide sequence number.
func (h eventHeader) Seq() uint64 { return h.seq }

// Time returns the Router's time when the event happened.
func (h eventHeader) Time() time.Time { return h.at }

func (eventHeader) isEvent() {}

// JobReceived announces a job created by CreateJob.
type JobReceived struct {
	eventHeader
	JobID            string
	ChannelID        string
	ChannelReference string
	// QueueID is the queue given on creation; empty when a classification policy
	// will choose it.
	QueueID                string
	ClassificationPolicyID string
	Priority               int
	Labels                 Labels
	Tags                   Labels
}

// JobClassified announces that a classification policy set a job's queue, priority
// and worker selectors.
type JobClassified struct {
	eventHeader
	JobID                  string
	ChannelID              string
	ChannelReference       string
	QueueID                string
	ClassificationPolicyID string
	Priority               int
	Labels                 Labels
	Tags                   Labels
}

// JobClassificationFailed announces that a classification policy could not classify a
// job; the job's status is classificationFailed.
type JobClassificationFailed struct {
	eventHeader
	JobID                  string
	ChannelID              string
	ChannelReference       string
	ClassificationPolicyID string
	// Reason says why classification failed (a rule error, no queue found, ...).
	Reason string
	Labels Labels
	Tags   Labels
}

// JobQueued announces that a job entered its queue and waits for an offer.
type JobQueued struct {
	eventHeader
	JobID            string
	ChannelID        string
	ChannelReference string
	QueueID          string
	Priority         int
	Labels           Labels
	Tags             Labels
}

// JobCompleted announces that the worker holding a job completed it (CompleteJob).
type JobCompleted struct {
	eventHeader
	JobID            string
	AssignmentID     string
	WorkerID         string
	ChannelID        string
	ChannelReference string
	QueueID          string
	Labels           Labels
	Tags             Labels
}

// JobClosed announces that a job was closed (CloseJob), which frees the worker's
// capacity.
type JobClosed struct {
	eventHeader
	JobID            string
	AssignmentID     string
	WorkerID         string
	ChannelID        string
	ChannelReference string
	QueueID          string
	DispositionCode  string
	Labels           Labels
	Tags             Labels
}

// JobCancelled announces that a job was cancelled, by CancelJob, by an exception
// rule's CancelAction, or for reaching its maximum age.
type JobCancelled struct {
	eventHeader
	JobID string
	// AssignmentID and WorkerID name the assignment the cancellation ended, when the
	// job was assigned or completed; empty otherwise.
	AssignmentID     string
	WorkerID         string
	ChannelID        string
	ChannelReference string
	QueueID          string
	DispositionCode  string
	Note             string
	Labels           Labels
	Tags             Labels
}

// JobExceptionTriggered announces that an exception rule's trigger fired for a job;
// the rule's actions follow as their own events.
type JobExceptionTriggered struct {
	eventHeader
	JobID            string
	ChannelID        string
	ChannelReference string
	QueueID          string
	// RuleID is the ID of the exception rule that fired.
	RuleID string
	Labels Labels
	Tags   Labels
}

// JobWorkerSelectorsExpired announces that some of a job's worker selectors expired
// (their ExpiresAfter passed) and no longer exclude workers.
type JobWorkerSelectorsExpired struct {
	eventHeader
	JobID            string
	ChannelID        string
	ChannelReference string
	QueueID          string
	// ExpiredRequestedSelectors are the job's requested selectors that expired.
	ExpiredRequestedSelectors []WorkerSelector
	// ExpiredAttachedSelectors are the selectors attached by classification that
	// expired.
	ExpiredAttachedSelectors []WorkerSelector
	Labels                   Labels
	Tags                     Labels
}

// JobUnassigned announces that a job was taken back from its worker (UnassignJob); it
// is queued again unless matching was suspended.
type JobUnassigned struct {
	eventHeader
	JobID            string
	AssignmentID     string
	WorkerID         string
	ChannelID        string
	ChannelReference string
	QueueID          string
	// UnassignmentCount is how many times the job has been unassigned, this time
	// included.
	UnassignmentCount int
	Labels            Labels
	Tags              Labels
}

// JobWaitingForActivation announces that a job waits to be activated by UpdateJob
// (MatchingMode back to QueueAndMatchMode): a scheduled job reached its ScheduledAt,
// a job was created or updated with SuspendMode, or UnassignJob suspended it.
type JobWaitingForActivation struct {
	eventHeader
	JobID            string
	ChannelID        string
	ChannelReference string
	QueueID          string
	Priority         int
	ScheduledAt      time.Time
	Labels           Labels
	Tags             Labels
}

// JobSchedulingFailed announces that a job could not be scheduled; its status is
// scheduleFailed.
type JobSchedulingFailed struct {
	eventHeader
	JobID            string
	ChannelID        string
	ChannelReference string
	QueueID          string
	// Reason says why scheduling failed.
	Reason      string
	ScheduledAt time.Time
	Labels      Labels
	Tags        Labels
}

// JobDeleted announces that a job was deleted.
type JobDeleted struct {
	eventHeader
	JobID            string
	ChannelID        string
	ChannelReference string
	QueueID          string
}

// OfferIssued announces that a job was offered to a worker. The offer is open until
// the worker accepts or declines it, it is revoked, or ExpiresAt passes.
type OfferIssued struct {
	eventHeader
	WorkerID         string
	JobID            string
	OfferID          string
	QueueID          string
	ChannelID        string
	ChannelReference string
	JobPriority      int
	OfferedAt        time.Time
	// ExpiresAt is when the offer expires if the worker has not answered it.
	ExpiresAt    time.Time
	JobLabels    Labels
	JobTags      Labels
	WorkerLabels Labels
	WorkerTags   Labels
}

// OfferAccepted announces that a worker accepted an offer; the job is assigned to it
// under AssignmentID. The job's other open offers are revoked.
type OfferAccepted struct {
	eventHeader
	WorkerID         string
	JobID            string
	OfferID          string
	AssignmentID     string
	QueueID          string
	ChannelID        string
	ChannelReference string
	JobPriority      int
	JobLabels        Labels
	JobTags          Labels
	WorkerLabels     Labels
	WorkerTags       Labels
}

// OfferDeclined announces that a worker declined an offer.
type OfferDeclined struct {
	eventHeader
	WorkerID         string
	JobID            string
	OfferID          string
	QueueID          string
	ChannelID        string
	ChannelReference string
	// RetryOfferAt is when the job may be offered to this worker again; zero: never.
	RetryOfferAt time.Time
}

// OfferExpired announces that an offer's ExpiresAt passed before the worker answered.
type OfferExpired struct {
	eventHeader
	WorkerID         string
	JobID            string
	OfferID          string
	QueueID          string
	ChannelID        string
	ChannelReference string
	// RetryOfferAt is when the job may be offered to this worker again; zero: no
	// restriction.
	RetryOfferAt time.Time
}

// OfferRevoked announces that an open offer was withdrawn by the Router.
type OfferRevoked struct {
	eventHeader
	WorkerID         string
	JobID            string
	OfferID          string
	QueueID          string
	ChannelID        string
	ChannelReference string
	// Reason says why the offer was withdrawn (another worker accepted the job, the
	// job was cancelled or reclassified, the worker was deregistered, ...).
	Reason string
}

// WorkerRegistered announces that a worker became available for offers.
type WorkerRegistered struct {
	eventHeader
	WorkerID string
	// Queues are the IDs of the queues the worker takes jobs from.
	Queues []string
	// Capacity is the worker's total capacity, in capacity units.
	Capacity int
	Channels []ChannelConfig
	Labels   Labels
	Tags     Labels
}

// WorkerDeregistered announces that a worker stopped being available for offers.
type WorkerDeregistered struct {
	eventHeader
	WorkerID string
}

// WorkerUpdated announces that a worker's properties changed (whatever its state).
type WorkerUpdated struct {
	eventHeader
	WorkerID string
	// Queues are the IDs of the queues the worker takes jobs from.
	Queues []string
	// Capacity is the worker's total capacity, in capacity units.
	Capacity int
	Channels []ChannelConfig
	Labels   Labels
	Tags     Labels
	// UpdatedProperties names the properties that changed (e.g. "Labels", "Queues").
	UpdatedProperties []string
}

// WorkerDeleted announces that a worker was deleted.
type WorkerDeleted struct {
	eventHeader
	WorkerID string
}

// Type returns EventTypeJobReceived.
func (JobReceived) Type() EventType { return EventTypeJobReceived }

// Type returns EventTypeJobClassified.
func (JobClassified) Type() EventType { return EventTypeJobClassified }

// Type returns EventTypeJobClassificationFailed.
func (JobClassificationFailed) Type() EventType { return EventTypeJobClassificationFailed }

// Type returns EventTypeJobQueued.
func (JobQueued) Type() EventType { return EventTypeJobQueued }

// Type returns EventTypeJobCompleted.
func (JobCompleted) Type() EventType { return EventTypeJobCompleted }

// Type returns EventTypeJobClosed.
func (JobClosed) Type() EventType { return EventTypeJobClosed }

// Type returns EventTypeJobCancelled.
func (JobCancelled) Type() EventType { return EventTypeJobCancelled }

// Type returns EventTypeJobExceptionTriggered.
func (JobExceptionTriggered) Type() EventType { return EventTypeJobExceptionTriggered }

// Type returns EventTypeJobWorkerSelectorsExpired.
func (JobWorkerSelectorsExpired) Type() EventType { return EventTypeJobWorkerSelectorsExpired }

// Type returns EventTypeJobUnassigned.
func (JobUnassigned) Type() EventType { return EventTypeJobUnassigned }

// Type returns EventTypeJobWaitingForActivation.
func (JobWaitingForActivation) Type() EventType { return EventTypeJobWaitingForActivation }

// Type returns EventTypeJobSchedulingFailed.
func (JobSchedulingFailed) Type() EventType { return EventTypeJobSchedulingFailed }

// Type returns EventTypeJobDeleted.
func (JobDeleted) Type() EventType { return EventTypeJobDeleted }

// Type returns EventTypeOfferIssued.
func (OfferIssued) Type() EventType { return EventTypeOfferIssued }

// Type returns EventTypeOfferAccepted.
func (OfferAccepted) Type() EventType { return EventTypeOfferAccepted }

// Type returns EventTypeOfferDeclined.
func (OfferDeclined) Type() EventType { return EventTypeOfferDeclined }

// Type returns EventTypeOfferExpired.
func (OfferExpired) Type() EventType { return EventTypeOfferExpired }

// Type returns EventTypeOfferRevoked.
func (OfferRevoked) Type() EventType { return EventTypeOfferRevoked }

// Type returns EventTypeWorkerRegistered.
func (WorkerRegistered) Type() EventType { return EventTypeWorkerRegistered }

// Type returns EventTypeWorkerDeregistered.
func (WorkerDeregistered) Type() EventType { return EventTypeWorkerDeregistered }

// Type returns EventTypeWorkerUpdated.
func (WorkerUpdated) Type() EventType { return EventTypeWorkerUpdated }

// Type returns EventTypeWorkerDeleted.
func (WorkerDeleted) Type() EventType { return EventTypeWorkerDeleted }

// toEvent converts an engine event to its public struct, copying every map and slice
// (with the converters of convert.go) so that nothing the caller receives aliases
// engine state or another subscriber's event; a worker's labels are built once, as a
// new map from the engine's shared label set plus "Id" (engine.Event.WorkerLabelMap).
// It returns nil for a type it does not know. It reads the engine event's maps and
// sets without the Router's lock, which is safe because the engine never writes into
// a map or set it has stored (it replaces it).
func toEvent(ev *engine.Event) Event {
	h := eventHeader{seq: ev.Seq, at: ev.Time}
	switch EventType(ev.Type) {
	case EventTypeJobReceived:
		return JobReceived{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID,
			ClassificationPolicyID: ev.ClassificationPolicyID, Priority: ev.JobPriority,
			Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobClassified:
		return JobClassified{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID,
			ClassificationPolicyID: ev.ClassificationPolicyID, Priority: ev.JobPriority,
			Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobClassificationFailed:
		return JobClassificationFailed{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, ClassificationPolicyID: ev.ClassificationPolicyID,
			Reason: ev.Extras().Reason, Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobQueued:
		return JobQueued{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID, Priority: ev.JobPriority,
			Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobCompleted:
		return JobCompleted{eventHeader: h, JobID: ev.JobID, AssignmentID: ev.AssignmentID,
			WorkerID: ev.WorkerID, ChannelID: ev.ChannelID, ChannelReference: ev.ChannelReference,
			QueueID: ev.QueueID, Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobClosed:
		return JobClosed{eventHeader: h, JobID: ev.JobID, AssignmentID: ev.AssignmentID,
			WorkerID: ev.WorkerID, ChannelID: ev.ChannelID, ChannelReference: ev.ChannelReference,
			QueueID: ev.QueueID, DispositionCode: ev.DispositionCode,
			Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobCancelled:
		return JobCancelled{eventHeader: h, JobID: ev.JobID, AssignmentID: ev.AssignmentID, WorkerID: ev.WorkerID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID,
			DispositionCode: ev.DispositionCode, Note: ev.Extras().Note,
			Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobExceptionTriggered:
		return JobExceptionTriggered{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID, RuleID: ev.Extras().RuleID,
			Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobWorkerSelectorsExpired:
		return JobWorkerSelectorsExpired{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID,
			ExpiredRequestedSelectors: selectorsFromEngine(ev.Extras().RequestedSelectors),
			ExpiredAttachedSelectors:  selectorsFromEngine(ev.Extras().AttachedSelectors),
			Labels:                    labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobUnassigned:
		return JobUnassigned{eventHeader: h, JobID: ev.JobID, AssignmentID: ev.AssignmentID,
			WorkerID: ev.WorkerID, ChannelID: ev.ChannelID, ChannelReference: ev.ChannelReference,
			QueueID: ev.QueueID, UnassignmentCount: ev.Extras().UnassignmentCount,
			Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobWaitingForActivation:
		return JobWaitingForActivation{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID, Priority: ev.JobPriority,
			ScheduledAt: ev.Extras().ScheduledAt, Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobSchedulingFailed:
		return JobSchedulingFailed{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID, Reason: ev.Extras().Reason,
			ScheduledAt: ev.Extras().ScheduledAt, Labels: labelsFromEngine(ev.JobLabels), Tags: labelsFromEngine(ev.JobTags)}
	case EventTypeJobDeleted:
		return JobDeleted{eventHeader: h, JobID: ev.JobID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, QueueID: ev.QueueID}
	case EventTypeOfferIssued:
		return OfferIssued{eventHeader: h, WorkerID: ev.WorkerID, JobID: ev.JobID, OfferID: ev.OfferID,
			QueueID: ev.QueueID, ChannelID: ev.ChannelID, ChannelReference: ev.ChannelReference,
			JobPriority: ev.JobPriority, OfferedAt: ev.Time, ExpiresAt: ev.ExpiresAt,
			JobLabels: labelsFromEngine(ev.JobLabels), JobTags: labelsFromEngine(ev.JobTags),
			WorkerLabels: Labels(ev.WorkerLabelMap()), WorkerTags: labelsFromEngine(ev.WorkerTags)}
	case EventTypeOfferAccepted:
		return OfferAccepted{eventHeader: h, WorkerID: ev.WorkerID, JobID: ev.JobID, OfferID: ev.OfferID,
			AssignmentID: ev.AssignmentID, QueueID: ev.QueueID, ChannelID: ev.ChannelID,
			ChannelReference: ev.ChannelReference, JobPriority: ev.JobPriority,
			JobLabels: labelsFromEngine(ev.JobLabels), JobTags: labelsFromEngine(ev.JobTags),
			WorkerLabels: Labels(ev.WorkerLabelMap()), WorkerTags: labelsFromEngine(ev.WorkerTags)}
	case EventTypeOfferDeclined:
		return OfferDeclined{eventHeader: h, WorkerID: ev.WorkerID, JobID: ev.JobID, OfferID: ev.OfferID,
			QueueID: ev.QueueID, ChannelID: ev.ChannelID, ChannelReference: ev.ChannelReference,
			RetryOfferAt: ev.Extras().RetryOfferAt}
	case EventTypeOfferExpired:
		return OfferExpired{eventHeader: h, WorkerID: ev.WorkerID, JobID: ev.JobID, OfferID: ev.OfferID,
			QueueID: ev.QueueID, ChannelID: ev.ChannelID, ChannelReference: ev.ChannelReference,
			RetryOfferAt: ev.Extras().RetryOfferAt}
	case EventTypeOfferRevoked:
		return OfferRevoked{eventHeader: h, WorkerID: ev.WorkerID, JobID: ev.JobID, OfferID: ev.OfferID,
			QueueID: ev.QueueID, ChannelID: ev.ChannelID, ChannelReference: ev.ChannelReference,
			Reason: ev.Extras().Reason}
	case EventTypeWorkerRegistered:
		x := ev.Extras()
		return WorkerRegistered{eventHeader: h, WorkerID: ev.WorkerID, Queues: slices.Clone(x.Queues),
			Capacity: x.Capacity, Channels: channelsFromEngine(x.Channels),
			Labels: Labels(ev.WorkerLabelMap()), Tags: labelsFromEngine(ev.WorkerTags)}
	case EventTypeWorkerDeregistered:
		return WorkerDeregistered{eventHeader: h, WorkerID: ev.WorkerID}
	case EventTypeWorkerUpdated:
		x := ev.Extras()
		return WorkerUpdated{eventHeader: h, WorkerID: ev.WorkerID, Queues: slices.Clone(x.Queues),
			Capacity: x.Capacity, Channels: channelsFromEngine(x.Channels),
			Labels: Labels(ev.WorkerLabelMap()), Tags: labelsFromEngine(ev.WorkerTags),
			UpdatedProperties: slices.Clone(x.UpdatedProperties)}
	case EventTypeWorkerDeleted:
		return WorkerDeleted{eventHeader: h, WorkerID: ev.WorkerID}
	}
	return nil
}
