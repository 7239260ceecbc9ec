package simtest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// The invariants, checked after every operation against what can be observed: the
// events, the getters' views of the state and the engine's pending deadlines. The
// checker keeps a model built from the events alone (the path of every job and offer,
// each worker's offers and holdings, declines, registrations, pending closes and
// exception waits) and requires the state to agree with it:
//
//   - events: sequence numbers gap-free from 1; times never go back and never pass
//     the engine's time;
//   - jobs: every event moves a job along a valid path of statuses (SEMANTICS.md),
//     terminal jobs never move again, and each job's status is the one its events
//     (and the few silent moves: to scheduled, back to waiting) lead to;
//   - assignments: a job has at most one active assignment, held by exactly one
//     worker, exactly while it is assigned or completed;
//   - offers: each offer is issued once and ends exactly once (accepted, declined,
//     expired at exactly its ExpiresAt, or revoked with a reason); each worker's open
//     offers and holdings are those its events leave it;
//   - capacity: when an offer is issued, the worker's used capacity (offers and
//     holdings) plus its cost fits its capacity, its channel's MaxNumberOfJobs and its
//     MaxConcurrentOffers; LoadRatio is used/capacity;
//   - eligibility: no offer goes to a worker that is not registered, does not listen
//     on the queue, lacks the channel, fails a selector or declined the job (until its
//     RetryOfferAt, or it registers again);
//   - queue order: after every operation no queued job with room for more offers
//     has an eligible worker (unless still short of its MinConcurrentOffers), and in
//     the last matching pass no worker eligible for a job took a later one instead;
//   - deadlines: the engine holds exactly one deadline per open offer, pending
//     CloseAt, future RetryOfferAt, scheduled job, earliest unexpired selector,
//     maximum job age and pending exception wait, each at its time, all after now.

type jstate uint8

const (
	jsNone jstate = iota
	jsCreated
	jsClassified // transient: routed within the same operation
	jsPendingClassification
	jsClassificationFailed
	jsQueued
	jsScheduled
	jsWaiting
	jsAssigned
	jsCompleted
	jsUnassigned // transient: queued or waiting within the same operation
	jsClosed
	jsCancelled
)

var jsNames = [...]string{"none", "created", "classified", "pendingClassification", "classificationFailed", "queued",
	"scheduled", "waitingForActivation", "assigned", "completed", "unassigned", "closed", "cancelled"}

func (s jstate) String() string { return jsNames[s] }

func (s jstate) status() engine.JobStatus {
	switch s {
	case jsClassified, jsUnassigned, jsNone:
		return ""
	}
	return engine.JobStatus(jsNames[s])
}

func (s jstate) terminal() bool { return s == jsClosed || s == jsCancelled }

type mjob struct {
	seq         uint64 // creation order (queue order's last tie-break)
	state       jstate
	assignment  string          // the active assignment ("" none)
	holder      string          // its worker
	assignments map[string]bool // every assignment the job has had
	closeAt     time.Time       // a pending CloseAt
	waits       map[string]time.Time
	fired       map[string]bool // exception rules fired for the current enqueue (policy NUL rule)
	inException bool            // an exception rule fired for it in this operation
}

type moffer struct {
	id, job, worker, channel, queue string
	cost                            int
	issued, expires                 time.Time
}

type mhold struct {
	job, channel string
	cost         int
}

type mworker struct {
	epoch      uint64 // registration number; 0: never registered
	registered bool
	offers     []*moffer // open, in issue order
	holds      map[hkey]mhold
}

// hkey names a holding: an assignment ID is unique only within its job.
type hkey struct{ job, assignment string }

func (w *mworker) used() int {
	n := 0
	for _, o := range w.offers {
		n += o.cost
	}
	for _, h := range w.holds {
		n += h.cost
	}
	return n
}

func (w *mworker) onChannel(ch string) int {
	n := 0
	for _, o := range w.offers {
		if o.channel == ch {
			n++
		}
	}
	for _, h := range w.holds {
		if h.channel == ch {
			n++
		}
	}
	return n
}

type pair struct{ job, worker string }

// okey names an open offer: an offer ID is unique only among its worker's open
// offers (World.RepeatIDs makes that visible).
type okey struct{ worker, id string }

type mdecline struct {
	epoch uint64
	retry time.Time
}

type checker struct {
	world    World
	sim      *Sim
	seq      uint64
	lastTime time.Time
	regSeq   uint64
	jobSeq   uint64

	jobs     map[string]*mjob
	offers   map[okey]*moffer // open, by worker and offer ID
	seen     map[string]bool  // every offer ID issued
	workers  map[string]*mworker
	declines map[pair]mdecline
	retries  map[pair]time.Time

	closeReq *closeReq

	// Views of the state after the operation.
	now     time.Time
	vjobs   map[string]*engine.Job
	vwork   map[string]*engine.Worker
	vqueues map[string]*engine.Queue
	vpols   map[string]*engine.DistributionPolicy
	vexc    map[string]*engine.ExceptionPolicy

	issued []*moffer // offers issued in this operation
}

type closeReq struct {
	job string
	at  time.Time
}

