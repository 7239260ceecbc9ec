package engine

import "unique"

// name is an interned string: one pointer (8 bytes) where a string header takes 16.
// A job keeps its channel and queue IDs so (B4: a million queued jobs name a handful
// of channels and queues), with the text shared by every holder. Interning is the
// standard library's unique package, whose table is weak: a name no record holds any
// more is collected, so IDs that come and go do not accumulate.
//
// The zero name is "". Two names are equal exactly when their strings are, so they
// compare with ==.
type name struct {
	h unique.Handle[string]
}

// intern returns s's name. O(len(s)): a lookup in the process-wide table, and an
// insertion the first time s is seen.
func intern(s string) name {
	if s == "" {
		return name{}
	}
	return name{unique.Make(s)}
}

// String returns the name's text. O(1).
func (n name) String() string {
	if n == (name{}) {
		return ""
	}
	return n.h.Value()
}
