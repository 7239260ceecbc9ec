package engine

import (
	"fmt"
	"time"

	"github.com/openjobrouter/jobrouter/internal/deadline"
)

// ageList holds the maximum-age deadlines of the jobs that are not terminal, outside
// the deadline heap: an intrusive doubly-linked list of jobs (jobState.ageNext,
// agePrev) in creation order.
//
// Why a list is enough: Config.MaxJobAge is fixed for the engine's life and a job's
// CreatedAt is the engine's time at creation, which never moves backwards (Engine.at
// clamps a clock that goes back), so CreatedAt + MaxJobAge is due in creation order.
// A job's place in the list therefore is its place among maximum-age deadlines, and
// the earliest one is the head: adding a job, removing one (terminal) and taking the
// head cost O(1) and no allocation, where a heap entry cost a 64-byte item, a 32-byte
// slot and O(log n) sifting for every job, most of which never expire.
//
// Ties with the heap's deadlines: each job takes, when created, the heap's next push
// sequence number (deadline.Heap.Reserve), exactly as adding its deadline to the heap
// did, as its creation number (jobState.seq), and the engine merges the list's head
// with the heap's by deadline.Before.
// So deadlines pop in the same order as when they all lived in the heap, ties at one
// instant included.
//
// The heap orders by wall-clock instant (Unix seconds and nanoseconds), while time
// values that carry a monotonic reading compare by that reading: a real clock whose
// wall time is stepped back while its monotonic reading moves on gives a CreatedAt
// that Engine.at accepts but whose wall instant is earlier than the previous job's. Such
// a job (it would break the list's order) has its deadline put in the heap instead
// (jobState.ageDL), as before, so the list stays in the heap's order.
type ageList struct {
	head, tail *jobState
}

// startMaxAge puts the maximum-age deadline of j, just created at j.CreatedAt with
// its creation number reserved (startJobClocks), at the tail of the list (or, when
// its wall instant is earlier than the tail's, in the heap). Nothing when jobs never
// expire (negative Config.MaxJobAge). O(1) (O(log n) in the heap case).
func (e *Engine) startMaxAge(j *jobState) {
	if e.maxJobAge() < 0 {
		return
	}
	when := e.ageDueAt(j)
	l := &e.ages
	if l.tail != nil && wallBefore(when, e.ageDueAt(l.tail)) {
		j.ext().ageDL = e.deadlines.Add(maxAgeKey(j.ID), when)
		return
	}
	j.agePrev = l.tail
	if l.tail != nil {
		l.tail.ageNext = j
	} else {
		l.head = j
	}
	l.tail = j
}

// stopMaxAge forgets the maximum-age deadline of j (terminal, or expiring now), if it
// has one. O(1) (O(log n) in the heap case).
func (e *Engine) stopMaxAge(j *jobState) {
	if !e.ages.has(j) {
		if j.x != nil {
			e.deadlines.Remove(j.x.ageDL)
			j.x.ageDL = deadline.Handle{}
		}
		return
	}
	l := &e.ages
	if j.agePrev != nil {
		j.agePrev.ageNext = j.ageNext
	} else {
		l.head = j.ageNext
	}
	if j.ageNext != nil {
		j.ageNext.agePrev = j.agePrev
	} else {
		l.tail = j.agePrev
	}
	j.ageNext, j.agePrev = nil, nil
}

// has reports whether j is in the list. O(1).
func (l *ageList) has(j *jobState) bool { return j.agePrev != nil || l.head == j }

// ageDueAt is when j reaches the maximum age: CreatedAt + Config.MaxJobAge. O(1).
func (e *Engine) ageDueAt(j *jobState) time.Time { return j.CreatedAt.Add(e.maxJobAge()) }

// ageDeadline is j's listed maximum-age deadline as the heap would hold it.
func (e *Engine) ageDeadline(j *jobState) deadline.Deadline {
	return deadline.Outside(maxAgeKey(j.ID), e.ageDueAt(j), j.seq)
}

// peekDeadline returns the earliest pending deadline, the heap's and the age list's
// merged. O(1).
func (e *Engine) peekDeadline() (deadline.Deadline, bool) {
	d, _, ok := e.earliest()
	return d, ok
}