func newChecker(w World) *checker {
	return &checker{world: w, jobs: map[string]*mjob{}, offers: map[okey]*moffer{}, seen: map[string]bool{},
		workers: map[string]*mworker{}, declines: map[pair]mdecline{}, retries: map[pair]time.Time{},
		vjobs: map[string]*engine.Job{}, vwork: map[string]*engine.Worker{}, vqueues: map[string]*engine.Queue{},
		vpols: map[string]*engine.DistributionPolicy{}, vexc: map[string]*engine.ExceptionPolicy{}}
}

func (c *checker) fail(invariant, format string, args ...any) { c.sim.fail(invariant, format, args...) }

// closeRequested tells the checker that a CloseJob with closeAt succeeded.
func (c *checker) closeRequested(jobID string, at time.Time) { c.closeReq = &closeReq{jobID, at} }

func (c *checker) worker(id string) *mworker {
	w := c.workers[id]
	if w == nil {
		w = &mworker{holds: map[hkey]mhold{}}
		c.workers[id] = w
	}
	return w
}

// check runs every invariant after an operation of s.
func (c *checker) check(s *Sim) {
	c.sim = s
	c.now = s.e.Now()
	clear(c.vjobs)
	for i := range s.curJobs {
		c.vjobs[s.curJobs[i].ID] = &s.curJobs[i]
	}
	clear(c.vwork)
	for i := range s.curWorkers {
		c.vwork[s.curWorkers[i].ID] = &s.curWorkers[i]
	}
	clear(c.vqueues)
	for i := range s.curQueues {
		c.vqueues[s.curQueues[i].ID] = &s.curQueues[i]
	}
	clear(c.vpols)
	for i := range s.curPols {
		c.vpols[s.curPols[i].ID] = &s.curPols[i]
	}
	clear(c.vexc)
	if c.world.Policies {
		for _, p := range s.e.ListExceptionPolicies(engine.Page{}) {
			c.vexc[p.ID] = &p
		}
	}
	for _, j := range c.jobs {
		j.inException = false
	}
	c.issued = c.issued[:0]
	for _, ev := range s.stepEvents {
		c.event(ev)
	}
	if r := c.closeReq; r != nil {
		c.closeReq = nil
		if j := c.jobs[r.job]; j != nil && r.at.After(c.now) {
			if j.state != jsCompleted {
				c.fail("close", "CloseJob %s with CloseAt %v left it %s", r.job, sinceT0(r.at), j.state)
			}
			j.closeAt = r.at
		}
	}
	c.checkJobs()
	c.checkWorkers()
	c.checkOffers()
	c.checkDeadlines()
	c.checkMatching(s.stepEvents)
}

// ---- events ----

func (c *checker) job(ev engine.Event) *mjob {
	j := c.jobs[ev.JobID]
	if j == nil {
		c.fail("job path", "%s for job %q, which was never received (or was deleted)", ev.Type, ev.JobID)
	}
	return j
}

// move moves a job along its path, from one of the states given.
func (c *checker) move(ev engine.Event, j *mjob, to jstate, from ...jstate) {
	if !slices.Contains(from, j.state) {
		c.fail("job path", "#%d %s for job %s, which is %s", ev.Seq, ev.Type, ev.JobID, j.state)
	}
	c.moveTo(j, to)
}

func (c *checker) moveTo(j *mjob, to jstate) {
	if j.state == jsQueued && to != jsQueued {
		j.waits = nil // the wait in queue is over
	}
	j.state = to
}

var nonTerminal = []jstate{jsCreated, jsClassified, jsPendingClassification, jsClassificationFailed, jsQueued,
	jsScheduled, jsWaiting, jsAssigned, jsCompleted, jsUnassigned}

// classifiable are the states a classification may start from.
var classifiable = []jstate{jsCreated, jsPendingClassification, jsClassificationFailed, jsQueued, jsScheduled, jsWaiting}

