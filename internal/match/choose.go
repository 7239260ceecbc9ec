package match

import (
	"math"
	"sort"
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
// idle, then ID. It reorders cands. O(n log n).
func LongestIdle(cands []Candidate, k int) []Candidate {
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.LoadRatio != b.LoadRatio {
			return a.LoadRatio < b.LoadRatio
		}
		return byIdleThenID(a, b)
	})
	return first(cands, k)
}

// RoundRobin returns k candidates in ID order starting after last, wrapping around
// (from the lowest ID when last is empty). It reorders cands. O(n log n).
func RoundRobin(cands []Candidate, last string, k int) []Candidate {
	sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
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
// It reorders cands. O(n log n).
func Best(cands []Candidate, k int, descending bool) []Candidate {
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
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
	})
	return first(cands, k)
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
