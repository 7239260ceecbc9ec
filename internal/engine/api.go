package engine

import "time"

// Config holds the engine's router-wide settings.
type Config struct {
	// NewID returns a fresh ID for offers, assignments and jobs created without one.
	// The engine calls it only while applying a command, so a deterministic NewID
	// gives a deterministic engine. A repeated ID gets a suffix that makes it unique
	// among the jobs, among the job's assignments, or among the worker's open
	// offers.
	NewID func() string
	// KeepWorkersOnOfferExpiry, when false (the default), deregisters a worker whose
	// offer expires, as Azure does.
	KeepWorkersOnOfferExpiry bool
	// MaxIDLength bounds every ID, in bytes. Zero means 256.
	MaxIDLength int
	// MaxJobAge is the age at which a job that is not yet terminal is cancelled with
	// disposition "Expired". Zero means 90 days; negative means never.
	MaxJobAge time.Duration
	// Seed seeds the pseudo-random source of weighted allocations.
	Seed uint64
	// Emit, when set, receives each event as it is recorded, instead of the engine
	// keeping it for TakeEvents: a command that records a million events (one Advance
	// over a million expiries) then holds none of them. Emit must not call the
	// engine. The event comes by value, on the stack: handed over by pointer, it
	// would have to be copied into the heap first (a pointer passed to a function
	// value escapes), a copy that a subscriber's path then repeats, each time with
	// the collector's write barriers while it marks.
	Emit func(ev Event)
	// Checks makes every matching pass verify the matching indexes and the stability
	// of the state with CheckIndexes, panicking on a violation. For tests only: it
	// costs O(jobs × workers) per pass.
	Checks bool
	// IndexHeldAt is how many open offers and holdings together make a worker's
	// workerIndex (workerindex.go); it is dropped at half that. Zero or less means
	// 32. It changes no outcome, only how what a worker holds is found: the
	// simulator's small worlds set it low so that they run the indexed path as well.
	IndexHeldAt int
}

// JobFilter selects jobs for ListJobs. Zero fields match everything.
type JobFilter struct {
	Status                 JobStatus // exact status
	Active                 bool      // any non-terminal status
	QueueID                string
	ChannelID              string
	ClassificationPolicyID string
	ScheduledBefore        time.Time // ScheduledAt before this instant
	ScheduledAfter         time.Time // ScheduledAt after this instant
	After                  string    // paging: only IDs greater than this
	Limit                  int       // 0: no limit
}

// WorkerFilter selects workers for ListWorkers. Zero fields match everything.
type WorkerFilter struct {
	State       WorkerState
	ChannelID   string
	QueueID     string
	HasCapacity bool // free capacity for one more job (on ChannelID when set, else on any channel)
	After       string
	Limit       int
}

// Page bounds a List of policies or queues.
type Page struct {
	After string
	Limit int
}