func (c *checker) event(ev engine.Event) {
	if ev.Seq != c.seq+1 {
		c.fail("event sequence", "event %s has sequence number %d after %d", ev.Type, ev.Seq, c.seq)
	}
	c.seq = ev.Seq
	if ev.Time.Before(c.lastTime) || ev.Time.After(c.now) {
		c.fail("event time", "#%d %s at %v: after %v, or past the engine's time %v", ev.Seq, ev.Type,
			sinceT0(ev.Time), sinceT0(c.lastTime), sinceT0(c.now))
	}
	c.lastTime = ev.Time
	switch ev.Type {
	case engine.EvJobReceived:
		if c.jobs[ev.JobID] != nil {
			c.fail("job path", "JobReceived for job %s, which exists", ev.JobID)
		}
		c.jobSeq++
		c.jobs[ev.JobID] = &mjob{seq: c.jobSeq, state: jsCreated}
	case engine.EvJobClassified:
		c.move(ev, c.job(ev), jsClassified, classifiable...)
	case engine.EvJobClassificationFailed:
		c.move(ev, c.job(ev), jsClassificationFailed, classifiable...)
	case engine.EvJobQueued:
		j := c.job(ev)
		c.move(ev, j, jsQueued, jsCreated, jsClassified, jsQueued, jsWaiting, jsScheduled, jsUnassigned)
		c.enqueued(ev, j)
	case engine.EvJobWaitingForActivation:
		j := c.job(ev)
		if jv := c.vjobs[ev.JobID]; j.state == jsWaiting && jv != nil && jv.MatchingMode.Kind == engine.ScheduleAndSuspend &&
			!jv.ScheduledAt.After(ev.Time) {
			// Rescheduled to an instant already past: scheduled, then at once waiting
			// again (announced again, as any arrival of ScheduleAt is).
			j.state = jsScheduled
		}
		c.move(ev, j, jsWaiting, jsCreated, jsClassified, jsQueued, jsScheduled, jsUnassigned)
	case engine.EvJobCompleted:
		j := c.job(ev)
		c.move(ev, j, jsCompleted, jsAssigned)
		c.sameAssignment(ev, j)
	case engine.EvJobClosed:
		j := c.job(ev)
		c.move(ev, j, jsClosed, jsCompleted)
		c.sameAssignment(ev, j)
		c.release(ev, j)
		c.ended(j)
	case engine.EvJobCancelled:
		j := c.job(ev)
		c.move(ev, j, jsCancelled, nonTerminal...)
		if j.assignment != "" {
			c.sameAssignment(ev, j)
			c.release(ev, j)
		} else if ev.AssignmentID != "" {
			c.fail("assignment", "#%d JobCancelled names assignment %s, but job %s holds none", ev.Seq, ev.AssignmentID, ev.JobID)
		}
		c.ended(j)
	case engine.EvJobUnassigned:
		j := c.job(ev)
		c.move(ev, j, jsUnassigned, jsAssigned)
		c.sameAssignment(ev, j)
		c.release(ev, j)
	case engine.EvJobExceptionTriggered:
		j := c.job(ev)
		c.move(ev, j, jsQueued, jsQueued)
		j.inException = true
		if q := c.vqueues[ev.QueueID]; q != nil && q.ExceptionPolicyID != "" {
			if j.fired == nil {
				j.fired = map[string]bool{}
			}
			k := q.ExceptionPolicyID + "\x00" + ev.Extras().RuleID
			if j.fired[k] {
				c.fail("exceptions", "#%d rule %s fired twice for job %s in one enqueue", ev.Seq, ev.Extras().RuleID, ev.JobID)
			}
			j.fired[k] = true
		}
		delete(j.waits, ev.Extras().RuleID)
	case engine.EvJobWorkerSelectorsExpired:
		j := c.job(ev)
		c.move(ev, j, j.state, nonTerminal...)
		if len(ev.Extras().RequestedSelectors)+len(ev.Extras().AttachedSelectors) == 0 {
			c.fail("selector expiry", "#%d JobWorkerSelectorsExpired for job %s names no selector", ev.Seq, ev.JobID)
		}
	case engine.EvJobDeleted:
		j := c.job(ev)
		if !j.state.terminal() {
			c.fail("job path", "#%d job %s deleted while %s", ev.Seq, ev.JobID, j.state)
		}
		delete(c.jobs, ev.JobID)
		for p := range c.declines {
			if p.job == ev.JobID {
				delete(c.declines, p) // a job created again with this ID starts afresh
			}
		}
	case engine.EvJobSchedulingFailed:
		c.fail("job path", "#%d JobSchedulingFailed, which an in-process router never has cause to send", ev.Seq)
	case engine.EvOfferIssued:
		c.offerIssued(ev)
	case engine.EvOfferAccepted:
		o := c.endOffer(ev)
		if !ev.Time.Before(o.expires) {
			c.fail("offer path", "#%d offer %s accepted at %v, at or after its ExpiresAt %v", ev.Seq, o.id, sinceT0(ev.Time), sinceT0(o.expires))
		}
		j := c.job(ev)
		c.move(ev, j, jsAssigned, jsQueued)
		if j.assignment != "" {
			c.fail("one assignment", "#%d job %s accepted by %s while assignment %s (%s) is active", ev.Seq, ev.JobID, ev.WorkerID, j.assignment, j.holder)
		}
		if ev.AssignmentID == "" || j.assignments[ev.AssignmentID] {
			c.fail("one assignment", "#%d job %s: assignment ID %q is empty or reused", ev.Seq, ev.JobID, ev.AssignmentID)
		}
		if j.assignments == nil {
			j.assignments = map[string]bool{}
		}
		j.assignments[ev.AssignmentID] = true
		j.assignment, j.holder = ev.AssignmentID, ev.WorkerID
		c.worker(ev.WorkerID).holds[hkey{ev.JobID, ev.AssignmentID}] = mhold{job: ev.JobID, channel: o.channel, cost: o.cost}
	case engine.EvOfferDeclined:
		o := c.endOffer(ev)
		if !ev.Time.Before(o.expires) {
			c.fail("offer path", "#%d offer %s declined at or after its ExpiresAt", ev.Seq, o.id)
		}
		p := pair{o.job, o.worker}
		c.declines[p] = mdecline{epoch: c.worker(o.worker).epoch, retry: ev.Extras().RetryOfferAt}
		if ev.Extras().RetryOfferAt.After(ev.Time) {
			c.retries[p] = ev.Extras().RetryOfferAt
		}
	case engine.EvOfferExpired:
		o := c.endOffer(ev)
		if !ev.Time.Equal(o.expires) {
			c.fail("offer path", "#%d offer %s expired at %v, not at its ExpiresAt %v", ev.Seq, o.id, sinceT0(ev.Time), sinceT0(o.expires))
		}
	case engine.EvOfferRevoked:
		c.endOffer(ev)
		if ev.Extras().Reason == "" {
			c.fail("offer path", "#%d OfferRevoked without a reason", ev.Seq)
		}
	case engine.EvWorkerRegistered:
		w := c.worker(ev.WorkerID)
		if w.registered {
			c.fail("worker path", "#%d worker %s registered twice", ev.Seq, ev.WorkerID)
		}
		c.regSeq++
		w.registered, w.epoch = true, c.regSeq
	case engine.EvWorkerDeregistered:
		w := c.worker(ev.WorkerID)
		if !w.registered || len(w.offers) > 0 {
			c.fail("worker path", "#%d worker %s deregistered while registered=%v with %d open offers", ev.Seq, ev.WorkerID, w.registered, len(w.offers))
		}
		w.registered = false
	case engine.EvWorkerUpdated:
		if len(ev.Extras().UpdatedProperties) == 0 {
			c.fail("worker path", "#%d WorkerUpdated for %s names no property", ev.Seq, ev.WorkerID)
		}
	case engine.EvWorkerDeleted:
		w := c.worker(ev.WorkerID)
		if len(w.offers) > 0 || len(w.holds) > 0 {
			c.fail("worker path", "#%d worker %s deleted with %d offers and %d holdings", ev.Seq, ev.WorkerID, len(w.offers), len(w.holds))
		}
		delete(c.workers, ev.WorkerID)
	default:
		c.fail("event", "#%d unknown event type %q", ev.Seq, ev.Type)
	}
}

