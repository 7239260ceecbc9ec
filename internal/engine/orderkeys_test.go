package engine

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/match"
)

// The LongestIdle order ranks idle instants exactly as time.Time.Compare ranks the
// times they were made from — by monotonic readings when both carry one (including
// a clock whose wall time was stepped while its monotonic reading moved on), by
// wall-clock instant otherwise (other locations, instants far apart, a time with a
// monotonic reading against one without) — and ties by ID. Every pair, both ways,
// and in two key orders, so that the engine's reference reading is not always the
// first time.
func TestLessIdleOrdersAsTimeCompare(t *testing.T) {
	zone := time.FixedZone("UTC-3", -3*3600)
	mono := time.Now()
	times := []time.Time{
		t0, t0.Add(time.Nanosecond), t0.Add(-time.Nanosecond), t0.Add(time.Second), t0.In(zone),
		t0.Add(time.Second).In(zone), {}, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(0, 0), time.Unix(-1, 999999999),
		mono, mono.Add(time.Nanosecond), mono.Add(-time.Second), mono.Add(time.Hour), mono.Round(0),
		mono.Add(time.Nanosecond).Round(0),
		steppedWall(mono.Add(time.Minute), time.Hour), // wall an hour past mono.Add(time.Hour)'s, monotonic before it
		steppedWall(mono.Add(2*time.Hour), -3*time.Hour),
	}
	for _, rev := range []bool{false, true} {
		e := New(Config{})
		ws := make([]*workerState, len(times))
		for i := range times {
			k := i
			if rev {
				k = len(times) - 1 - i
			}
			ws[k] = &workerState{ID: fmt.Sprintf("w%02d", k%5), ikey: e.idleKey(0.5, times[k])}
		}
		for i, a := range times {
			for j, b := range times {
				c := a.Compare(b)
				want := c < 0 || c == 0 && ws[i].ID < ws[j].ID
				if got := lessIdle(ws[i], ws[j]); got != want {
					t.Errorf("rev %v: lessIdle(%d: %v, %d: %v) = %v; time.Compare gives %d, IDs %s and %s",
						rev, i, a, j, b, got, c, ws[i].ID, ws[j].ID)
				}
			}
		}
	}
	lo := &workerState{ID: "b", ikey: wkey{load: 0.25, sec: 9}}
	hi := &workerState{ID: "a", ikey: wkey{load: 0.5}}
	if !lessIdle(lo, hi) || lessIdle(hi, lo) {
		t.Error("a lower load ratio does not come first")
	}
}

// The same instant keyed again gives the same key (refreshWorker moves a worker in
// its free trees only when its key changed), and a key tells the monotonic
// reading apart from the wall instant.
func TestIdleKeyIsStable(t *testing.T) {
	e := New(Config{})
	mono := time.Now()
	for i, tm := range []time.Time{t0, t0.In(time.FixedZone("x", 3600)), mono, mono.Round(0)} {
		if a, b := e.idleKey(0.25, tm), e.idleKey(0.25, tm); a != b {
			t.Errorf("%d: %v keyed twice: %+v and %+v", i, tm, a, b)
		}
	}
	if a, b := e.idleKey(0, mono), e.idleKey(0, mono.Round(0)); a == b || !a.hasMono || b.hasMono {
		t.Errorf("with and without a monotonic reading: %+v and %+v", a, b)
	}
	if a, b := e.idleKey(0, t0), e.idleKey(0, t0.In(time.FixedZone("x", 3600))); a != b {
		t.Errorf("one instant in two locations: %+v and %+v", a, b)
	}
}

// lessJob, which reads EnqueuedAt's wall instant as integers, orders jobs exactly as
// match.Less orders their keys: every pair of jobs built from CreatedAt values with
// and without monotonic readings, in other locations, at the zero time, far out and
// at the edge of Unix seconds, and distances to EnqueuedAt of either sign, across
// second boundaries, up to Duration's limits (where EnqueuedAt saturates), or never
// enqueued; with priorities and expedite flags equal or not, and creation numbers
// that tie or not.
func TestLessJobIsMatchLess(t *testing.T) {
	mono := time.Now()
	created := []time.Time{t0, t0.Add(999999999), t0.In(time.FixedZone("x", -7200)), mono, mono.Add(1),
		{}, time.Unix(-1, 5), time.Date(9999, 1, 1, 0, 0, 0, 999999999, time.UTC),
		time.Unix(1<<62, 0), time.Unix(1<<62+1, 0), time.Unix(-1<<62-1, 0), time.Unix(math.MinInt64, 0)}
	deltas := []time.Duration{0, 1, -1, 999999999, -999999999, time.Second, -time.Second, 1500 * time.Millisecond,
		-1500 * time.Millisecond, math.MaxInt64, math.MinInt64 + 1, notEnqueued}
	var jobs []*jobState
	for i, c := range created {
		for k, d := range deltas {
			j := &jobState{CreatedAt: c, enqDelta: d, seq: uint64((i + k) % 3)}
			j.keyPriority = int8(k % 2)
			j.keyExpedite = i%4 == 0
			// and its twin, created at the same instant and in line with it: only
			// creation order tells them apart.
			twin := *j
			twin.seq += 3
			jobs = append(jobs, j, &twin)
		}
	}
	// Two jobs that EnqueuedAt() saturates to one instant: creation order decides.
	far := time.Unix(math.MaxInt64-62135596800-7, 0)
	jobs = append(jobs, orderHead,
		&jobState{CreatedAt: far, enqDelta: math.MaxInt64, seq: 2},
		&jobState{CreatedAt: far.Add(2 * time.Second), enqDelta: math.MaxInt64, seq: 1})
	for _, a := range jobs {
		for _, b := range jobs {
			if got, want := lessJob(a, b), match.Less(a.orderKey(), b.orderKey()); got != want {
				t.Fatalf("lessJob(%v%+v, %v%+v) = %v, match.Less %v", a.CreatedAt, a.enqDelta, b.CreatedAt, b.enqDelta, got, want)
			}
		}
	}
}
