package engine

import (
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// Labels is a map of label (or tag) values. The engine treats every Labels it stores
// as immutable: an update replaces the map, it never writes into it. That lets events
// share the stored map; the shell copies it before handing it to a caller.
type Labels = map[string]any

// JobStatus values equal the public ones.
type JobStatus string

// Job statuses (Azure's values).
const (
	JobCreated               JobStatus = "created"
	JobPendingClassification JobStatus = "pendingClassification"
	JobQueued                JobStatus = "queued"
	JobAssigned              JobStatus = "assigned"
	JobCompleted             JobStatus = "completed"
	JobClosed                JobStatus = "closed"
	JobCancelled             JobStatus = "cancelled"
	JobClassificationFailed  JobStatus = "classificationFailed"
	JobPendingSchedule       JobStatus = "pendingSchedule"
	JobScheduled             JobStatus = "scheduled"
	JobScheduleFailed        JobStatus = "scheduleFailed"
	JobWaitingForActivation  JobStatus = "waitingForActivation"
)

// Terminal reports whether s is closed or cancelled.
func (s JobStatus) Terminal() bool { return s == JobClosed || s == JobCancelled }

// statusCode is a JobStatus in one byte, as a job record keeps it (jobState.st):
// its index in jobStatuses. A string header would take 16 bytes of every job (B4).
type statusCode uint8

// The status codes, in jobStatuses' order.
const (
	stCreated statusCode = iota
	stPendingClassification
	stQueued
	stAssigned
	stCompleted
	stClosed
	stCancelled
	stClassificationFailed
	stPendingSchedule
	stScheduled
	stScheduleFailed
	stWaitingForActivation
)

// jobStatuses maps a statusCode to its JobStatus.
var jobStatuses = [...]JobStatus{
	stCreated:               JobCreated,
	stPendingClassification: JobPendingClassification,
	stQueued:                JobQueued,
	stAssigned:              JobAssigned,
	stCompleted:             JobCompleted,
	stClosed:                JobClosed,
	stCancelled:             JobCancelled,
	stClassificationFailed:  JobClassificationFailed,
	stPendingSchedule:       JobPendingSchedule,
	stScheduled:             JobScheduled,
	stScheduleFailed:        JobScheduleFailed,
	stWaitingForActivation:  JobWaitingForActivation,
}

// status returns the JobStatus c stands for. O(1).
func (c statusCode) status() JobStatus { return jobStatuses[c] }

// terminal reports whether c is closed or cancelled.
func (c statusCode) terminal() bool { return c == stClosed || c == stCancelled }

// WorkerState values equal the public ones.
type WorkerState string

// Worker states.
const (
	WorkerActive   WorkerState = "active"
	WorkerDraining WorkerState = "draining"
	WorkerInactive WorkerState = "inactive"
)

// ModeKind is a distribution mode.
type ModeKind uint8

// Distribution modes.
const (
	LongestIdle ModeKind = iota + 1
	RoundRobin
	BestWorker
)

// ScoringInput is what a Go scoring function sees. WorkerLabels is a new map for
// each call, "Id" included, that nothing else holds: the function may keep it or
// write to it.
type ScoringInput struct {
	JobLabels, WorkerLabels Labels
	WorkerID                string
	Selectors               []Selector
}

// ScoreFunc scores one worker for one job. It is user code: the engine recovers its
// panics and treats an error or a panic as the worst score.
type ScoreFunc func(in ScoringInput) (float64, error)

// Mode is a distribution mode with its options.
type Mode struct {
	Kind                ModeKind
	MinConcurrentOffers int // >= 1
	MaxConcurrentOffers int // >= Min
	BypassSelectors     bool
	// BestWorker only.
	Score ScoreFunc // nil: the default scoring
	// ScoreOrigin is the caller's own scoring function that Score adapts, kept
	// untouched so that reading a policy back returns the caller's function.
	ScoreOrigin any
	BatchSize   int
	Batching    bool
	Descending  bool
}

// DistributionPolicy is a stored distribution policy.
type DistributionPolicy struct {
	ID                string
	Name              string
	OfferExpiresAfter time.Duration
	Mode              Mode
}

// Queue is a stored queue. Labels always hold "Id" = ID.
type Queue struct {
	ID                   string
	Name                 string
	DistributionPolicyID string
	ExceptionPolicyID    string
	Labels               Labels
}

// ChannelConfig is a worker's entry for one channel.
type ChannelConfig struct {
	ChannelID          string
	CapacityCostPerJob int
	MaxNumberOfJobs    int // 0: no limit
}

// Offer is an open offer.
type Offer struct {
	ID           string
	JobID        string
	WorkerID     string
	CapacityCost int
	OfferedAt    time.Time
	ExpiresAt    time.Time
}

// Worker is a worker as given to UpsertWorker and as read back. Read back, Labels is
// a new map that always holds "Id" = ID.
type Worker struct {
	ID                  string
	Queues              []string
	Capacity            int
	Channels            []ChannelConfig
	Labels              Labels
	Tags                Labels
	AvailableForOffers  bool
	MaxConcurrentOffers int // 0: no limit
	// Read-only.
	State        WorkerState
	Offers       []Offer
	AssignedJobs []AssignedJob
	LoadRatio    float64
}

// AssignedJob is one job a worker holds (assigned, or completed and not yet closed).
type AssignedJob struct {
	AssignmentID string
	JobID        string
	CapacityCost int
	AssignedAt   time.Time
}

// Selector is a worker selector.
type Selector struct {
	Key          string
	Op           labels.Operator
	Value        any
	ExpiresAfter time.Duration
	Expedite     bool
	// Read-only.
	Expired   bool
	ExpiresAt time.Time
}

// MatchingKind is a job's matching mode.
type MatchingKind uint8

// Matching modes.
const (
	QueueAndMatch MatchingKind = iota // the zero value
	ScheduleAndSuspend
	Suspend
)

// MatchingMode is a job's matching mode.
type MatchingMode struct {
	Kind       MatchingKind
	ScheduleAt time.Time // ScheduleAndSuspend only
}

// Note is a note on a job.
type Note struct {
	Message string
	AddedAt time.Time
}

// Assignment is one assignment in a job's history.
type Assignment struct {
	ID           string
	JobID        string
	WorkerID     string
	CapacityCost int
	AssignedAt   time.Time
	CompletedAt  time.Time
	ClosedAt     time.Time
}

// Job is a stored job.
type Job struct {
	ID                       string
	ChannelID                string
	ChannelReference         string
	QueueID                  string
	ClassificationPolicyID   string
	Priority                 int
	RequestedWorkerSelectors []Selector
	Labels                   Labels
	Tags                     Labels
	Notes                    []Note
	MatchingMode             MatchingMode
	// Read-only.
	Status                  JobStatus
	CreatedAt               time.Time
	EnqueuedAt              time.Time
	ScheduledAt             time.Time
	AttachedWorkerSelectors []Selector
	Assignments             map[string]Assignment
	DispositionCode         string
	UnassignmentCount       int
}

// EventType values equal the public ones.
type EventType string

// Event types.
const (
	EvJobReceived               EventType = "JobReceived"
	EvJobClassified             EventType = "JobClassified"
	EvJobClassificationFailed   EventType = "JobClassificationFailed"
	EvJobQueued                 EventType = "JobQueued"
	EvJobCompleted              EventType = "JobCompleted"
	EvJobClosed                 EventType = "JobClosed"
	EvJobCancelled              EventType = "JobCancelled"
	EvJobExceptionTriggered     EventType = "JobExceptionTriggered"
	EvJobWorkerSelectorsExpired EventType = "JobWorkerSelectorsExpired"
	EvJobUnassigned             EventType = "JobUnassigned"
	EvJobWaitingForActivation   EventType = "JobWaitingForActivation"
	EvJobSchedulingFailed       EventType = "JobSchedulingFailed"
	EvJobDeleted                EventType = "JobDeleted"
	EvOfferIssued               EventType = "OfferIssued"
	EvOfferAccepted             EventType = "OfferAccepted"
	EvOfferDeclined             EventType = "OfferDeclined"
	EvOfferExpired              EventType = "OfferExpired"
	EvOfferRevoked              EventType = "OfferRevoked"
	EvWorkerRegistered          EventType = "WorkerRegistered"
	EvWorkerDeregistered        EventType = "WorkerDeregistered"
	EvWorkerUpdated             EventType = "WorkerUpdated"
	EvWorkerDeleted             EventType = "WorkerDeleted"
)

// eventTypeBits gives each event type one bit, in the order above, for sets of
// them (the shell's Types filters).
var eventTypeBits = func() map[EventType]uint32 {
	all := []EventType{
		EvJobReceived, EvJobClassified, EvJobClassificationFailed, EvJobQueued,
		EvJobCompleted, EvJobClosed, EvJobCancelled, EvJobExceptionTriggered,
		EvJobWorkerSelectorsExpired, EvJobUnassigned, EvJobWaitingForActivation,
		EvJobSchedulingFailed, EvJobDeleted, EvOfferIssued, EvOfferAccepted,
		EvOfferDeclined, EvOfferExpired, EvOfferRevoked, EvWorkerRegistered,
		EvWorkerDeregistered, EvWorkerUpdated, EvWorkerDeleted,
	}
	if len(all) >= 31 {
		panic("engine: more event types than bits below AnyEventType")
	}
	m := make(map[EventType]uint32, len(all))
	for i, t := range all {
		m[t] = 1 << i
	}
	return m
}()

// EventTypeBit returns t's bit in a set of event types held as a uint32; 0 for a
// string that names no event type. O(1).
func EventTypeBit(t EventType) uint32 { return eventTypeBits[t] }

// AnyEventType, in a set of event types, stands for every type.
const AnyEventType uint32 = 1 << 31

// Event is one state change. It is a flat union: each type fills the fields that
// apply to it (see the public event structs). Maps, slices and sets in it are shared
// with the engine's stored state and must not be written to. WorkerLabels is the
// worker's interned label set, which does not hold "Id": WorkerLabelMap gives the
// labels as a map with it.
//
// Only the fields that the frequent events (jobs received, queued, completed and
// closed; offers issued, accepted, expired) carry are inline; the rest are in an
// EventExtra that only the events carrying one of them allocate. An event is
// copied several times on its way to a subscriber (to Config.Emit, into the bus's log
// or each subscription's queue, out of it), each copy of a pointerful struct into the
// heap pays the GC's write barriers, and a stalled subscriber holds tens of thousands
// of them: TestEventSize keeps it small.
type Event struct {
	Seq  uint64
	Time time.Time // OfferIssued: also the offer's OfferedAt, which is always the time it is issued
	Type EventType

	JobID            string
	WorkerID         string
	OfferID          string
	AssignmentID     string
	QueueID          string
	ChannelID        string
	ChannelReference string

	ClassificationPolicyID string
	JobPriority            int
	JobStatus              JobStatus // job events: the job's status after the event
	JobLabels, JobTags     Labels
	WorkerLabels           *labels.Set // without "Id" (WorkerLabelMap adds it)
	WorkerTags             Labels

	ExpiresAt       time.Time // OfferIssued
	DispositionCode string    // JobClosed, JobCancelled

	// Extra holds the rarer fields; nil when the event carries none of them. Like
	// the maps, it may be shared and must not be written to once emitted.
	Extra *EventExtra
}

// EventExtra holds the fields of Event that only a few event types carry. Only the
// events of those types allocate one, and these leave it nil when its field would be
// zero: OfferDeclined without a RetryOfferAt, JobCancelled without a note,
// JobWaitingForActivation of a job never scheduled. The naive router makes the same
// choices, so that the differential tests can compare the two routers' events with
// reflect.DeepEqual.
type EventExtra struct {
	RequestedSelectors []Selector // JobWorkerSelectorsExpired: the selectors that expired
	AttachedSelectors  []Selector // JobWorkerSelectorsExpired
	RetryOfferAt       time.Time  // OfferDeclined
	ScheduledAt        time.Time  // JobWaitingForActivation (when the job was scheduled)
	Note               string     // JobCancelled
	Reason             string     // OfferRevoked, JobClassificationFailed, JobSchedulingFailed
	RuleID             string     // JobExceptionTriggered
	UnassignmentCount  int        // JobUnassigned

	// WorkerRegistered, WorkerUpdated.
	Queues              []string
	Capacity            int
	Channels            []ChannelConfig
	UpdatedProperties   []string // WorkerUpdated
	MaxConcurrentOffers int
}

// noEventExtra is what Extras returns for an event without rarer fields.
var noEventExtra EventExtra

// Extras returns ev's rarer fields, all zero when it has none, without copying them.
// It must not be written through. O(1).
func (ev *Event) Extras() *EventExtra {
	if ev.Extra == nil {
		return &noEventExtra
	}
	return ev.Extra
}

// Code classifies an engine error; the shell maps it to a public sentinel.
type Code uint8

// Error codes.
const (
	CodeInvalid Code = iota + 1
	CodeNotFound
	CodeConflict
)

// Error is an engine error: what failed, on which entity, and why.
type Error struct {
	Code   Code
	Entity string // "job", "worker", "queue", "distribution policy", "offer", "assignment"
	ID     string
	Reason string
}

// Error formats as `<entity> "<id>": <reason>`.
func (e *Error) Error() string { return e.Entity + " " + quote(e.ID) + ": " + e.Reason }

func quote(s string) string { return "\"" + s + "\"" }

func invalid(entity, id, reason string) error {
	return &Error{Code: CodeInvalid, Entity: entity, ID: id, Reason: reason}
}
func notFound(entity, id string) error {
	return &Error{Code: CodeNotFound, Entity: entity, ID: id, Reason: entity + " not found"}
}
func conflict(entity, id, reason string) error {
	return &Error{Code: CodeConflict, Entity: entity, ID: id, Reason: reason}
}