func (c *checker) sameAssignment(ev engine.Event, j *mjob) {
	if ev.AssignmentID != j.assignment || ev.WorkerID != j.holder {
		c.fail("assignment", "#%d %s names assignment %s of %s; job %s holds %s of %s", ev.Seq, ev.Type,
			ev.AssignmentID, ev.WorkerID, ev.JobID, j.assignment, j.holder)
	}
}

// release ends the job's active assignment and frees its capacity.
func (c *checker) release(ev engine.Event, j *mjob) {
	if w := c.workers[j.holder]; w != nil {
		k := hkey{ev.JobID, j.assignment}
		if _, ok := w.holds[k]; !ok {
			c.fail("assignment", "#%d worker %s does not hold assignment %s of job %s", ev.Seq, j.holder, j.assignment, ev.JobID)
		}
		delete(w.holds, k)
	} else {
		c.fail("assignment", "#%d the holder %s of job %s is gone", ev.Seq, j.holder, ev.JobID)
	}
	j.assignment, j.holder = "", ""
}

// ended forgets what a terminal job no longer has: its open offers must be gone.
func (c *checker) ended(j *mjob) {
	j.closeAt = time.Time{}
	j.waits = nil
	for id, o := range c.offers {
		if c.jobs[o.job] == j {
			c.fail("offer path", "offer %s of job %s is still open after the job ended", id, o.job)
		}
	}
}

// enqueued records the exception waits a job just queued expects.
func (c *checker) enqueued(ev engine.Event, j *mjob) {
	if !j.inException {
		j.fired = nil // a fresh enqueue: every rule may fire again
	}
	j.waits = nil
	q := c.vqueues[ev.QueueID]
	if q == nil || q.ExceptionPolicyID == "" {
		return
	}
	p := c.vexc[q.ExceptionPolicyID]
	if p == nil {
		return
	}
	for _, r := range p.Rules {
		if r.Trigger.Kind == engine.TriggerWaitTime && !j.fired[p.ID+"\x00"+r.ID] {
			if j.waits == nil {
				j.waits = map[string]time.Time{}
			}
			j.waits[r.ID] = ev.Time.Add(r.Trigger.Wait)
		}
	}
}

func (c *checker) endOffer(ev engine.Event) *moffer {
	o := c.offers[okey{ev.WorkerID, ev.OfferID}]
	if o == nil {
		c.fail("offer path", "#%d %s for offer %s, which is not open", ev.Seq, ev.Type, ev.OfferID)
	}
	if ev.WorkerID != o.worker || ev.JobID != o.job {
		c.fail("offer path", "#%d %s for offer %s names %s/%s, not %s/%s", ev.Seq, ev.Type, o.id, ev.JobID, ev.WorkerID, o.job, o.worker)
	}
	delete(c.offers, okey{o.worker, o.id})
	w := c.worker(o.worker)
	w.offers = slices.DeleteFunc(w.offers, func(x *moffer) bool { return x == o })
	return o
}

