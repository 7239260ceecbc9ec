package jobrouter

import "time"

// LabelOperator is the comparison a selector applies between a label's value and the
// selector's Value. Its values are Azure Job Router's.
//
// Equal and NotEqual compare strings, bools and numbers (integers and floats compare
// by value, so 5 equals 5.0). The four ordering operators compare numbers only: a
// non-number on either side fails them. A missing label fails Equal and the ordering
// operators and satisfies NotEqual.
type LabelOperator string

// The six label operators.
const (
	// LabelOperatorEqual holds when the label equals Value.
	LabelOperatorEqual LabelOperator = "equal"
	// LabelOperatorNotEqual holds when the label differs from Value or is missing.
	LabelOperatorNotEqual LabelOperator = "notEqual"
	// LabelOperatorLessThan holds when the label is a number less than Value.
	LabelOperatorLessThan LabelOperator = "lessThan"
	// LabelOperatorLessThanOrEqual holds when the label is a number less than or equal
	// to Value.
	LabelOperatorLessThanOrEqual LabelOperator = "lessThanOrEqual"
	// LabelOperatorGreaterThan holds when the label is a number greater than Value.
	LabelOperatorGreaterThan LabelOperator = "greaterThan"
	// LabelOperatorGreaterThanOrEqual holds when the label is a number greater than or
	// equal to Value.
	LabelOperatorGreaterThanOrEqual LabelOperator = "greaterThanOrEqual"
)

// SelectorStatus says whether a worker selector still applies.
type SelectorStatus string

// The selector statuses.
const (
	// SelectorStatusActive: the selector applies to matching.
	SelectorStatusActive SelectorStatus = "active"
	// SelectorStatusExpired: the selector's ExpiresAfter has passed; it no longer
	// excludes workers.
	SelectorStatusExpired SelectorStatus = "expired"
)

// WorkerSelector is a condition a worker's labels must meet for the worker to be
// offered a job: the worker's label Key compared with Value by LabelOperator.
type WorkerSelector struct {
	// Key is the label key. Required.
	Key string
	// LabelOperator is the comparison. Required: one of the six LabelOperator values.
	LabelOperator LabelOperator
	// Value is the value compared with: a string, bool, integer or finite float.
	Value any
	// ExpiresAfter, when positive, makes the selector expire that long after it was
	// attached to the job; an expired selector no longer excludes workers. **(ours)**
	// The clock runs whatever the job's status (scheduled, waiting, assigned...); an
	// UpdateJob that keeps an identical selector keeps its clock. Defaults to zero: the
	// selector never expires.
	ExpiresAfter time.Duration
	// Expedite, while the selector is active, puts the job ahead of every job in its
	// queue that has no active expedite selector. Defaults to false.
	Expedite bool

	// Status is read-only: active, or expired once ExpiresAt has passed. Ignored on
	// input.
	Status SelectorStatus
	// ExpiresAt is read-only: when the selector expires; zero when it never does.
	// Ignored on input.
	ExpiresAt time.Time
}

// QueueSelector is a condition a queue's labels must meet for a classification policy
// to send a job to that queue: the queue's label Key compared with Value by
// LabelOperator.
type QueueSelector struct {
	// Key is the label key. Required.
	Key string
	// LabelOperator is the comparison. Required: one of the six LabelOperator values.
	LabelOperator LabelOperator
	// Value is the value compared with: a string, bool, integer or finite float.
	Value any
}
