package engine

import (
	"math"
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/deadline"
	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/match"
)

// MaxUnassignments is how many times a job may be unassigned.
const MaxUnassignments = 3

// DefaultPriority is a job's priority when none is given.
const DefaultPriority = 1

// jobState is a stored job and its matching state, split in three by how often each
// part is used: the fields of a queued job inline, its assignments in a
// jobAssignments allocated at the first accept (or disposition code), the rest in a
// jobExtra allocated on first use.
//
// Why: a router may hold a million queued jobs, most of which are never classified,
// never hit an exception, are never scheduled, declined or closed late; a job's
// memory is mostly what it could need (issue 4, B4). The inline part (160 bytes, a
// size class) holds what routing a queued job reads: its ID, queue, channel,
// priority, labels, status, times and matching state; its worker selectors are one
// pointer away (jobSelectors), as most jobs have none. Exported fields keep the
// names of the public Job's; the channel and queue IDs are interned names behind
// methods of those names (ChannelID(), QueueID()), the status is a byte (Status()),
// the priority too (-100..100), a job's open offers are a list through the offers,
// and the queue-order key is read in place (orderKey) rather than copied. view
// assembles a Job from the parts. CreatedAt stays a time.Time, handed back as given
// (location and monotonic reading included); EnqueuedAt is kept as the distance from
// it (EnqueuedAt()).
//
// Most jobs a long-running router holds are closed ones, kept until deleted: such a
// job needs its assignments and disposition code and nothing of the jobExtra, so the
// two are apart (B4ClosedJobMemory).
type jobState struct {
	ID        string
	channel   name // ChannelID(): interned, as a million jobs share a few channels
	queue     name // QueueID(): the queue named, whether or not the job is in it
	Labels    Labels
	CreatedAt time.Time
	// enqDelta is EnqueuedAt's wall time minus CreatedAt's (notEnqueued until the
	// job is first enqueued): 8 bytes, where a time.Time takes 24. It changes only
	// while the job is out of queue order (enqueue), so the order's B-trees read it
	// in place (orderKey).
	enqDelta time.Duration

	// seq is the job's creation number, set once (startJobClocks): the deadline
	// heap's push sequence number it reserved when created, so that it is both queue
	// order's last tie-break (it grows with creation) and its listed maximum age's
	// place among the heap's deadlines (agelist.go): one word where two were.
	seq     uint64
	inQueue *queueState   // the queue whose order holds the job (nil when not queued)
	group   *jobGroup     // the job group holding it while hungry (matchindex.go)
	visit   uint64        // the last pass that visited it
	sel     *jobSelectors // its worker selectors; nil while it has none
	// offers are the job's open offers, in issue order (a chain through
	// offerState.jlinks): one pointer where a slice took 24 bytes and, once the job
	// had been offered, an array of its own.
	offers  chain[offerState, jobOffers]
	nOffers uint32 // open offers
	// Priority is -100..100 (validateJob, classification, exception actions).
	Priority int8
	st       statusCode // Status()
	// keyPriority and keyExpedite are the queue-order key's parts that can change
	// while the job is queued, as they were when it was last put in queue order
	// (requeue): the order's B-trees must not see their key change under them.
	keyPriority int8
	keyExpedite bool

	// The maximum-age deadline (agelist.go): a place in Engine.ages, ordered against
	// the heap's deadlines by seq, or, rarely, a heap entry (x.ageDL).
	ageNext, agePrev *jobState

	x  *jobExtra       // nil until a field of it is first set
	as *jobAssignments // nil until the job is first assigned or given a disposition code
}

// jobExtra is the part of a job that a queued or closed job seldom uses: the rest of
// the public Job's fields, classification, exceptions and declines. A job gets one
// when one of these is first set to something other than its zero value
// (jobState.ext), and keeps it.
type jobExtra struct {
	ChannelReference        string
	ClassificationPolicyID  string
	Tags                    Labels
	Notes                   []Note
	MatchingMode            MatchingMode
	ScheduledAt             time.Time
	AttachedWorkerSelectors []Selector
	UnassignmentCount       int

	ageDL    deadline.Handle    // the maximum-age deadline when it is in the heap
	declines map[string]decline // by worker ID
	// enqueues bumps at each enqueue once the job has its extra record: an exception
	// rule's actions compare it to know whether they queued the job again
	// (exception.go), and allocate the record first. Only equality matters.
	enqueues uint32
	// queueByPolicy: the job's QueueID was chosen by classification, not by the
	// caller, so a reclassification chooses again.
	queueByPolicy bool
	// byException: the classification under way was asked for by an exception
	// action, so its re-queue continues the same enqueue (exceptionsOnEnqueue).
	byException bool

	// Classification and exceptions.
	classToken   uint64          // bumps at each classification; answers carry it
	pendingRules []*Rule         // asynchronous rules awaited, in request order
	priorStatus  JobStatus       // status to come back to after a reclassification
	fired        map[string]bool // exception rules fired (policy ID + NUL + rule ID)
	waits        []string        // rule IDs with a pending wait-time deadline
	// deferredActions: exception actions that follow a reclassify action whose
	// classification waits for a webhook; they run once it is applied.
	deferredActions *deferred
}

