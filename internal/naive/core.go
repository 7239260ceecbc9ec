package naive

import (
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// Core is the command set that *engine.Engine and *Router share: the core lifecycle,
// with the engine's own value types. A differential test or a simulator can drive
// either through it.
type Core interface {
	Advance(now time.Time)
	NextDeadline() (time.Time, bool)
	TakeEvents() []engine.Event

	UpsertDistributionPolicy(now time.Time, p engine.DistributionPolicy) (engine.DistributionPolicy, error)
	GetDistributionPolicy(id string) (engine.DistributionPolicy, error)
	ListDistributionPolicies(pg engine.Page) []engine.DistributionPolicy
	DeleteDistributionPolicy(now time.Time, id string) error

	UpsertQueue(now time.Time, q engine.Queue) (engine.Queue, error)
	GetQueue(id string) (engine.Queue, error)
	ListQueues(pg engine.Page) []engine.Queue
	DeleteQueue(now time.Time, id string) error

	UpsertWorker(now time.Time, w engine.Worker) (engine.Worker, error)
	GetWorker(id string) (engine.Worker, error)
	ListWorkers(f engine.WorkerFilter) []engine.Worker
	DeleteWorker(now time.Time, id string) error

	CreateJob(now time.Time, j engine.Job) (engine.Job, error)
	UpdateJob(now time.Time, j engine.Job) (engine.Job, error)
	GetJob(id string) (engine.Job, error)
	ListJobs(f engine.JobFilter) []engine.Job
	DeleteJob(now time.Time, id string) error

	AcceptOffer(now time.Time, workerID, offerID string) (jobID, assignmentID string, err error)
	DeclineOffer(now time.Time, workerID, offerID string, retryAt time.Time) error
	CompleteJob(now time.Time, jobID, assignmentID, note string) error
	CloseJob(now time.Time, jobID, assignmentID, dispositionCode, note string, closeAt time.Time) error
	CancelJob(now time.Time, jobID, dispositionCode, note string) error
	UnassignJob(now time.Time, jobID, assignmentID string, suspend bool) (unassignmentCount int, err error)
}

var _ Core = (*Router)(nil)
