package sim

import (
	"fmt"
	"maps"
	"slices"
)

// FieldError is a problem with one field of a scenario. Path names the field in the
// YAML spelling (workerGroups[1].behaviour.declineProbability), also for a Scenario
// built in Go, whose fields have the same names in UpperCamelCase.
type FieldError struct {
	// File is the scenario file, when the scenario was loaded from one.
	File string
	// Line is the line of the field in File; 0 when unknown.
	Line int
	// Path names the field.
	Path string
	// Msg says what is wrong.
	Msg string
	// Err is the error behind Msg, if any (a *jobrouter.Error when the Router
	// refused a policy, say).
	Err error
}

// Error returns "file:line: path: msg", leaving out what is unknown.
func (e *FieldError) Error() string {
	s := ""
	if e.File != "" {
		s = e.File + ":"
		if e.Line > 0 {
			s += fmt.Sprint(e.Line) + ":"
		}
		s += " "
	} else if e.Line > 0 {
		s = fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Msg
}

// Unwrap returns Err.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