// jobAssignments is what an assigned, completed or closed job needs beyond a queued
// one: its assignments, a pending close and its disposition code (also set by a
// cancel). A job gets one when one of these is first set (jobState.asgW), and keeps
// it.
type jobAssignments struct {
	DispositionCode string
	current         string // the assignment holding capacity, if any
	closing         *pendingClose
	// assigns is the job's assignment history (Job.Assignments, which stays nil in
	// the stored job): at most MaxUnassignments+1 entries, so a slice searched
	// linearly costs less than a map, in time and far more in memory. Its first
	// entry is first's, in the same record (addAssignment): most jobs are assigned
	// once, and so allocate one record for their assignments, not two.
	assigns []assignRec
	first   [1]assignRec
}

// addAssignment appends r to the job's assignment history: into first the first
// time, so that the accept allocates nothing more than the jobAssignments (176 B, a
// size class of its own, as its 64 B and the 112 B of a separate entry were
// together); a later one grows the slice as append does. A jobAssignments is never
// copied (it is held by pointer only), so assigns never aliases another's first.
// Amortised O(1).
func (a *jobAssignments) addAssignment(r assignRec) {
	if a.assigns == nil {
		a.first[0] = r
		a.assigns = a.first[:1:1]
		return
	}
	a.assigns = append(a.assigns, r)
}

// assignRec is a stored Assignment without its JobID, which is the job's: 112 bytes,
// a size class below Assignment's 128.
type assignRec struct {
	ID           string
	WorkerID     string
	CapacityCost int
	AssignedAt   time.Time
	CompletedAt  time.Time
	ClosedAt     time.Time
}

// setWritable sets the writable fields of in that live in the jobExtra, allocating
// it only when one of them is not zero. O(1).
func (j *jobState) setWritable(in *Job) {
	if j.x == nil && in.ChannelReference == "" && in.ClassificationPolicyID == "" && in.Tags == nil &&
		in.Notes == nil && in.MatchingMode == (MatchingMode{}) {
		return
	}
	x := j.ext()
	x.ChannelReference, x.ClassificationPolicyID = in.ChannelReference, in.ClassificationPolicyID
	x.Tags, x.Notes, x.MatchingMode = in.Tags, in.Notes, in.MatchingMode
}

// A job's side records (jobExtra, jobAssignments) are allocated on first write:
// read through orZero, written through alloc.

// noExtra and noAssignments are what cold and asg return for a job without the
// record. Nothing writes to them (CheckIndexes verifies that they stay zero).
var (
	noExtra       jobExtra
	noAssignments jobAssignments
)

// orZero returns p, or zero when p is nil. O(1).
func orZero[T any](p, zero *T) *T {
	if p == nil {
		return zero
	}
	return p
}

// alloc returns *p, allocating it first when it is nil. O(1).
func alloc[T any](p **T) *T {
	if *p == nil {
		*p = new(T)
	}
	return *p
}

// cold returns the job's jobExtra for reading: the zero jobExtra when it has none.
// It must not be written through. O(1).
func (j *jobState) cold() *jobExtra { return orZero(j.x, &noExtra) }

// ext returns the job's jobExtra for writing, allocating it on first use. A write of
// a zero value to a job that has none need not call it. O(1).
func (j *jobState) ext() *jobExtra { return alloc(&j.x) }

// asg returns the job's jobAssignments for reading: the zero one when it has none.
// It must not be written through. O(1).
func (j *jobState) asg() *jobAssignments { return orZero(j.as, &noAssignments) }

// asgW returns the job's jobAssignments for writing, allocating it on first use. A
// write of a zero value to a job that has none need not call it. O(1).
func (j *jobState) asgW() *jobAssignments { return alloc(&j.as) }

// jobSelectors is a job's worker selectors, apart from the record so that a job
// without any pays one pointer for them, not two slice headers (B4). A record may be
// shared by the jobs whose selectors are identical (selset.go): then shared says by
// how many, and nothing writes to it.
type jobSelectors struct {
	requested []Selector          // RequestedWorkerSelectors
	reqs      []match.Requirement // the active ones, requested and attached
	shared    *internedSelectors  // non-nil: interned (the record is shared.jobSelectors)
}

// noSelectors is what sels returns for a job without a jobSelectors. Nothing writes
// to it.
var noSelectors jobSelectors

// sels returns the job's jobSelectors for reading: the zero one when it has none.
// O(1).
func (j *jobState) sels() *jobSelectors { return orZero(j.sel, &noSelectors) }

// requested returns the job's RequestedWorkerSelectors (nil: none). O(1).
func (j *jobState) requested() []Selector { return j.sels().requested }

// reqs returns the job's active requirements, requested and attached (nil: none).
// O(1).
func (j *jobState) reqs() []match.Requirement { return j.sels().reqs }

// setSelectors stores the job's requested selectors and active requirements; a job
// left with neither keeps no record of them. A job that shared an interned record
// lets go of it first and gets one of its own. O(1), or O(selectors) to let go.
func (j *jobState) setSelectors(requested []Selector, reqs []match.Requirement) {
	if j.sel != nil && j.sel.shared != nil {
		j.sel.shared.release()
		j.sel = nil
	}
	if requested == nil && reqs == nil {
		j.sel = nil
		return
	}
	*alloc(&j.sel) = jobSelectors{requested: requested, reqs: reqs}
}

// setRequested sets the job's RequestedWorkerSelectors; refreshReqs must follow
// once its attached selectors are set too. O(1).
func (j *jobState) setRequested(s []Selector) { j.setSelectors(s, j.reqs()) }

// refreshReqs recomputes the job's active requirements from its requested and
// attached selectors. O(selectors).
func (j *jobState) refreshReqs() { j.setSelectors(j.requested(), activeReqs(j)) }

