package engine

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// Queue insight: GetQueueStatistics and GetQueuePosition.
//
// Wait estimates come from the queue's recent service rate. Each queue keeps the
// times at which its jobs were assigned (AcceptOffer), at most ServiceWindowSize of
// them, and an estimate uses only those within ServiceWindowSpan before now. With k
// such times, the earliest t1, the rate is
//
//	r = (k-1) / (now - t1)
//
// assignments per unit of time: the k-1 assignments that followed t1, over the time
// observed since t1 (t1 itself marks where observation starts, so counting it as well
// would overstate the rate: two assignments a minute apart are one per minute, not
// two). Measuring up to now, rather than up to the latest assignment, makes the
// estimate grow while a queue stops serving. The job at position p (1-based) then waits
// about p / r: the p-th assignment from now at the current rate. Steady service of one
// assignment a minute puts the fifth in line five minutes away.
//
// Without history (fewer than two assignments in the window, or none of them before
// now) there is no rate: every estimate is 0 and EstimateAvailable is false.
// The estimate uses only state and the now passed in, so the same calls give the same
// answers.
const (
	// ServiceWindowSize is the most assignment times a queue keeps.
	ServiceWindowSize = 100
	// ServiceWindowSpan is how far back an assignment time still counts.
	ServiceWindowSpan = time.Hour
)

// QueueStatistics describes a queue at one instant.
type QueueStatistics struct {
	QueueID string
	// Length is the number of jobs queued in it.
	Length int
	// EstimatedWaitTime holds, for each priority that a queued job has, the estimated
	// wait of a new job of that priority queued now: behind every expedited job and
	// every job of its priority or higher. 0 when EstimateAvailable is false.
	EstimatedWaitTime map[int]time.Duration
	// LongestJobWaitTime is now minus the earliest EnqueuedAt among its queued jobs;
	// 0 when it is empty.
	LongestJobWaitTime time.Duration
	// EstimateAvailable reports whether the queue has the service history the
	// estimates need.
	EstimateAvailable bool
}

// JobPosition is a queued job's place in its queue.
type JobPosition struct {
	JobID   string
	QueueID string
	// Position is the job's 1-based place among its queue's queued jobs, in queue order.
	Position int
	// QueueLength is the number of jobs queued in its queue.
	QueueLength int
	// EstimatedWaitTime is Position divided by the queue's service rate; 0 when
	// EstimateAvailable is false.
	EstimatedWaitTime time.Duration
	// EstimateAvailable reports whether the queue has the service history the
	// estimate needs.
	EstimateAvailable bool
}

// serviceLog is a ring of a queue's latest assignment times, oldest first from next.
// It hangs off the queue's state (queueState.served), so that a queue deleted and
// created again starts afresh.
type serviceLog struct {
	times [ServiceWindowSize]time.Time
	next  int // where the next time goes
	n     int // times held, at most ServiceWindowSize
}

// recordService notes that a job of q was assigned at t. O(1).
func recordService(t time.Time, q *queueState) {
	if q == nil {
		return
	}
	l := q.served
	if l == nil {
		l = &serviceLog{}
		q.served = l
	}
	l.times[l.next] = t
	l.next = (l.next + 1) % ServiceWindowSize
	l.n = min(l.n+1, ServiceWindowSize)
}

// serviceRate returns the queue's rate as k-1 assignments over span (see the top of
// this file), and false when there is no history. O(ServiceWindowSize).
func (e *Engine) serviceRate(now time.Time, q *queueState) (k int, span time.Duration, ok bool) {
	l := q.served
	if l == nil {
		return 0, 0, false
	}
	from := now.Add(-ServiceWindowSpan)
	var first time.Time
	for i := 0; i < l.n; i++ {
		t := l.times[(l.next-l.n+i+ServiceWindowSize)%ServiceWindowSize]
		if !t.After(from) {
			continue // older than the window
		}
		if k == 0 {
			first = t
		}
		k++
	}
	span = now.Sub(first)
	if k < 2 || span <= 0 {
		return 0, 0, false
	}
	return k, span, true
}

