package engine

import "time"

// Read-only views of the engine's internal bookkeeping, for tests and simulators
// (internal/simtest) that check it against what the observable state implies. None
// of these methods changes the engine.

// DeadlineKind names what a pending deadline is for.
type DeadlineKind string

// Deadline kinds, as Deadlines reports them.
const (
	DeadlineOfferExpiry    DeadlineKind = "offerExpiry"    // ID: the offer ID (unique among its worker's open offers)
	DeadlineRetryOffer     DeadlineKind = "retryOffer"     // ID: job ID, NUL, worker ID
	DeadlineCloseAt        DeadlineKind = "closeAt"        // ID: the job ID
	DeadlineSchedule       DeadlineKind = "schedule"       // ID: the job ID
	DeadlineSelectorExpiry DeadlineKind = "selectorExpiry" // ID: the job ID
	DeadlineMaxAge         DeadlineKind = "maxAge"         // ID: the job ID
	DeadlineWaitTime       DeadlineKind = "waitTime"       // ID: job ID, NUL, exception rule ID
	DeadlineUnknown        DeadlineKind = "unknown"
)

// PendingDeadline is one deadline the engine holds.
type PendingDeadline struct {
	Kind DeadlineKind
	ID   string
	When time.Time
}

// Deadlines returns every pending deadline in the order they would fire (time, then
// the order they were set). O(n log n).
func (e *Engine) Deadlines() []PendingDeadline {
	all := e.pendingDeadlines()
	out := make([]PendingDeadline, len(all))
	for i, d := range all {
		k := DeadlineUnknown
		switch d.Kind {
		case dlOfferExpiry:
			k = DeadlineOfferExpiry
		case dlRetryOffer:
			k = DeadlineRetryOffer
		case dlCloseAt:
			k = DeadlineCloseAt
		case dlSchedule:
			k = DeadlineSchedule
		case dlSelectorExpiry:
			k = DeadlineSelectorExpiry
		case dlMaxAge:
			k = DeadlineMaxAge
		case dlWaitTime:
			k = DeadlineWaitTime
		}
		out[i] = PendingDeadline{Kind: k, ID: d.ID, When: d.When}
	}
	return out
}

// Now returns the latest time the engine has seen: the time its commands act at
// (a command given an earlier time acts at this one).
func (e *Engine) Now() time.Time { return e.now }

// Wanted returns the event types the engine records, as SetWanted last set them.
// O(1).
func (e *Engine) Wanted() uint32 { return e.wanted }