// orderKey returns the job's place in queue order. O(1).
func (j *jobState) orderKey() match.JobKey {
	return match.JobKey{Expedite: j.keyExpedite, Priority: int(j.keyPriority), EnqueuedAt: j.EnqueuedAt(), Seq: j.seq}
}

type deferred struct {
	ruleID  string
	actions []Action
}

type pendingClose struct {
	code string
}

func closeKey(jobID string) deadline.Key    { return deadline.Key{Kind: dlCloseAt, ID: jobID} }
func scheduleKey(jobID string) deadline.Key { return deadline.Key{Kind: dlSchedule, ID: jobID} }

// view returns the job as a Job value. Its Labels, Tags, RequestedWorkerSelectors,
// Notes and AttachedWorkerSelectors are the job's own, shared, and must not be
// written to (nor appended to: they may have room past their length). The engine
// does not write to them either once a view or an event can see them: it replaces
// a job's selectors with a new slice when one expires (expireDue) or the job is
// updated, and appends a note after a clip; startSelectorClocks writes into a
// selector slice only when it has just been stored, within the same call, before
// any view is taken. So a view stays as it was taken. The public shell converts
// each of them into a new value of the public type anyway, so copying them here too
// was one more allocation per selector list for every CreateJob and GetJob.
// Assignments is a new map. O(assignments).
func (j *jobState) view() Job {
	x := j.cold()
	v := Job{
		ID: j.ID, ChannelID: j.ChannelID(), ChannelReference: x.ChannelReference, QueueID: j.QueueID(),
		ClassificationPolicyID: x.ClassificationPolicyID, Priority: int(j.Priority),
		RequestedWorkerSelectors: j.requested(), Labels: j.Labels, Tags: x.Tags,
		Notes: x.Notes, MatchingMode: x.MatchingMode, Status: j.Status(), CreatedAt: j.CreatedAt,
		EnqueuedAt: j.EnqueuedAt(), ScheduledAt: x.ScheduledAt, AttachedWorkerSelectors: x.AttachedWorkerSelectors,
		DispositionCode: j.asg().DispositionCode, UnassignmentCount: x.UnassignmentCount,
	}
	if as := j.asg().assigns; len(as) > 0 {
		v.Assignments = make(map[string]Assignment, len(as))
		for _, a := range as {
			v.Assignments[a.ID] = Assignment{ID: a.ID, JobID: j.ID, WorkerID: a.WorkerID, CapacityCost: a.CapacityCost,
				AssignedAt: a.AssignedAt, CompletedAt: a.CompletedAt, ClosedAt: a.ClosedAt}
		}
	}
	return v
}

// validateJob checks and normalises the writable fields of j.
func (e *Engine) validateJob(j *Job) error {
	const ent = "job"
	if err := e.validID(ent, j.ID); err != nil {
		return err
	}
	if j.ChannelID == "" {
		return invalid(ent, j.ID, "a ChannelID is required")
	}
	if j.Priority == 0 {
		j.Priority = DefaultPriority
	}
	if j.Priority < -100 || j.Priority > 100 {
		return invalid(ent, j.ID, "Priority "+itoa(j.Priority)+" is outside -100..100")
	}
	if j.ClassificationPolicyID != "" {
		if _, ok := e.classPolicies[j.ClassificationPolicyID]; !ok {
			return &Error{Code: CodeNotFound, Entity: ent, ID: j.ID, Reason: "classification policy " + quote(j.ClassificationPolicyID) + " not found"}
		}
	} else if j.QueueID == "" {
		return invalid(ent, j.ID, "a QueueID (or a ClassificationPolicyID) is required")
	}
	if j.QueueID != "" {
		if _, ok := e.queues[j.QueueID]; !ok {
			return &Error{Code: CodeNotFound, Entity: ent, ID: j.ID, Reason: "queue " + quote(j.QueueID) + " not found"}
		}
	}
	// Validated on a copy: the caller's slice is never written to.
	j.RequestedWorkerSelectors = slices.Clone(j.RequestedWorkerSelectors)
	for i := range j.RequestedWorkerSelectors {
		if err := validSelector(j.ID, &j.RequestedWorkerSelectors[i]); err != nil {
			return err
		}
	}
	if err := labels.ValidateMap(j.Labels); err != nil {
		return invalid(ent, j.ID, "labels: "+err.Error())
	}
	if err := labels.ValidateMap(j.Tags); err != nil {
		return invalid(ent, j.ID, "tags: "+err.Error())
	}
	switch j.MatchingMode.Kind {
	case QueueAndMatch, Suspend:
		j.MatchingMode.ScheduleAt = time.Time{}
	case ScheduleAndSuspend:
		if j.MatchingMode.ScheduleAt.IsZero() {
			return invalid(ent, j.ID, "ScheduleAndSuspend needs a ScheduleAt")
		}
	default:
		return invalid(ent, j.ID, "unknown matching mode")
	}
	j.Labels = labels.Clone(j.Labels)
	j.Tags = labels.Clone(j.Tags)
	j.Notes = slices.Clone(j.Notes) // the selectors were copied before validation
	return nil
}

func validSelector(jobID string, s *Selector) error {
	switch {
	case s.Key == "":
		return invalid("job", jobID, "a worker selector has an empty key")
	case !s.Op.Valid():
		return invalid("job", jobID, "worker selector "+quote(s.Key)+": unknown operator "+quote(string(s.Op)))
	case s.ExpiresAfter < 0:
		return invalid("job", jobID, "worker selector "+quote(s.Key)+": ExpiresAfter must not be negative")
	}
	if err := labels.Validate(s.Value); err != nil {
		return invalid("job", jobID, "worker selector "+quote(s.Key)+": "+err.Error())
	}
	if s.Op.Ordering() && !labels.IsNumber(s.Value) {
		return invalid("job", jobID, "worker selector "+quote(s.Key)+": "+string(s.Op)+" needs a number")
	}
	s.Expired, s.ExpiresAt = false, time.Time{}
	return nil
}

