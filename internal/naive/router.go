// Package naive is the reference router: the obvious implementation of the routing
// semantics of SEMANTICS.md, written for clarity rather than speed. It serves as the
// baseline of every benchmark and as the oracle of differential tests against
// internal/engine, so it exposes the same lifecycle commands with the same signatures
// and the engine's own value types (it imports internal/engine for its types only and
// never calls the engine).
//
// Everything is a plain map or slice and every question is answered by a scan:
//   - a matching pass sorts every queued job by the queue-order rule and, for each,
//     scans every worker;
//   - the next deadline is found by scanning every open offer, every decline with a
//     RetryOfferAt, and every open job's close, schedule, selector-expiry and max-age
//     time;
//   - a worker's used capacity is summed from its open offers and held assignments.
//
// The scans cover what is live, not everything the router has seen: the jobs not yet
// closed or cancelled are kept in a map of their own (a terminal job holds no
// deadline and waits in no queue), the workers in a slice sorted by ID kept as they
// come and go, and each worker's open offers in a list of its own besides the list
// of all. So a call costs what the live state makes it cost, linear in workers, open
// offers and open jobs, however many closed jobs the router keeps, as the naive
// router the performance issue takes as its anchor does (one mutex, a linear scan of
// every worker per match).
//
// Beyond those lists there are no indexes, heaps or trees, and no "dirty" flag:
// matching runs after every command that may change it and at every deadline
// instant.
//
// It makes the engine's decision where that departs from SEMANTICS.md (README,
// "Decisions of ours"), so that internal/simtest can compare the two on every
// history: BestWorker's default score for an ordering selector uses
// x = (label-value)/|value|. (RoundRobin starts after the last worker the queue
// offered a job to by any mode: that is SEMANTICS.md's own rule.)
//
// Where SEMANTICS.md leaves a point open it does what the engine does, for example:
// a worker's idle time (LongestIdle, ties of BestWorker) restarts at registration and
// when an assignment releases its capacity, not when an offer ends.
//
// Scope: distribution policies (the three modes, default BestWorker scoring and
// Score functions), queues, workers and jobs with requested selectors, matching modes,
// offers, decline memory, offer expiry, completion, closing, cancellation,
// unassignment and the maximum job age. Classification and exception policies are not
// modelled: there are none, so a job naming a classification policy or a queue naming
// an exception policy gets the engine's not-found error.
//
// A Router is not safe for concurrent use.
package naive

