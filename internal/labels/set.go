package labels

import (
	"slices"
	"strings"
)

// Pair is one label: a key and its value.
type Pair struct {
	Key   string
	Value any
}

// Set is an immutable set of labels, stored as a slice of pairs sorted by key: 32
// bytes a label and one allocation, against about 70 bytes a label in a Go map (and
// more when the map's groups are half empty). Nothing writes into a Set once it is
// made, so a Set may be shared and read by any number of goroutines. The zero Set and
// a nil *Set are empty.
type Set struct {
	pairs []Pair
}

// NewSet returns a Set of every entry of m but the key omit (no key is omitted when
// omit is empty: label keys are never empty). The pair slice has exactly the length
// needed. O(n log n) for n labels.
func NewSet(m map[string]any, omit string) *Set {
	n := len(m)
	if _, ok := m[omit]; ok && omit != "" {
		n--
	}
	if n == 0 {
		return &Set{}
	}
	pairs := make([]Pair, 0, n)
	for k, v := range m {
		if k != omit || omit == "" {
			pairs = append(pairs, Pair{k, v})
		}
	}
	slices.SortFunc(pairs, func(a, b Pair) int { return strings.Compare(a.Key, b.Key) })
	return &Set{pairs: pairs}
}

// Len returns the number of labels in s. O(1).
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.pairs)
}

// Get returns the value of the label key, and whether s has it. O(log n), by binary
// search over the sorted keys.
func (s *Set) Get(key string) (any, bool) {
	if s == nil {
		return nil, false
	}
	p := s.pairs
	lo, hi := 0, len(p)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p[m].Key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(p) && p[lo].Key == key {
		return p[lo].Value, true
	}
	return nil, false
}

// Pairs returns the labels of s sorted by key. The slice is s's own: the caller must
// not write to it. O(1).
func (s *Set) Pairs() []Pair {
	if s == nil {
		return nil
	}
	return s.pairs
}

// MapWith returns a new map of the labels of s plus key = value (which replaces a
// label of s with that key), sized for them. O(n).
func (s *Set) MapWith(key string, value any) map[string]any {
	m := make(map[string]any, s.Len()+1)
	for _, p := range s.Pairs() {
		m[p.Key] = p.Value
	}
	m[key] = value
	return m
}