// CreateJob creates a job and routes it at once: it is announced (JobReceived), then
// queued (JobQueued) and offered to eligible workers before CreateJob returns. A job
// created with SuspendMode waits for activation; with ScheduleAndSuspendMode it is
// scheduled. An empty ID gets one from Config.NewID.
// Errors: CodeInvalid, CodeNotFound (queue), CodeConflict (the ID exists).
func (e *Engine) CreateJob(now time.Time, in Job) (Job, error) {
	now = e.at(now)
	generated := in.ID == ""
	if generated {
		// Validate under a placeholder first, so that a rejected job uses up no ID.
		in.ID = "(new job)"
	}
	if err := e.validateJob(&in); err != nil {
		return Job{}, err
	}
	if generated {
		in.ID = e.newID(func(s string) bool { _, ok := e.jobs.get(s); return ok })
		if err := e.validID("job", in.ID); err != nil {
			return Job{}, err
		}
	} else if _, ok := e.jobs.get(in.ID); ok {
		return Job{}, conflict("job", in.ID, "a job with this ID exists")
	}
	j := &jobState{
		ID: in.ID, channel: e.names.intern(in.ChannelID), queue: e.names.intern(in.QueueID), Priority: int8(in.Priority),
		Labels: in.Labels, st: stCreated, CreatedAt: now, enqDelta: notEnqueued,
	}
	interned := len(in.RequestedWorkerSelectors) > 0 && e.selSets.intern(j, in.RequestedWorkerSelectors)
	if !interned {
		j.setRequested(in.RequestedWorkerSelectors)
	}
	j.setWritable(&in)
	if !interned {
		j.refreshReqs()
	}
	e.jobs.put(j)
	e.activeIDs.insert(j)
	e.startJobClocks(now, j)
	e.emit(now, e.jobEvent(EvJobReceived, j))
	if j.cold().ClassificationPolicyID != "" {
		e.startClassification(now, j, JobCreated)
	} else {
		e.route(now, j, JobCreated)
	}
	e.match(now)
	return j.view(), nil
}

// route sends a job that has just been created or (later) classified where its
// matching mode says.
//
// The job's current MatchingMode alone decides: QueueAndMatch queues it (keeping an
// EnqueuedAt it already has), Suspend makes it wait for activation, and
// ScheduleAndSuspend schedules it until ScheduleAt (or makes it wait at once when
// that has passed). prior is the status the job had before the change that routes it
// now: a job that was already waiting for activation does not announce
// JobWaitingForActivation again.
func (e *Engine) route(now time.Time, j *jobState, prior JobStatus) {
	switch j.cold().MatchingMode.Kind {
	case QueueAndMatch:
		enq := j.EnqueuedAt()
		if enq.IsZero() {
			enq = now
		}
		e.enqueue(now, j, enq)
	case Suspend:
		if prior == JobWaitingForActivation {
			e.keepWaiting(j)
			return
		}
		e.suspend(now, j)
	case ScheduleAndSuspend:
		if prior == JobWaitingForActivation && !j.cold().MatchingMode.ScheduleAt.After(now) {
			e.keepWaiting(j)
			return
		}
		e.schedule(now, j)
	}
}

// enqueue puts j in queue order with the given EnqueuedAt and announces JobQueued.
func (e *Engine) enqueue(now time.Time, j *jobState, enqueuedAt time.Time) {
	if j.x != nil {
		j.x.enqueues++
	}
	j.st = stQueued
	// Out of queue order before its EnqueuedAt changes: the order's B-trees read it
	// in place (orderKey).
	e.unqueue(j)
	// Wall readings: the monotonic one does not count a system's sleep or a step of
	// its clock, so a delta of monotonic readings would give back the wrong wall time.
	j.enqDelta = enqueuedAt.Round(0).Sub(j.CreatedAt.Round(0))
	e.putInLine(j)
	e.emit(now, e.jobEvent(EvJobQueued, j))
	e.exceptionsOnEnqueue(now, j)
}

// keepWaiting puts back in waitingForActivation, without announcing it again, a job
// that was already waiting before it was reclassified.
func (e *Engine) keepWaiting(j *jobState) {
	e.unqueue(j)
	e.cancelWaitTimes(j)
	j.st = stWaitingForActivation
}

func (e *Engine) suspend(now time.Time, j *jobState) {
	e.unqueue(j)
	e.cancelWaitTimes(j)
	j.st = stWaitingForActivation
	e.emitWaiting(now, j)
}

// emitWaiting announces JobWaitingForActivation at t, with the time the job was
// scheduled for if it was.
func (e *Engine) emitWaiting(t time.Time, j *jobState) {
	var x *EventExtra
	if at := j.cold().ScheduledAt; !at.IsZero() {
		x = &EventExtra{ScheduledAt: at}
	}
	e.emitWith(t, e.jobEvent(EvJobWaitingForActivation, j), x)
}

