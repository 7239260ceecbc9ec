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

// nameCache holds the names interned last, direct-mapped by a string's length and
// its first and last bytes: the engine interns a job's channel and queue IDs at
// every CreateJob, and a service names a handful of each, so that a lookup here (a
// comparison of two short strings) takes the place of unique.Make's (a hash and a
// lookup in a concurrent table: 350 instructions, 1.7 % of B1's). The names it holds
// stay in unique's table while they are here: 16 at most.
type nameCache [16]name

// intern returns s's name, from c when c has it. O(len(s)).
func (c *nameCache) intern(s string) name {
	if s == "" {
		return name{}
	}
	i := (len(s) ^ int(s[0]) ^ int(s[len(s)-1])<<2) & (len(c) - 1)
	if n := c[i]; n != (name{}) && n.h.Value() == s {
		return n
	}
	n := intern(s)
	c[i] = n
	return n
}

// String returns the name's text. O(1).
func (n name) String() string {
	if n == (name{}) {
		return ""
	}
	return n.h.Value()
}