// offerIssued checks an offer against the worker's state when it was issued: the
// model's registrations, declines, offers and holdings at that event, and the
// worker's configuration (which only a command changes, before its matching).
func (c *checker) offerIssued(ev engine.Event) {
	// Offer IDs never repeat unless NewID does; then they must still be unique among
	// the worker's open offers.
	if (!c.world.RepeatIDs && c.seen[ev.OfferID]) || c.offers[okey{ev.WorkerID, ev.OfferID}] != nil || ev.OfferID == "" {
		c.fail("offer path", "#%d offer ID %q issued twice", ev.Seq, ev.OfferID)
	}
	c.seen[ev.OfferID] = true
	j := c.job(ev)
	if j.state != jsQueued {
		c.fail("eligibility", "#%d offer %s of job %s, which is %s", ev.Seq, ev.OfferID, ev.JobID, j.state)
	}
	wv := c.vwork[ev.WorkerID]
	if wv == nil {
		c.fail("eligibility", "#%d offer %s to worker %s, which does not exist", ev.Seq, ev.OfferID, ev.WorkerID)
	}
	w := c.worker(ev.WorkerID)
	if !w.registered {
		c.fail("eligibility", "#%d offer %s to worker %s, which is not registered", ev.Seq, ev.OfferID, ev.WorkerID)
	}
	ch, ok := channelOf(wv, ev.ChannelID)
	if !ok {
		c.fail("eligibility", "#%d offer %s on channel %s to worker %s, which has no such channel", ev.Seq, ev.OfferID, ev.ChannelID, ev.WorkerID)
	}
	if !slices.Contains(wv.Queues, ev.QueueID) {
		c.fail("eligibility", "#%d offer %s from queue %s to worker %s, which listens on %v", ev.Seq, ev.OfferID, ev.QueueID, ev.WorkerID, wv.Queues)
	}
	if used := w.used(); used+ch.CapacityCostPerJob > wv.Capacity {
		c.fail("capacity", "#%d offer %s (cost %d) to worker %s using %d of %d", ev.Seq, ev.OfferID, ch.CapacityCostPerJob, ev.WorkerID, used, wv.Capacity)
	}
	if n := w.onChannel(ev.ChannelID); ch.MaxNumberOfJobs > 0 && n >= ch.MaxNumberOfJobs {
		c.fail("capacity", "#%d offer %s to worker %s holding %d jobs on %s (MaxNumberOfJobs %d)", ev.Seq, ev.OfferID, ev.WorkerID, n, ev.ChannelID, ch.MaxNumberOfJobs)
	}
	if wv.MaxConcurrentOffers > 0 && len(w.offers) >= wv.MaxConcurrentOffers {
		c.fail("capacity", "#%d offer %s to worker %s with %d open offers (MaxConcurrentOffers %d)", ev.Seq, ev.OfferID, ev.WorkerID, len(w.offers), wv.MaxConcurrentOffers)
	}
	if c.declined(ev.JobID, ev.WorkerID, ev.Time) {
		c.fail("eligibility", "#%d offer %s of job %s to worker %s, which declined it (%+v)", ev.Seq, ev.OfferID, ev.JobID, ev.WorkerID, c.declines[pair{ev.JobID, ev.WorkerID}])
	}
	for _, o := range w.offers {
		if o.job == ev.JobID {
			c.fail("eligibility", "#%d offer %s of job %s to worker %s, which has offer %s of it", ev.Seq, ev.OfferID, ev.JobID, ev.WorkerID, o.id)
		}
	}
	// The event's time is the offer's OfferedAt (engine.Event has no field of its own
	// for it).
	if !ev.ExpiresAt.After(ev.Time) {
		c.fail("offer path", "#%d offer %s at %v, expiring at %v", ev.Seq, ev.OfferID, sinceT0(ev.Time), sinceT0(ev.ExpiresAt))
	}
	if q := c.vqueues[ev.QueueID]; q != nil {
		if p := c.vpols[q.DistributionPolicyID]; p != nil && !ev.ExpiresAt.Equal(ev.Time.Add(p.OfferExpiresAfter)) {
			c.fail("offer path", "#%d offer %s expires at %v, not OfferExpiresAfter %v after it was offered", ev.Seq, ev.OfferID, sinceT0(ev.ExpiresAt), p.OfferExpiresAfter)
		}
	}
	o := &moffer{id: ev.OfferID, job: ev.JobID, worker: ev.WorkerID, channel: ev.ChannelID, queue: ev.QueueID,
		cost: ch.CapacityCostPerJob, issued: ev.Time, expires: ev.ExpiresAt}
	c.offers[okey{o.worker, o.id}] = o
	w.offers = append(w.offers, o)
	c.issued = append(c.issued, o)
}

// declined reports whether the worker may not be offered the job at t: it declined
// it during its current registration, without a RetryOfferAt or before it.
func (c *checker) declined(jobID, workerID string, t time.Time) bool {
	d, ok := c.declines[pair{jobID, workerID}]
	if !ok || d.epoch != c.worker(workerID).epoch {
		return false
	}
	return d.retry.IsZero() || t.Before(d.retry)
}

func channelOf(w *engine.Worker, id string) (engine.ChannelConfig, bool) {
	for _, ch := range w.Channels {
		if ch.ChannelID == id {
			return ch, true
		}
	}
	return engine.ChannelConfig{}, false
}

// ---- the state after the operation ----