func (e *Engine) schedule(now time.Time, j *jobState) {
	e.unqueue(j)
	e.cancelWaitTimes(j)
	j.ext().ScheduledAt = j.cold().MatchingMode.ScheduleAt
	j.st = stScheduled
	if !j.cold().ScheduledAt.After(now) {
		e.activateSchedule(now, j.ID)
		return
	}
	e.deadlines.Set(scheduleKey(j.ID), j.cold().ScheduledAt)
}

func (e *Engine) activateSchedule(t time.Time, id string) {
	j, _ := e.jobs.get(id)
	if j == nil || j.st != stScheduled {
		return
	}
	e.deadlines.Cancel(scheduleKey(id))
	j.st = stWaitingForActivation
	e.emitWaiting(t, j)
}

// notEnqueued is jobState.enqDelta until the job is first enqueued. No enqueue gives
// it: the engine's time never moves backwards, and time.Time.Sub gives this only for
// an EnqueuedAt some 292 years before CreatedAt.
const notEnqueued = time.Duration(math.MinInt64)

// EnqueuedAt returns when the job was (last) queued, or the zero time when it never
// was: the wall time the clock gave, in CreatedAt's location and without a
// monotonic reading (ours: README), so queue order compares EnqueuedAt's wall times.
// O(1).
func (j *jobState) EnqueuedAt() time.Time {
	if j.enqDelta == notEnqueued {
		return time.Time{}
	}
	return j.CreatedAt.Round(0).Add(j.enqDelta)
}

// enqueuedWall returns EnqueuedAt()'s wall instant as Unix seconds and nanoseconds
// within the second, computed as time.Time.Add computes it, so that the pair orders
// as EnqueuedAt() does (a time without a monotonic reading compares by its wall
// instant). ok is false for a job never enqueued and for a CreatedAt whose Unix
// seconds lie beyond ±2^62 (where Add could saturate, or the sum here overflow):
// the caller falls back to EnqueuedAt(). O(1).
func (j *jobState) enqueuedWall() (sec, nsec int64, ok bool) {
	s := j.CreatedAt.Unix()
	if j.enqDelta == notEnqueued || s < -1<<62 || s > 1<<62 {
		return 0, 0, false
	}
	d := int64(j.enqDelta)
	sec, nsec = s+d/1e9, int64(j.CreatedAt.Nanosecond())+d%1e9
	if nsec >= 1e9 {
		sec, nsec = sec+1, nsec-1e9
	} else if nsec < 0 {
		sec, nsec = sec-1, nsec+1e9
	}
	return sec, nsec, true
}

// ChannelID returns the job's channel ID. O(1).
func (j *jobState) ChannelID() string { return j.channel.String() }

// QueueID returns the ID of the job's queue (the one it is, was or will be queued
// in; "" while a classification has yet to choose). O(1).
func (j *jobState) QueueID() string { return j.queue.String() }

// Status returns the job's status. O(1).
func (j *jobState) Status() JobStatus { return j.st.status() }

// queuedIn returns the ID of the queue whose order holds j, or "". O(1).
func (j *jobState) queuedIn() string {
	if j.inQueue == nil {
		return ""
	}
	return j.inQueue.ID
}

// requeue (re)inserts j in its queue's order after a change of its key, queue or
// requirements, and marks it for matching. O(log n).
func (e *Engine) requeue(j *jobState) {
	e.unqueue(j)
	e.putInLine(j)
}

// putInLine inserts j, out of queue order, in its queue's order with its key as it
// is now, and marks it for matching. O(log n).
func (e *Engine) putInLine(j *jobState) {
	j.keyPriority, j.keyExpedite = j.Priority, expedite(j)
	q := e.queues[j.QueueID()]
	q.order.insert(j)
	j.inQueue = q
	e.gainJob(j)
}

// unqueue removes j from queue order and from its job group if it is there. O(log n).
func (e *Engine) unqueue(j *jobState) {
	e.ungroup(j)
	if q := j.inQueue; q != nil {
		q.order.remove(j)
	}
	j.inQueue = nil
}

func expedite(j *jobState) bool {
	for _, s := range j.requested() {
		if s.Expedite && !s.Expired {
			return true
		}
	}
	for _, s := range j.cold().AttachedWorkerSelectors {
		if s.Expedite && !s.Expired {
			return true
		}
	}
	return false
}

func activeReqs(j *jobState) []match.Requirement {
	var out []match.Requirement
	for _, list := range [][]Selector{j.requested(), j.cold().AttachedWorkerSelectors} {
		for _, s := range list {
			if !s.Expired {
				out = append(out, match.Requirement{Key: s.Key, Op: s.Op, Value: s.Value})
			}
		}
	}
	return out
}

func (e *Engine) jobEvent(typ EventType, j *jobState) Event {
	return Event{Type: typ, JobID: j.ID, QueueID: j.QueueID(), ChannelID: j.ChannelID(),
		ChannelReference: j.cold().ChannelReference, ClassificationPolicyID: j.cold().ClassificationPolicyID,
		JobPriority: int(j.Priority), JobStatus: j.Status(), JobLabels: j.Labels, JobTags: j.cold().Tags}
}

// assignmentEvent is a job event naming the job's current assignment.
func (e *Engine) assignmentEvent(typ EventType, j *jobState, aid string) Event {
	ev := e.jobEvent(typ, j)
	ev.AssignmentID = aid
	if a := j.assignment(aid); a != nil {
		ev.WorkerID = a.WorkerID
	}
	return ev
}

