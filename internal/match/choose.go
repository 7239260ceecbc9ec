package match

import (
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Candidate is an eligible worker as the distribution modes see it.
type Candidate struct {
	ID        string
	LoadRatio float64
	IdleSince time.Time
	Score     float64 // BestWorker only
}

// byIdleThenID orders by idle time (longest first), then ID.
func byIdleThenID(a, b Candidate) bool {
	if !a.IdleSince.Equal(b.IdleSince) {
		return a.IdleSince.Before(b.IdleSince)
	}
	return a.ID < b.ID
}

// LongestIdle returns the first k candidates by lowest load ratio, then longest
// idle, then ID. It reorders cands. O(n) for k = 1, else O(n log n).
func LongestIdle(cands []Candidate, k int) []Candidate {
	less := func(a, b Candidate) bool {
		if a.LoadRatio != b.LoadRatio {
			return a.LoadRatio < b.LoadRatio
		}
		return byIdleThenID(a, b)
	}
	if k == 1 && len(cands) > 1 {
		best := 0
		for i := 1; i < len(cands); i++ {
			if less(cands[i], cands[best]) {
				best = i
			}
		}
		cands[0], cands[best] = cands[best], cands[0]
		return cands[:1]
	}
	slices.SortFunc(cands, func(a, b Candidate) int { return cmpBy(less, a, b) })
	return first(cands, k)
}

// cmpBy turns a strict order into a comparison for slices.SortFunc.
func cmpBy(less func(a, b Candidate) bool, a, b Candidate) int {
	switch {
	case less(a, b):
		return -1
	case less(b, a):
		return 1
	}
	return 0
}

// RoundRobin returns k candidates in ID order starting after last, wrapping around
// (from the lowest ID when last is empty). It reorders cands. O(n log n).
func RoundRobin(cands []Candidate, last string, k int) []Candidate {
	slices.SortFunc(cands, func(a, b Candidate) int { return strings.Compare(a.ID, b.ID) })
	start := sort.Search(len(cands), func(i int) bool { return cands[i].ID > last })
	k = max(0, min(k, len(cands)))
	out := make([]Candidate, 0, k)
	for i := 0; i < k; i++ {
		out = append(out, cands[(start+i)%len(cands)])
	}
	return out
}

// Best returns the first k candidates by score (highest first when descending,
// lowest first otherwise), then longest idle, then ID. A NaN score ranks last.
// It reorders cands. O(n) for k = 1, else O(n log n).
func Best(cands []Candidate, k int, descending bool) []Candidate {
	less := betterThan(descending)
	if k == 1 && len(cands) > 1 {
		best := 0
		for i := 1; i < len(cands); i++ {
			if less(cands[i], cands[best]) {
				best = i
			}
		}
		cands[0], cands[best] = cands[best], cands[0]
		return cands[:1]
	}
	slices.SortFunc(cands, func(a, b Candidate) int { return cmpBy(less, a, b) })
	return first(cands, k)
}

// betterThan is Best's order.
func betterThan(descending bool) func(a, b Candidate) bool {
	return func(a, b Candidate) bool {
		an, bn := math.IsNaN(a.Score), math.IsNaN(b.Score)
		if an != bn {
			return bn // every number before NaN
		}
		if !an && a.Score != b.Score {
			if descending {
				return a.Score > b.Score
			}
			return a.Score < b.Score
		}
		return byIdleThenID(a, b)
	}
}

func first(cands []Candidate, k int) []Candidate {
	if k < 0 {
		k = 0
	}
	if k < len(cands) {
		return cands[:k]
	}
	return cands
}