// checkJobs requires each job's status to be where its events led, allowing the
// silent moves (to scheduled; from a reclassification back to waiting).
func (c *checker) checkJobs() {
	for id, j := range c.jobs {
		jv := c.vjobs[id]
		if jv == nil {
			c.fail("job status", "job %s (%s) is missing from ListJobs", id, j.state)
		}
		st := jv.Status
		switch {
		case j.state.status() == st:
		case st == engine.JobScheduled && slices.Contains([]jstate{jsCreated, jsClassified, jsQueued, jsWaiting}, j.state):
			c.moveTo(j, jsScheduled)
		case st == engine.JobWaitingForActivation && j.state == jsClassified:
			c.moveTo(j, jsWaiting)
		default:
			c.fail("job status", "job %s is %s, but its events lead to %s", id, st, j.state)
		}
		if j.state == jsCreated || j.state == jsPendingClassification {
			c.fail("job status", "job %s is still %s after the operation", id, j.state)
		}
		held := st == engine.JobAssigned || st == engine.JobCompleted
		if held != (j.assignment != "") {
			c.fail("one assignment", "job %s is %s with active assignment %q", id, st, j.assignment)
		}
		if held {
			a, ok := jv.Assignments[j.assignment]
			if !ok || a.WorkerID != j.holder || !a.ClosedAt.IsZero() {
				c.fail("one assignment", "job %s: assignment %s of %s is %+v in the job", id, j.assignment, j.holder, a)
			}
		}
		if jv.UnassignmentCount > engine.MaxUnassignments {
			c.fail("job status", "job %s was unassigned %d times", id, jv.UnassignmentCount)
		}
	}
	for id := range c.vjobs {
		if c.jobs[id] == nil {
			c.fail("job path", "job %s exists without JobReceived", id)
		}
	}
}

// checkWorkers requires each worker's state, offers, holdings and load to be those
// its events leave it.
func (c *checker) checkWorkers() {
	for id, w := range c.workers {
		wv := c.vwork[id]
		if wv == nil {
			if len(w.offers) > 0 || len(w.holds) > 0 || w.registered {
				c.fail("worker path", "worker %s is gone without WorkerDeleted", id)
			}
			delete(c.workers, id)
			continue
		}
		active := wv.State == engine.WorkerActive
		if active != w.registered || active != wv.AvailableForOffers {
			c.fail("worker path", "worker %s is %s (available %v) but registered=%v by its events", id, wv.State, wv.AvailableForOffers, w.registered)
		}
		if (wv.State == engine.WorkerDraining) != (!active && len(w.holds) > 0) {
			c.fail("worker path", "worker %s is %s holding %d jobs", id, wv.State, len(w.holds))
		}
		if len(wv.Offers) != len(w.offers) {
			c.fail("offers", "worker %s has %d open offers, its events %d", id, len(wv.Offers), len(w.offers))
		}
		for i, o := range wv.Offers {
			m := w.offers[i]
			if o.ID != m.id || o.JobID != m.job || o.CapacityCost != m.cost || !o.ExpiresAt.Equal(m.expires) || !o.OfferedAt.Equal(m.issued) {
				c.fail("offers", "worker %s: offer %+v, its events %+v", id, o, *m)
			}
		}
		if len(wv.AssignedJobs) != len(w.holds) {
			c.fail("capacity", "worker %s holds %d jobs, its events %d", id, len(wv.AssignedJobs), len(w.holds))
		}
		for _, a := range wv.AssignedJobs {
			h, ok := w.holds[hkey{a.JobID, a.AssignmentID}]
			if !ok || h.job != a.JobID || h.cost != a.CapacityCost {
				c.fail("capacity", "worker %s: holding %+v, its events %+v", id, a, h)
			}
		}
		used := w.used()
		want := 0.0
		switch {
		case wv.Capacity > 0:
			want = float64(used) / float64(wv.Capacity)
		case used > 0:
			want = 1
		}
		if used < 0 || wv.LoadRatio != want {
			c.fail("capacity", "worker %s: LoadRatio %v, used %d of %d", id, wv.LoadRatio, used, wv.Capacity)
		}
	}
	for id, wv := range c.vwork {
		if c.workers[id] == nil && (wv.State != engine.WorkerInactive || len(wv.Offers) > 0 || len(wv.AssignedJobs) > 0) {
			c.fail("worker path", "worker %s is %s with offers or holdings, without events", id, wv.State)
		}
	}
}

// checkOffers checks the offers issued in this operation that are still open against
// the job as it is now (a change that would make the worker ineligible revokes them)
// and every open offer's job.
func (c *checker) checkOffers() {
	for _, o := range c.issued {
		if c.offers[okey{o.worker, o.id}] != o {
			continue // ended (another offer may hold its ID now, with RepeatIDs)
		}
		jv, wv := c.vjobs[o.job], c.vwork[o.worker]
		if jv.QueueID != o.queue || jv.ChannelID != o.channel {
			c.fail("eligibility", "offer %s from %s/%s, but job %s is in %s/%s", o.id, o.queue, o.channel, o.job, jv.QueueID, jv.ChannelID)
		}
		if !c.bypass(jv) {
			if sel, ok := failedSelector(jv, wv); ok {
				c.fail("eligibility", "offer %s of job %s to worker %s (labels %v), which fails selector %+v", o.id, o.job, o.worker, wv.Labels, sel)
			}
		}
	}
	for id, o := range c.offers {
		if j := c.jobs[o.job]; j == nil || j.state != jsQueued {
			c.fail("offers", "offer %s is open, but job %s is not queued", id, o.job)
		}
	}
}

func (c *checker) policyOf(jv *engine.Job) *engine.DistributionPolicy {
	if q := c.vqueues[jv.QueueID]; q != nil {
		return c.vpols[q.DistributionPolicyID]
	}
	return nil
}

func (c *checker) bypass(jv *engine.Job) bool {
	p := c.policyOf(jv)
	return p != nil && p.Mode.BypassSelectors
}