// UpdateJob replaces a job's writable fields (read-only ones in the input are
// ignored). On a queued job, a change of queue, channel, priority, labels or
// selectors revokes its open offers and matches it again **(ours, as Azure)**; moved
// to another queue, it is queued there afresh (JobQueued; that queue's exception
// rules apply from now) and keeps its EnqueuedAt.
// An empty QueueID on a job with a classification policy keeps the job's queue
// **(ours)**.
// A change of MatchingMode moves a job between queued, waiting for activation and
// scheduled; back to QueueAndMatch, a job that was queued before keeps its
// EnqueuedAt **(ours)**. An assigned or completed job may change only its labels,
// tags, notes, priority and channel reference.
// Errors: CodeInvalid, CodeNotFound, CodeConflict (terminal job, or a change its
// status does not allow).
func (e *Engine) UpdateJob(now time.Time, in Job) (Job, error) {
	now = e.at(now)
	j, ok := e.jobs.get(in.ID)
	if !ok {
		return Job{}, notFound("job", in.ID)
	}
	if err := e.validateJob(&in); err != nil {
		return Job{}, err
	}
	if j.st.terminal() {
		return Job{}, conflict("job", j.ID, "the job is "+string(j.Status()))
	}
	// **(ours)** With a classification policy a job may be given no QueueID: the
	// policy chooses. On an update that means "keep the queue the policy chose" (a
	// change of labels or policy classifies the job again); a job never stores an
	// empty queue while it is, or may be, queued.
	if in.QueueID == "" && in.ClassificationPolicyID != "" {
		in.QueueID = j.QueueID()
	}
	routing := in.QueueID != j.QueueID() || in.ChannelID != j.ChannelID() || in.Priority != int(j.Priority) ||
		!sameLabels(in.Labels, j.Labels) || !slices.EqualFunc(in.RequestedWorkerSelectors, j.requested(), sameSelector)
	modeChanged := in.MatchingMode.Kind != j.cold().MatchingMode.Kind || !in.MatchingMode.ScheduleAt.Equal(j.cold().MatchingMode.ScheduleAt)
	held := j.st == stAssigned || j.st == stCompleted
	if held && (in.QueueID != j.QueueID() || in.ChannelID != j.ChannelID() ||
		!slices.EqualFunc(in.RequestedWorkerSelectors, j.requested(), sameSelector) || modeChanged) {
		return Job{}, conflict("job", j.ID, "an "+string(j.Status())+" job may change only labels, tags, notes, priority and channel reference")
	}
	// A classified job whose labels or policy change is classified again, unless it
	// is assigned or completed (then its labels just change).
	// A job with a classification policy whose labels or policy change is classified
	// (again), unless it is assigned or completed (then its labels just change).
	reclass := in.ClassificationPolicyID != "" && classifiableStatus(j.Status()) &&
		(in.ClassificationPolicyID != j.cold().ClassificationPolicyID || !sameLabels(in.Labels, j.Labels))
	// A job without a valid classification (failed, or waiting for a webhook) is not
	// routed by a change of mode: its next classification routes it by the new mode.
	unclassified := j.st == stClassificationFailed || j.st == stPendingClassification
	if in.QueueID != j.QueueID() && j.x != nil {
		j.x.queueByPolicy = false // the caller chose the queue
	}
	if routing && j.st == stQueued {
		e.revokeJobOffers(now, j, "job updated")
	}
	j.queue, j.channel, j.Priority = e.names.intern(in.QueueID), e.names.intern(in.ChannelID), int8(in.Priority)
	j.Labels = in.Labels
	j.setWritable(&in)
	startSelectorClocks(now, in.RequestedWorkerSelectors, j.requested())
	j.setRequested(in.RequestedWorkerSelectors)
	j.refreshReqs()
	e.armSelectorExpiry(j)
	if reclass {
		if modeChanged {
			e.deadlines.Cancel(scheduleKey(j.ID))
		}
		e.reclassify(now, j, false)
	} else if modeChanged && unclassified {
		e.deadlines.Cancel(scheduleKey(j.ID))
	} else if modeChanged {
		e.deadlines.Cancel(scheduleKey(j.ID))
		switch j.cold().MatchingMode.Kind {
		case QueueAndMatch:
			enq := j.EnqueuedAt()
			if enq.IsZero() {
				enq = now
			}
			switch {
			case j.st != stQueued:
				e.enqueue(now, j, enq)
			case j.queuedIn() != j.QueueID():
				// Already queued (its mode said otherwise, and it is QueueAndMatch
				// now), and moved to another queue: queued there afresh.
				e.enqueue(now, j, j.EnqueuedAt())
			case routing:
				e.requeue(j)
			}
		case Suspend:
			if j.st != stWaitingForActivation {
				e.revokeJobOffers(now, j, "job suspended")
				e.suspend(now, j)
			}
		case ScheduleAndSuspend:
			e.revokeJobOffers(now, j, "job scheduled")
			e.schedule(now, j)
		}
	} else if j.st == stQueued && j.queuedIn() != j.QueueID() {
		// Moved to another queue: queued there afresh (JobQueued, and that queue's
		// exception rules apply from now), keeping its place in time.
		e.enqueue(now, j, j.EnqueuedAt())
	} else if j.st == stQueued && routing {
		e.requeue(j)
	}
	e.gainJob(j)
	e.match(now)
	return j.view(), nil
}

func sameSelector(a, b Selector) bool {
	return a.Key == b.Key && a.Op == b.Op && labels.Same(a.Value, b.Value) && sameType(a.Value, b.Value) &&
		a.ExpiresAfter == b.ExpiresAfter && a.Expedite == b.Expedite
}