// dueBy reports whether the heap's earliest deadline or the age list's head is due
// at now, without copying a deadline out: the quick answer for the call that finds
// nothing due (most of them). It is true whenever peekDeadline's deadline is due;
// Advance still checks that one, since on a stepped wall clock one source can be
// due while the earlier of the two is not. O(1).
func (e *Engine) dueBy(now time.Time) bool {
	if when, ok := e.deadlines.PeekWhen(); ok && !when.After(now) {
		return true
	}
	h := e.ages.head
	return h != nil && !e.ageDueAt(h).After(now)
}

// earliest is peekDeadline, also telling whether the deadline is the age list's head.
func (e *Engine) earliest() (d deadline.Deadline, listed, ok bool) {
	d, ok = e.deadlines.Peek()
	if h := e.ages.head; h != nil {
		if ad := e.ageDeadline(h); !ok || ad.Before(d) {
			return ad, true, true
		}
	}
	return d, false, ok
}

// popDue removes and returns the earliest pending deadline if it is due at now (When
// <= now), from the heap or from the age list. O(log n) for the heap, O(1) for the
// list.
func (e *Engine) popDue(now time.Time) (deadline.Deadline, bool) {
	d, listed, ok := e.earliest()
	if !ok || d.When.After(now) {
		return deadline.Deadline{}, false
	}
	if listed {
		e.stopMaxAge(e.ages.head)
		return d, true
	}
	return e.deadlines.PopDue(now)
}

// pendingDeadlines returns every pending deadline, the heap's and the age list's, in
// the order they would fire. O(n log n).
func (e *Engine) pendingDeadlines() []deadline.Deadline {
	all := e.deadlines.All()
	for j := e.ages.head; j != nil; j = j.ageNext {
		all = append(all, e.ageDeadline(j))
	}
	deadline.Sort(all)
	return all
}

// checkAges verifies the age list: it holds exactly the non-terminal jobs whose
// deadline is not in the heap, each once, in the heap's order. O(jobs).
func (e *Engine) checkAges() error {
	listed := 0
	var prev *jobState
	for j := e.ages.head; j != nil; j = j.ageNext {
		stored, _ := e.jobs.get(j.ID)
		switch {
		case stored != j:
			return fmt.Errorf("age list: job %q is not stored", j.ID)
		case j.st.terminal():
			return fmt.Errorf("age list: job %q is %s", j.ID, j.Status())
		case j.agePrev != prev:
			return fmt.Errorf("age list: job %q has a wrong back link", j.ID)
		case j.seq == 0:
			return fmt.Errorf("age list: job %q has no sequence number", j.ID)
		case prev != nil && !e.ageDeadline(prev).Before(e.ageDeadline(j)):
			return fmt.Errorf("age list: job %q is out of order", j.ID)
		}
		listed++
		prev = j
	}
	if prev != e.ages.tail {
		return fmt.Errorf("age list: wrong tail")
	}
	want := 0
	for _, j := range e.jobs.sorted() {
		heap := j.cold().ageDL.Pending()
		if e.ages.has(j) && heap {
			return fmt.Errorf("job %q: maximum age both listed and in the heap", j.ID)
		}
		if j.st.terminal() {
			if e.ages.has(j) || heap {
				return fmt.Errorf("job %q: %s but its maximum age is pending", j.ID, j.Status())
			}
			continue
		}
		if e.maxJobAge() >= 0 && !e.ages.has(j) && !heap {
			return fmt.Errorf("job %q: no maximum-age deadline", j.ID)
		}
		if e.ages.has(j) {
			want++
		}
	}
	if listed != want {
		return fmt.Errorf("age list: %d jobs listed, %d expected", listed, want)
	}
	return nil
}

// wallBefore reports whether a's wall-clock instant is earlier than b's, as the
// deadline heap compares instants (Unix seconds, then nanoseconds).
func wallBefore(a, b time.Time) bool {
	as, bs := a.Unix(), b.Unix()
	return as < bs || as == bs && a.Nanosecond() < b.Nanosecond()
}