// failedSelector returns an active selector of the job that the worker fails.
func failedSelector(jv *engine.Job, wv *engine.Worker) (engine.Selector, bool) {
	for _, list := range [][]engine.Selector{jv.RequestedWorkerSelectors, jv.AttachedWorkerSelectors} {
		for _, s := range list {
			if s.Expired {
				continue
			}
			v, present := wv.Labels[s.Key]
			if !labels.Match(s.Op, v, present, s.Value) {
				return s, true
			}
		}
	}
	return engine.Selector{}, false
}

// ---- deadlines ----

func (c *checker) checkDeadlines() {
	var want []engine.PendingDeadline
	for _, o := range c.offers {
		want = append(want, engine.PendingDeadline{Kind: engine.DeadlineOfferExpiry, ID: o.id, When: o.expires})
	}
	for p, t := range c.retries {
		j := c.jobs[p.job]
		if !t.After(c.now) || j == nil || j.state.terminal() {
			delete(c.retries, p)
			continue
		}
		want = append(want, engine.PendingDeadline{Kind: engine.DeadlineRetryOffer, ID: p.job + "\x00" + p.worker, When: t})
	}
	age, expires := c.world.maxAge()
	for id, j := range c.jobs {
		if j.state.terminal() {
			continue
		}
		jv := c.vjobs[id]
		if !j.closeAt.IsZero() {
			want = append(want, engine.PendingDeadline{Kind: engine.DeadlineCloseAt, ID: id, When: j.closeAt})
		}
		if jv.Status == engine.JobScheduled {
			want = append(want, engine.PendingDeadline{Kind: engine.DeadlineSchedule, ID: id, When: jv.ScheduledAt})
		}
		var next time.Time
		for _, list := range [][]engine.Selector{jv.RequestedWorkerSelectors, jv.AttachedWorkerSelectors} {
			for _, s := range list {
				if s.ExpiresAfter > 0 && !s.Expired && (next.IsZero() || s.ExpiresAt.Before(next)) {
					next = s.ExpiresAt
				}
			}
		}
		if !next.IsZero() {
			want = append(want, engine.PendingDeadline{Kind: engine.DeadlineSelectorExpiry, ID: id, When: next})
		}
		if expires {
			want = append(want, engine.PendingDeadline{Kind: engine.DeadlineMaxAge, ID: id, When: jv.CreatedAt.Add(age)})
		}
		for rule, t := range j.waits {
			if !t.After(c.now) {
				delete(j.waits, rule) // due: fired, or found nothing to do
				continue
			}
			want = append(want, engine.PendingDeadline{Kind: engine.DeadlineWaitTime, ID: id + "\x00" + rule, When: t})
		}
	}
	got := c.sim.e.Deadlines()
	for _, d := range got {
		if !d.When.After(c.now) {
			c.fail("deadlines", "%s %q at %v is due (now %v) but has not fired", d.Kind, d.ID, sinceT0(d.When), sinceT0(c.now))
		}
	}
	next, ok := c.sim.e.NextDeadline()
	if ok != (len(got) > 0) || ok && !next.Equal(got[0].When) {
		c.fail("deadlines", "NextDeadline %v %v, but the earliest pending deadline is %v", sinceT0(next), ok, got)
	}
	if len(got) == len(want) {
		byKey := func(a, b engine.PendingDeadline) int {
			if a.Kind != b.Kind {
				return strings.Compare(string(a.Kind), string(b.Kind))
			}
			if c := strings.Compare(a.ID, b.ID); c != 0 {
				return c
			}
			return a.When.Compare(b.When) // two workers' offers may share an ID (RepeatIDs)
		}
		got = slices.Clone(got)
		slices.SortFunc(got, byKey)
		slices.SortFunc(want, byKey)
		same := true
		for i := range got {
			if got[i].Kind != want[i].Kind || got[i].ID != want[i].ID || !got[i].When.Equal(want[i].When) {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	c.fail("deadlines", "the engine holds\n%s\nthe state implies\n%s", fmtDeadlines(got), fmtDeadlines(want))
}

func fmtDeadlines(ds []engine.PendingDeadline) string {
	slices.SortFunc(ds, func(a, b engine.PendingDeadline) int {
		if k := strings.Compare(string(a.Kind), string(b.Kind)); k != 0 {
			return k
		}
		return strings.Compare(a.ID, b.ID)
	})
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s %s %v\n", d.Kind, strings.ReplaceAll(d.ID, "\x00", "/"), sinceT0(d.When))
	}
	return b.String()
}

// ---- matching ----

// before reports whether job a comes before job b in queue order: an active
// expedite selector first, then higher priority, then earlier EnqueuedAt, then
// creation order.
func (c *checker) before(a, b engine.Job) bool {
	ea, eb := expedited(&a), expedited(&b)
	if ea != eb {
		return ea
	}
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if !a.EnqueuedAt.Equal(b.EnqueuedAt) {
		return a.EnqueuedAt.Before(b.EnqueuedAt)
	}
	return c.jobs[a.ID].seq < c.jobs[b.ID].seq
}

func expedited(j *engine.Job) bool {
	for _, list := range [][]engine.Selector{j.RequestedWorkerSelectors, j.AttachedWorkerSelectors} {
		for _, s := range list {
			if s.Expedite && !s.Expired {
				return true
			}
		}
	}
	return false
}

// eligible is the eligibility rule of SEMANTICS.md, at time t, with the worker's
// offers in back handed back (as if not yet made).
func (c *checker) eligible(wv *engine.Worker, jv *engine.Job, t time.Time, back []*moffer) bool {
	if wv.State != engine.WorkerActive || !wv.AvailableForOffers || !slices.Contains(wv.Queues, jv.QueueID) {
		return false
	}
	ch, ok := channelOf(wv, jv.ChannelID)
	if !ok {
		return false
	}
	w := c.worker(wv.ID)
	used, onCh, offers := w.used(), w.onChannel(jv.ChannelID), len(w.offers)
	for _, o := range back {
		used -= o.cost
		offers--
		if o.channel == jv.ChannelID {
			onCh--
		}
	}
	if wv.Capacity-used < ch.CapacityCostPerJob ||
		ch.MaxNumberOfJobs > 0 && onCh >= ch.MaxNumberOfJobs ||
		wv.MaxConcurrentOffers > 0 && offers >= wv.MaxConcurrentOffers {
		return false
	}
	for _, o := range w.offers {
		if o.job == jv.ID {
			return false
		}
	}
	if c.declined(jv.ID, wv.ID, t) {
		return false
	}
	if c.bypass(jv) {
		return true
	}
	_, fails := failedSelector(jv, wv)
	return !fails
}

// checkMatching checks queue order and quiescence.
//
// Quiescence: no queued job with fewer open offers than its policy's
// MaxConcurrentOffers has a worker eligible for it now, unless it is still short of
// MinConcurrentOffers (its open offers and the eligible workers together fall short
// of it, so it waits). Matching runs whenever the answer could change, so after an
// operation nothing is left that it could do.
//
// Queue order: take the offers issued last in the operation, at one instant, with
// no other event after them: the last matching pass. It visited the queued jobs in
// queue order. If a worker took an offer there for job B while it was eligible for an
// earlier job A (eligible with its offers for jobs after A handed back: its state
// when A was visited), A must not have had room for it: A has no open offer to the
// worker, fewer open offers than its maximum, and was not short of its minimum, is a
// job passed over for a later one by a worker eligible for both.
func (c *checker) checkMatching(evs []engine.Event) {
	var queued []*engine.Job
	for i := range c.sim.curJobs {
		if jv := &c.sim.curJobs[i]; jv.Status == engine.JobQueued {
			queued = append(queued, jv)
		}
	}
	if len(queued) == 0 {
		return
	}
	slices.SortFunc(queued, func(a, b *engine.Job) int {
		if c.before(*a, *b) {
			return -1
		}
		return 1
	})
	var last []*moffer // the last pass's offers
	var at time.Time
	if n := len(evs); n > 0 && evs[n-1].Type == engine.EvOfferIssued {
		at = evs[n-1].Time
		for i := n - 1; i >= 0 && evs[i].Type == engine.EvOfferIssued && evs[i].Time.Equal(at); i-- {
			if o := c.offers[okey{evs[i].WorkerID, evs[i].OfferID}]; o != nil {
				last = append(last, o)
			}
		}
	}
	rank := make(map[string]int, len(queued))
	for i, jv := range queued {
		rank[jv.ID] = i
	}
	open := map[string]int{}
	for _, o := range c.offers {
		open[o.job]++
	}
	for i, jv := range queued {
		p := c.policyOf(jv)
		if p == nil {
			c.fail("queue order", "queued job %s is in queue %s without a distribution policy", jv.ID, jv.QueueID)
		}
		lo, hi := max(p.Mode.MinConcurrentOffers, 1), max(p.Mode.MaxConcurrentOffers, 1)
		if open[jv.ID] >= hi {
			continue // (hi >= lo: it has its minimum)
		}
		var now []string
		for _, wv := range c.sim.curWorkers {
			if c.eligible(&wv, jv, c.now, nil) {
				now = append(now, wv.ID)
			}
		}
		if len(now) > 0 && open[jv.ID]+len(now) >= lo {
			c.fail("quiescence", "queued job %s has %d of %d..%d offers, and workers %v are eligible for it", jv.ID, open[jv.ID], lo, hi, now)
		}
		if len(last) == 0 {
			continue
		}
		// Its state when the last pass visited it.
		gotOffer := false
		back := map[string][]*moffer{}
		for _, o := range last {
			if o.job == jv.ID {
				gotOffer = true
			} else if rank[o.job] > i {
				back[o.worker] = append(back[o.worker], o)
			}
		}
		if gotOffer && open[jv.ID] < lo {
			c.fail("concurrent offers", "job %s was offered in the last pass but holds %d offers, fewer than its MinConcurrentOffers %d", jv.ID, open[jv.ID], lo)
		}
		cands, passed := 0, ""
		for _, wv := range c.sim.curWorkers {
			if c.eligible(&wv, jv, at, back[wv.ID]) {
				cands++
				if len(back[wv.ID]) > 0 {
					passed = wv.ID
				}
			}
		}
		if passed != "" && (gotOffer || open[jv.ID]+cands >= lo) {
			var later []string
			for _, o := range back[passed] {
				later = append(later, o.job)
			}
			c.fail("queue order", "worker %s was offered %v though eligible for earlier job %s (%d of %d..%d offers, %d candidates)",
				passed, later, jv.ID, open[jv.ID], lo, hi, cands)
		}
	}
}