// GetJob returns a job. Errors: CodeNotFound.
func (e *Engine) GetJob(id string) (Job, error) {
	j, ok := e.jobs.get(id)
	if !ok {
		return Job{}, notFound("job", id)
	}
	return j.view(), nil
}

// ListJobs returns the jobs that pass f, sorted by ID: those after f.After, at most
// f.Limit of them (every one when Limit is 0). O(log n + scanned), where scanned counts
// the jobs visited, those the filter skips included. Active and terminal jobs are
// indexed apart (doneIDs): a filter on Active or on a non-terminal Status walks only
// the active jobs, so closed and cancelled jobs, however many, are never scanned for
// it, and a filter on a terminal Status walks only the terminal ones.
func (e *Engine) ListJobs(f JobFilter) []Job {
	var out []Job
	keep := func(j *jobState) bool {
		switch {
		case f.Status != "" && j.Status() != f.Status,
			f.Active && j.st.terminal(),
			f.QueueID != "" && j.QueueID() != f.QueueID,
			f.ChannelID != "" && j.ChannelID() != f.ChannelID,
			f.ClassificationPolicyID != "" && j.cold().ClassificationPolicyID != f.ClassificationPolicyID,
			!f.ScheduledBefore.IsZero() && (j.cold().ScheduledAt.IsZero() || !j.cold().ScheduledAt.Before(f.ScheduledBefore)),
			!f.ScheduledAfter.IsZero() && (j.cold().ScheduledAt.IsZero() || !j.cold().ScheduledAt.After(f.ScheduledAfter)):
			return true
		}
		out = append(out, j.view())
		return f.Limit <= 0 || len(out) < f.Limit
	}
	switch {
	case f.Active || (f.Status != "" && !f.Status.Terminal()):
		e.activeIDs.ascendAfter(f.After, keep)
	case f.Status != "":
		e.doneIDs.ascendAfter(f.After, keep)
	default:
		ascendMerged(&e.activeIDs, &e.doneIDs, f.After, keep)
	}
	return out
}

// DeleteJob deletes a closed or cancelled job: JobDeleted.
// Errors: CodeNotFound, CodeConflict (not terminal).
func (e *Engine) DeleteJob(now time.Time, id string) error {
	now = e.at(now)
	j, ok := e.jobs.get(id)
	if !ok {
		return notFound("job", id)
	}
	if !j.st.terminal() {
		return conflict("job", id, "only a closed or cancelled job can be deleted; it is "+string(j.Status()))
	}
	e.jobs.forget(j)         // and out of doneIDs
	j.setSelectors(nil, nil) // lets go of a shared selector record (selset.go)
	e.emit(now, Event{Type: EvJobDeleted, JobID: id, QueueID: j.QueueID(), ChannelID: j.ChannelID(), ChannelReference: j.cold().ChannelReference})
	return nil
}

// assignment returns the job's assignment aid, or nil. O(assignments) ≤ 4.
func (j *jobState) assignment(aid string) *assignRec {
	for i := range j.asg().assigns {
		if j.asg().assigns[i].ID == aid {
			return &j.asgW().assigns[i]
		}
	}
	return nil
}

// heldAssignment checks that aid is j's current assignment.
func (j *jobState) heldAssignment(aid string) error {
	if j.assignment(aid) == nil {
		return &Error{Code: CodeNotFound, Entity: "assignment", ID: aid, Reason: "job " + quote(j.ID) + " has no assignment " + quote(aid)}
	}
	if aid != j.asg().current {
		return conflict("assignment", aid, "not the current assignment of job "+quote(j.ID))
	}
	return nil
}

func (j *jobState) addNote(now time.Time, note string) {
	if note != "" {
		j.ext().Notes = append(slices.Clip(j.cold().Notes), Note{Message: note, AddedAt: now})
	}
}

// CompleteJob moves an assigned job to completed (wrap-up): JobCompleted. The
// worker's capacity stays held until the job is closed.
// Errors: CodeNotFound (job, assignment), CodeConflict (not assigned, or not the
// current assignment).
func (e *Engine) CompleteJob(now time.Time, jobID, aid, note string) error {
	now = e.at(now)
	j, ok := e.jobs.get(jobID)
	if !ok {
		return notFound("job", jobID)
	}
	if err := j.heldAssignment(aid); err != nil {
		return err
	}
	if j.st != stAssigned {
		return conflict("job", jobID, "only an assigned job can be completed; it is "+string(j.Status()))
	}
	e.complete(now, j, note)
	return nil
}

func (e *Engine) complete(now time.Time, j *jobState, note string) {
	j.assignment(j.asg().current).CompletedAt = now
	j.st = stCompleted
	j.addNote(now, note)
	e.emit(now, e.assignmentEvent(EvJobCompleted, j, j.asg().current))
}

// CloseJob closes a completed job: its capacity is released and JobClosed is
// announced now, or at closeAt when that is later. **(ours)** An assigned job is
// completed and closed in one call (JobCompleted, then JobClosed).
// Errors: CodeNotFound (job, assignment), CodeConflict (wrong status, not the
// current assignment, or a close already scheduled).
func (e *Engine) CloseJob(now time.Time, jobID, aid, code, note string, closeAt time.Time) error {
	now = e.at(now)
	j, ok := e.jobs.get(jobID)
	if !ok {
		return notFound("job", jobID)
	}
	if err := j.heldAssignment(aid); err != nil {
		return err
	}
	switch {
	case j.asg().closing != nil:
		return conflict("job", jobID, "a close is already scheduled")
	case j.st != stAssigned && j.st != stCompleted:
		return conflict("job", jobID, "only an assigned or completed job can be closed; it is "+string(j.Status()))
	}
	if j.st == stAssigned {
		e.complete(now, j, "")
	}
	j.addNote(now, note)
	if closeAt.After(now) {
		j.asgW().closing = &pendingClose{code: code}
		e.deadlines.Set(closeKey(jobID), closeAt)
		return nil
	}
	e.closeNow(now, j, code)
	e.match(now)
	return nil
}