// waitFor is the estimated wait of the p-th job in line: p * span / (k-1), exactly,
// saturating at the largest Duration.
func waitFor(p, k int, span time.Duration) time.Duration {
	if p <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(span), uint64(p))
	d := uint64(k - 1)
	if hi >= d {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, d)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(q)
}

// readTime is now for a read: the engine's time never moves backwards.
func (e *Engine) readTime(now time.Time) time.Time {
	if now.Before(e.now) {
		return e.now
	}
	return now
}

// QueueStatistics returns the queue's length, its longest wait and the estimated wait
// of a new job at each priority present in it. It changes nothing.
// Errors: CodeNotFound.
// O(levels × log² n) for n jobs queued in it, where levels counts the distinct
// (expedited, priority) pairs among them: the line is not walked (queueOrder).
func (e *Engine) QueueStatistics(now time.Time, queueID string) (QueueStatistics, error) {
	now = e.readTime(now)
	q, ok := e.queues[queueID]
	if !ok {
		return QueueStatistics{}, notFound("queue", queueID)
	}
	st := QueueStatistics{QueueID: queueID, EstimatedWaitTime: map[int]time.Duration{}}
	var (
		earliest  time.Time
		expedited int
		byPrio    = map[int]int{} // queued jobs that are not expedited, by priority
		present   []int           // every priority held by a queued job
	)
	st.Length = q.order.len()
	q.order.levels(func(l level, first *jobState, count int) {
		if earliest.IsZero() || first.EnqueuedAt().Before(earliest) {
			earliest = first.EnqueuedAt()
		}
		prio := int(l.priority)
		if _, ok := st.EstimatedWaitTime[prio]; !ok {
			st.EstimatedWaitTime[prio] = 0
			present = append(present, prio)
		}
		if l.expedite {
			expedited += count
		} else {
			byPrio[prio] += count
		}
	})
	if st.Length > 0 && now.After(earliest) {
		st.LongestJobWaitTime = now.Sub(earliest)
	}
	k, span, ok := e.serviceRate(now, q)
	st.EstimateAvailable = ok
	if !ok {
		return st, nil
	}
	// A new job of priority p is behind every expedited job and every other job of
	// priority p or higher (those of p arrived earlier): visit priorities from the
	// highest, accumulating.
	slices.Sort(present)
	ahead := expedited
	for i := len(present) - 1; i >= 0; i-- {
		p := present[i]
		ahead += byPrio[p]
		st.EstimatedWaitTime[p] = waitFor(ahead+1, k, span)
	}
	return st, nil
}

// QueuePosition returns a queued job's 1-based place in its queue's order
// (match.Less: expedited first, then higher priority, then earlier EnqueuedAt, then
// creation order), the queue's length and the job's estimated wait. It changes
// nothing.
// Errors: CodeNotFound (job), CodeConflict (the job is not queued).
// O(log² n) for n jobs queued in its queue (queueOrder).
func (e *Engine) QueuePosition(now time.Time, jobID string) (JobPosition, error) {
	now = e.readTime(now)
	j, ok := e.jobs.get(jobID)
	if !ok {
		return JobPosition{}, notFound("job", jobID)
	}
	notQueued := conflict("job", jobID, "the job is not in a queue; it is "+string(j.Status()))
	if j.st != stQueued {
		return JobPosition{}, notQueued
	}
	pos := JobPosition{JobID: jobID, QueueID: j.QueueID()}
	q := j.inQueue
	if q == nil {
		return JobPosition{}, notQueued
	}
	i, found := q.order.rank(j)
	if !found {
		return JobPosition{}, notQueued
	}
	pos.Position = i + 1
	pos.QueueLength = q.order.len()
	if k, span, ok := e.serviceRate(now, q); ok {
		pos.EstimateAvailable = true
		pos.EstimatedWaitTime = waitFor(pos.Position, k, span)
	}
	return pos, nil
}
