package jobrouter

import (
	"errors"
	"fmt"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// Sentinel errors. Every error a Router method returns is an *Error wrapping one of
// them (or, when the call's context was already done, the context's error); test
// with errors.Is. The sentinel is the stable part; the message is not.
var (
	// ErrNotFound: the entity named by the call, or one it refers to, does not exist;
	// or the offer is not open for that worker.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument: the input breaks a validation rule.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrConflict: the entity exists but is in the wrong state for the operation
	// (a duplicate job ID, a job in the wrong status, an assignment that is not the
	// job's current one, a delete that would break a reference).
	ErrConflict = errors.New("conflict")
	// ErrClosed: the Router has been closed.
	ErrClosed = errors.New("router closed")
	// ErrSlowSubscriber: a subscription fell more than its MaxBacklog events behind, or
	// still held undelivered events when the Router closed and its CloseTimeout ran
	// out; the subscription was closed and those events were not delivered to it.
	ErrSlowSubscriber = errors.New("slow subscriber")
	// ErrInternal: a bug in jobrouter was caught (a recovered panic). Please report it.
	ErrInternal = errors.New("internal error")
)

// Error is the error type returned by Router methods. Its Err field is one of the
// sentinels; Op names the operation, Entity and ID the thing it was applied to.
type Error struct {
	Op     string // e.g. "accept offer"
	Entity string // e.g. "offer"
	ID     string
	Reason string // human-readable; not stable
	Err    error  // a sentinel
}

// Error formats as `jobrouter: <op> "<id>": <reason>`.
func (e *Error) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("jobrouter: %s: %s", e.Op, e.Reason)
	}
	return fmt.Sprintf("jobrouter: %s %q: %s", e.Op, e.ID, e.Reason)
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// wrapErr turns an engine error into an *Error for op.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ee *engine.Error
	if errors.As(err, &ee) {
		s := ErrInvalidArgument
		switch ee.Code {
		case engine.CodeNotFound:
			s = ErrNotFound
		case engine.CodeConflict:
			s = ErrConflict
		}
		return &Error{Op: op, Entity: ee.Entity, ID: ee.ID, Reason: ee.Reason, Err: s}
	}
	var pe *Error
	if errors.As(err, &pe) {
		if pe.Op == "" {
			pe.Op = op
		}
		return err
	}
	return &Error{Op: op, Reason: err.Error(), Err: ErrInternal}
}

func errClosed(op string) error {
	return &Error{Op: op, Reason: "router closed", Err: ErrClosed}
}

func errInvalid(op, entity, id, reason string) error {
	return &Error{Op: op, Entity: entity, ID: id, Reason: reason, Err: ErrInvalidArgument}
}
