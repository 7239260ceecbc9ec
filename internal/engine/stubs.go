package engine

import "time"

// TEMPORARY signatures; bodies are being written in the concept files.

type Engine struct{}

func New(cfg Config) *Engine                      { panic("todo") }
func (e *Engine) Advance(now time.Time)           { panic("todo") }
func (e *Engine) NextDeadline() (time.Time, bool) { panic("todo") }
func (e *Engine) TakeEvents() []Event             { panic("todo") }

func (e *Engine) UpsertDistributionPolicy(now time.Time, p DistributionPolicy) (DistributionPolicy, error) {
	panic("todo")
}
func (e *Engine) GetDistributionPolicy(id string) (DistributionPolicy, error) { panic("todo") }
func (e *Engine) ListDistributionPolicies(p Page) []DistributionPolicy        { panic("todo") }
func (e *Engine) DeleteDistributionPolicy(now time.Time, id string) error     { panic("todo") }

func (e *Engine) UpsertQueue(now time.Time, q Queue) (Queue, error) { panic("todo") }
func (e *Engine) GetQueue(id string) (Queue, error)                 { panic("todo") }
func (e *Engine) ListQueues(p Page) []Queue                         { panic("todo") }
func (e *Engine) DeleteQueue(now time.Time, id string) error        { panic("todo") }

func (e *Engine) UpsertWorker(now time.Time, w Worker) (Worker, error) { panic("todo") }
func (e *Engine) GetWorker(id string) (Worker, error)                  { panic("todo") }
func (e *Engine) ListWorkers(f WorkerFilter) []Worker                  { panic("todo") }
func (e *Engine) DeleteWorker(now time.Time, id string) error          { panic("todo") }

func (e *Engine) CreateJob(now time.Time, j Job) (Job, error) { panic("todo") }
func (e *Engine) UpdateJob(now time.Time, j Job) (Job, error) { panic("todo") }
func (e *Engine) GetJob(id string) (Job, error)               { panic("todo") }
func (e *Engine) ListJobs(f JobFilter) []Job                  { panic("todo") }
func (e *Engine) DeleteJob(now time.Time, id string) error    { panic("todo") }

func (e *Engine) AcceptOffer(now time.Time, workerID, offerID string) (jobID, assignmentID string, err error) {
	panic("todo")
}
func (e *Engine) DeclineOffer(now time.Time, workerID, offerID string, retryAt time.Time) error {
	panic("todo")
}
func (e *Engine) CompleteJob(now time.Time, jobID, assignmentID, note string) error { panic("todo") }
func (e *Engine) CloseJob(now time.Time, jobID, assignmentID, code, note string, closeAt time.Time) error {
	panic("todo")
}
func (e *Engine) CancelJob(now time.Time, jobID, code, note string) error { panic("todo") }
func (e *Engine) UnassignJob(now time.Time, jobID, assignmentID string, suspend bool) (count int, err error) {
	panic("todo")
}