import (
	"slices"
	"sort"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// Router is the naive reference router's whole state.
type Router struct {
	cfg engine.Config
	now time.Time // the latest time seen; it never moves backwards

	events      []engine.Event
	eventSeq    uint64 // last event sequence number
	jobSeq      uint64 // last job creation number (queue order's last tie-break)
	regSeq      uint64 // last worker registration number (decline memory)
	setSeq      uint64 // last deadline set: equal deadlines fire in the order they were set
	fallbackIDs uint64 // IDs made when Config.NewID failed

	policies map[string]engine.DistributionPolicy
	queues   map[string]*queue
	workers  map[string]*worker
	jobs     map[string]*job
	open     map[string]*job // the jobs not closed or cancelled
	offers   []*offer        // every open offer, in issue order

	byID    []*worker   // every worker, in ID order
	scratch []candidate // matchJob's candidates, reused from job to job
}

// deadline is one pending time at which something happens. seq is the order in
// which it was set: a deadline set again (moved) counts as set anew.
type deadline struct {
	at  time.Time
	seq uint64
	set bool
}

// New returns an empty router. A zero MaxIDLength means 256; a nil NewID yields
// "id-1", "id-2", … (as the engine's default does).
func New(cfg engine.Config) *Router {
	if cfg.MaxIDLength == 0 {
		cfg.MaxIDLength = 256
	}
	if cfg.NewID == nil {
		n := 0
		cfg.NewID = func() string {
			n++
			return "id-" + itoa(n)
		}
	}
	return &Router{
		cfg:      cfg,
		policies: map[string]engine.DistributionPolicy{},
		queues:   map[string]*queue{},
		workers:  map[string]*worker{},
		jobs:     map[string]*job{},
		open:     map[string]*job{},
	}
}

// at records now as the router's time; a clock that moves back stands still.
func (r *Router) at(now time.Time) time.Time {
	if now.Before(r.now) {
		return r.now
	}
	r.now = now
	return now
}

// TakeEvents returns the events recorded since the last call and forgets them.
func (r *Router) TakeEvents() []engine.Event {
	evs := r.events
	r.events = nil
	return evs
}

func (r *Router) emit(t time.Time, ev engine.Event) {
	r.eventSeq++
	ev.Seq = r.eventSeq
	ev.Time = t
	r.events = append(r.events, ev)
}

func (r *Router) setDeadline(d *deadline, at time.Time) {
	r.setSeq++
	*d = deadline{at: at, seq: r.setSeq, set: true}
}

// Deadline kinds, for fire.
const (
	dueOfferExpiry = iota + 1
	dueRetry
	dueClose
	dueSchedule
	dueSelectors
	dueMaxAge
)

// due is one pending deadline found by a scan.
type due struct {
	deadline
	kind     int
	jobID    string
	workerID string // dueRetry
	offer    *offer // dueOfferExpiry
}

// eachPending calls f with every deadline the state holds: the open offers' and the
// open jobs' (finish forgets a terminal job's deadlines).
func (r *Router) eachPending(f func(due)) {
	for _, o := range r.offers {
		f(due{deadline: o.expiry, kind: dueOfferExpiry, jobID: o.JobID, offer: o})
	}
	for _, j := range r.open {
		for _, x := range [...]struct {
			kind int
			d    deadline
		}{{dueClose, j.closeAt}, {dueSchedule, j.scheduleAt}, {dueSelectors, j.selectorExpiry}, {dueMaxAge, j.maxAge}} {
			if x.d.set {
				f(due{deadline: x.d, kind: x.kind, jobID: j.ID})
			}
		}
		for wid, dc := range j.declines {
			if dc.retry.set {
				f(due{deadline: dc.retry, kind: dueRetry, jobID: j.ID, workerID: wid})
			}
		}
	}
}

// earliest returns the pending deadline due first: the earliest time, then the one
// set first (set numbers are unique, so the maps' iteration order does not matter).
func (r *Router) earliest() (due, bool) {
	var first due
	found := false
	r.eachPending(func(d due) {
		if !found || d.at.Before(first.at) || d.at.Equal(first.at) && d.seq < first.seq {
			first, found = d, true
		}
	})
	return first, found
}

// NextDeadline returns the earliest pending deadline.
func (r *Router) NextDeadline() (time.Time, bool) {
	d, ok := r.earliest()
	return d.at, ok
}

// Advance moves the router to now. For each instant T up to now at which a deadline
// is due, in time order, it fires every deadline due at T in the order they were set,
// then matches at T; finally it matches at now.
func (r *Router) Advance(now time.Time) {
	now = r.at(now)
	for {
		d, ok := r.earliest()
		if !ok || d.at.After(now) {
			break
		}
		t := d.at
		for {
			d, ok := r.earliest()
			if !ok || d.at.After(t) {
				break
			}
			r.fire(d)
		}
		r.match(t)
	}
	r.match(now)
}

// fire forgets the deadline d, then does what is due at d.at.
func (r *Router) fire(d due) {
	t := d.at
	j := r.jobs[d.jobID]
	switch d.kind {
	case dueOfferExpiry:
		r.expireOffer(t, d.offer)
	case dueRetry:
		// The decliner may be offered the job again; the matching at t decides. A
		// later decline without a RetryOfferAt (after registering again) holds.
		dc := j.declines[d.workerID]
		dc.retry.set = false
		if !dc.retryAt.IsZero() && !dc.retryAt.After(t) {
			dc.lapsed = true
		}
	case dueClose:
		j.closeAt.set = false
		if j.closing {
			r.closeNow(t, j, j.closeCode)
		}
	case dueSchedule:
		j.scheduleAt.set = false
		r.activateSchedule(t, j)
	case dueSelectors:
		j.selectorExpiry.set = false
		r.expireSelectors(t, j)
	case dueMaxAge:
		j.maxAge.set = false
		if !j.Status.Terminal() {
			r.cancel(t, j, engine.ExpiredCode, "")
		}
	}
}

// newID returns a fresh ID from Config.NewID that taken does not hold: a repeated ID
// gets the first free suffix "-1", "-2", …. A NewID that panics or returns an empty
// or over-long ID is replaced by "jr-" and a counter.
func (r *Router) newID(taken func(string) bool) string {
	id := r.callNewID()
	if !taken(id) {
		return id
	}
	for i := 1; ; i++ {
		if c := id + "-" + itoa(i); !taken(c) {
			return c
		}
	}
}

func (r *Router) callNewID() (id string) {
	defer func() {
		if recover() != nil || id == "" || len(id) > r.cfg.MaxIDLength {
			r.fallbackIDs++
			id = "jr-" + itoa(int(r.fallbackIDs))
		}
	}()
	return r.cfg.NewID()
}

func (r *Router) validID(entity, id string) error {
	if id == "" {
		return invalid(entity, id, "empty ID")
	}
	if len(id) > r.cfg.MaxIDLength {
		return invalid(entity, id[:min(32, len(id))]+"…", "ID too long")
	}
	return nil
}

// Errors: the engine's error type, so that codes, entities and IDs compare.

func invalid(entity, id, reason string) error {
	return &engine.Error{Code: engine.CodeInvalid, Entity: entity, ID: id, Reason: reason}
}

func notFound(entity, id string) error {
	return &engine.Error{Code: engine.CodeNotFound, Entity: entity, ID: id, Reason: entity + " not found"}
}

func conflict(entity, id, reason string) error {
	return &engine.Error{Code: engine.CodeConflict, Entity: entity, ID: id, Reason: reason}
}

// pageIDs sorts ids and applies After and Limit.
func pageIDs(ids []string, after string, limit int) []string {
	sort.Strings(ids)
	var out []string
	for _, id := range ids {
		if after != "" && id <= after {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, id)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