func (e *Engine) closeNow(t time.Time, j *jobState, code string) {
	e.deadlines.Cancel(closeKey(j.ID))
	j.asgW().closing = nil
	a := j.assignment(j.asg().current)
	a.ClosedAt = t
	e.release(t, a.WorkerID, j.ID, a.ID)
	j.st = stClosed
	j.asgW().DispositionCode = code
	e.finish(j)
	e.emit(t, e.withCode(e.assignmentEvent(EvJobClosed, j, j.asg().current), code))
}

func (e *Engine) withCode(ev Event, code string) Event {
	ev.DispositionCode = code
	return ev
}

// finish forgets a terminal job's pending deadlines.
func (e *Engine) finish(j *jobState) {
	e.activeIDs.remove(j)
	e.jobs.retire(j) // into doneIDs
	if j.x != nil {
		j.x.deferredActions = nil
	}
	e.unqueue(j)
	e.deadlines.Cancel(selectorKey(j.ID))
	e.stopMaxAge(j)
	e.cancelWaitTimes(j)
	e.deadlines.Cancel(scheduleKey(j.ID))
	e.deadlines.Cancel(closeKey(j.ID))
	if j.x != nil {
		for _, wid := range sortedKeys(j.x.declines) {
			e.deadlines.Cancel(retryKey(j.ID, wid))
		}
		j.x.declines = nil
	}
	if j.sel == nil || j.sel.shared == nil {
		// Its requirements go (its view keeps the requested selectors); a shared
		// record stays as it is, until the job is deleted (selset.go).
		j.setSelectors(j.requested(), nil)
	}
}

// CancelJob cancels a job in any non-terminal status: its offers are revoked, an
// assignment's capacity is released, and JobCancelled is announced with the
// disposition code ("Cancelled" when empty).
// Errors: CodeNotFound, CodeConflict (already terminal).
func (e *Engine) CancelJob(now time.Time, jobID, code, note string) error {
	now = e.at(now)
	j, ok := e.jobs.get(jobID)
	if !ok {
		return notFound("job", jobID)
	}
	if j.st.terminal() {
		return conflict("job", jobID, "the job is already "+string(j.Status()))
	}
	if code == "" {
		code = "Cancelled"
	}
	e.cancel(now, j, code, note)
	e.match(now)
	return nil
}

func (e *Engine) cancel(now time.Time, j *jobState, code, note string) {
	e.revokeJobOffers(now, j, "job cancelled")
	held := j.asg().current != "" && (j.st == stAssigned || j.st == stCompleted)
	if held {
		a := j.assignment(j.asg().current)
		e.release(now, a.WorkerID, j.ID, a.ID)
	}
	if j.as != nil {
		j.as.closing = nil
	}
	j.st = stCancelled
	j.asgW().DispositionCode = code
	j.addNote(now, note)
	e.finish(j)
	ev := e.jobEvent(EvJobCancelled, j)
	if held {
		// The worker that held the job learns that its assignment ended.
		ev = e.assignmentEvent(EvJobCancelled, j, j.asg().current)
	}
	ev = e.withCode(ev, code)
	var x *EventExtra
	if note != "" {
		x = &EventExtra{Note: note}
	}
	e.emitWith(now, ev, x)
}

// UnassignJob takes an assigned job back from its worker: the capacity is released,
// JobUnassigned is announced, and the job is queued again (the same worker may get
// it) keeping its EnqueuedAt **(ours)**, or with suspend it waits for activation
// (JobWaitingForActivation) until UpdateJob sets QueueAndMatch. A job can be
// unassigned at most MaxUnassignments times. It returns the new unassignment count.
// Errors: CodeNotFound (job, assignment), CodeConflict (not assigned, not the
// current assignment, or the limit reached).
func (e *Engine) UnassignJob(now time.Time, jobID, aid string, suspend bool) (int, error) {
	now = e.at(now)
	j, ok := e.jobs.get(jobID)
	if !ok {
		return 0, notFound("job", jobID)
	}
	if err := j.heldAssignment(aid); err != nil {
		return 0, err
	}
	if j.st != stAssigned {
		return 0, conflict("job", jobID, "only an assigned job can be unassigned; it is "+string(j.Status()))
	}
	if j.cold().UnassignmentCount >= MaxUnassignments {
		return 0, conflict("job", jobID, "the job was already unassigned "+itoa(MaxUnassignments)+" times")
	}
	a := j.assignment(aid)
	e.release(now, a.WorkerID, j.ID, aid)
	j.ext().UnassignmentCount++
	j.asgW().current = ""
	ev := e.assignmentEvent(EvJobUnassigned, j, aid)
	e.emitWith(now, ev, &EventExtra{UnassignmentCount: j.cold().UnassignmentCount})
	if suspend {
		j.ext().MatchingMode = MatchingMode{Kind: Suspend}
		e.suspend(now, j)
	} else {
		e.enqueue(now, j, j.EnqueuedAt())
	}
	e.match(now)
	return j.cold().UnassignmentCount, nil
}
