package naive

import (
	"maps"
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// job is a stored job and its routing state.
type job struct {
	engine.Job
	seq       uint64              // creation order
	current   string              // the assignment holding capacity, if any
	closing   bool                // a CloseAt is pending
	closeCode string              // the disposition code it will close with
	declines  map[string]*decline // by worker ID

	closeAt        deadline
	scheduleAt     deadline
	selectorExpiry deadline // the earliest ExpiresAt among active selectors
	maxAge         deadline
}

func (j *job) view() engine.Job {
	v := j.Job
	v.RequestedWorkerSelectors = slices.Clone(j.RequestedWorkerSelectors)
	v.AttachedWorkerSelectors = slices.Clone(j.AttachedWorkerSelectors)
	v.Notes = slices.Clone(j.Notes)
	v.Assignments = maps.Clone(j.Assignments)
	return v
}

// activeSelectors returns the selectors that constrain matching: requested, then
// attached, without the expired ones.
func (j *job) activeSelectors() []engine.Selector {
	var out []engine.Selector
	for _, s := range slices.Concat(j.RequestedWorkerSelectors, j.AttachedWorkerSelectors) {
		if !s.Expired {
			out = append(out, s)
		}
	}
	return out
}

func (j *job) expedite() bool {
	return slices.ContainsFunc(j.activeSelectors(), func(s engine.Selector) bool { return s.Expedite })
}

func (r *Router) jobEvent(typ engine.EventType, j *job) engine.Event {
	return engine.Event{Type: typ, JobID: j.ID, QueueID: j.QueueID, ChannelID: j.ChannelID,
		ChannelReference: j.ChannelReference, ClassificationPolicyID: j.ClassificationPolicyID,
		JobPriority: j.Priority, JobStatus: j.Status, JobLabels: j.Labels, JobTags: j.Tags}
}

// waitingEvent is JobWaitingForActivation, with the time j was scheduled for if it
// was.
func (r *Router) waitingEvent(j *job) engine.Event {
	ev := r.jobEvent(engine.EvJobWaitingForActivation, j)
	if !j.ScheduledAt.IsZero() {
		ev.Extra = &engine.EventExtra{ScheduledAt: j.ScheduledAt}
	}
	return ev
}

// assignmentEvent is a job event naming one of the job's assignments.
func (r *Router) assignmentEvent(typ engine.EventType, j *job, aid string) engine.Event {
	ev := r.jobEvent(typ, j)
	ev.AssignmentID = aid
	ev.WorkerID = j.Assignments[aid].WorkerID
	return ev
}

// validateJob checks and normalises a job's writable fields. There are no
// classification policies here, so any ClassificationPolicyID is not found.
func (r *Router) validateJob(j *engine.Job) error {
	const ent = "job"
	if err := r.validID(ent, j.ID); err != nil {
		return err
	}
	if j.ChannelID == "" {
		return invalid(ent, j.ID, "a ChannelID is required")
	}
	if j.Priority == 0 {
		j.Priority = engine.DefaultPriority
	}
	if j.Priority < -100 || j.Priority > 100 {
		return invalid(ent, j.ID, "Priority outside -100..100")
	}
	if j.ClassificationPolicyID != "" {
		return &engine.Error{Code: engine.CodeNotFound, Entity: ent, ID: j.ID, Reason: "classification policy not found"}
	}
	if j.QueueID == "" {
		return invalid(ent, j.ID, "a QueueID is required")
	}
	if _, ok := r.queues[j.QueueID]; !ok {
		return &engine.Error{Code: engine.CodeNotFound, Entity: ent, ID: j.ID, Reason: "queue not found"}
	}
	j.RequestedWorkerSelectors = slices.Clone(j.RequestedWorkerSelectors)
	for i := range j.RequestedWorkerSelectors {
		s := &j.RequestedWorkerSelectors[i]
		if s.Key == "" || !s.Op.Valid() || s.ExpiresAfter < 0 || labels.Validate(s.Value) != nil ||
			s.Op.Ordering() && !labels.IsNumber(s.Value) {
			return invalid(ent, j.ID, "bad worker selector "+s.Key)
		}
		s.Expired, s.ExpiresAt = false, time.Time{}
	}
	if err := labels.ValidateMap(j.Labels); err != nil {
		return invalid(ent, j.ID, "labels: "+err.Error())
	}
	if err := labels.ValidateMap(j.Tags); err != nil {
		return invalid(ent, j.ID, "tags: "+err.Error())
	}
	switch j.MatchingMode.Kind {
	case engine.QueueAndMatch, engine.Suspend:
		j.MatchingMode.ScheduleAt = time.Time{}
	case engine.ScheduleAndSuspend:
		if j.MatchingMode.ScheduleAt.IsZero() {
			return invalid(ent, j.ID, "ScheduleAndSuspend needs a ScheduleAt")
		}
	default:
		return invalid(ent, j.ID, "unknown matching mode")
	}
	j.Labels = labels.Clone(j.Labels)
	j.Tags = labels.Clone(j.Tags)
	j.Notes = slices.Clone(j.Notes)
	return nil
}

// CreateJob creates a job and routes it at once: JobReceived, then by its matching
// mode queued (JobQueued) and matched, waiting for activation, or scheduled. An
// empty ID gets one from Config.NewID (only once the job is valid).
func (r *Router) CreateJob(now time.Time, in engine.Job) (engine.Job, error) {
	now = r.at(now)
	generated := in.ID == ""
	if generated {
		in.ID = "(new job)"
	}
	if err := r.validateJob(&in); err != nil {
		return engine.Job{}, err
	}
	if generated {
		in.ID = r.newID(func(s string) bool { _, ok := r.jobs[s]; return ok })
		if err := r.validID("job", in.ID); err != nil {
			return engine.Job{}, err
		}
	} else if _, ok := r.jobs[in.ID]; ok {
		return engine.Job{}, conflict("job", in.ID, "a job with this ID exists")
	}
	r.jobSeq++
	j := &job{seq: r.jobSeq, Job: engine.Job{
		ID: in.ID, ChannelID: in.ChannelID, ChannelReference: in.ChannelReference, QueueID: in.QueueID,
		Priority: in.Priority, RequestedWorkerSelectors: in.RequestedWorkerSelectors, Labels: in.Labels,
		Tags: in.Tags, Notes: in.Notes, MatchingMode: in.MatchingMode, Status: engine.JobCreated, CreatedAt: now,
	}}
	r.jobs[j.ID] = j
	r.open[j.ID] = j
	startSelectorClocks(now, j.RequestedWorkerSelectors, nil)
	r.armSelectorExpiry(j)
	if age := r.maxJobAge(); age >= 0 {
		r.setDeadline(&j.maxAge, now.Add(age))
	}
	r.emit(now, r.jobEvent(engine.EvJobReceived, j))
	switch j.MatchingMode.Kind {
	case engine.QueueAndMatch:
		r.enqueue(now, j, now)
	case engine.Suspend:
		r.suspend(now, j)
	case engine.ScheduleAndSuspend:
		r.schedule(now, j)
	}
	r.match(now)
	return j.view(), nil
}

func (r *Router) maxJobAge() time.Duration {
	if r.cfg.MaxJobAge == 0 {
		return engine.DefaultMaxJobAge
	}
	return r.cfg.MaxJobAge
}

func (r *Router) enqueue(now time.Time, j *job, enqueuedAt time.Time) {
	j.Status = engine.JobQueued
	j.EnqueuedAt = enqueuedAt
	r.emit(now, r.jobEvent(engine.EvJobQueued, j))
}

func (r *Router) suspend(now time.Time, j *job) {
	j.Status = engine.JobWaitingForActivation
	r.emit(now, r.waitingEvent(j))
}

// schedule makes j wait for its ScheduleAt, or activates it at once when that has
// come.
func (r *Router) schedule(now time.Time, j *job) {
	j.ScheduledAt = j.MatchingMode.ScheduleAt
	j.Status = engine.JobScheduled
	if !j.ScheduledAt.After(now) {
		r.activateSchedule(now, j)
		return
	}
	r.setDeadline(&j.scheduleAt, j.ScheduledAt)
}

func (r *Router) activateSchedule(t time.Time, j *job) {
	if j.Status != engine.JobScheduled {
		return
	}
	j.scheduleAt.set = false
	j.Status = engine.JobWaitingForActivation
	r.emit(t, r.waitingEvent(j))
}

// UpdateJob replaces a job's writable fields. On a queued job a change of queue,
// channel, priority, labels or selectors revokes its offers and matches it again (a
// move to another queue is announced by JobQueued, keeping EnqueuedAt). A change of
// matching mode moves the job between queued, waiting for activation and scheduled.
// An assigned or completed job may change only labels, tags, notes, priority and
// channel reference.
func (r *Router) UpdateJob(now time.Time, in engine.Job) (engine.Job, error) {
	now = r.at(now)
	j, ok := r.jobs[in.ID]
	if !ok {
		return engine.Job{}, notFound("job", in.ID)
	}
	if err := r.validateJob(&in); err != nil {
		return engine.Job{}, err
	}
	if j.Status.Terminal() {
		return engine.Job{}, conflict("job", j.ID, "the job is "+string(j.Status))
	}
	sameSelectors := slices.EqualFunc(in.RequestedWorkerSelectors, j.RequestedWorkerSelectors, sameSelector)
	routing := in.QueueID != j.QueueID || in.ChannelID != j.ChannelID || in.Priority != j.Priority ||
		!sameLabels(in.Labels, j.Labels) || !sameSelectors
	modeChanged := in.MatchingMode.Kind != j.MatchingMode.Kind || !in.MatchingMode.ScheduleAt.Equal(j.MatchingMode.ScheduleAt)
	held := j.Status == engine.JobAssigned || j.Status == engine.JobCompleted
	if held && (in.QueueID != j.QueueID || in.ChannelID != j.ChannelID || !sameSelectors || modeChanged) {
		return engine.Job{}, conflict("job", j.ID, "an "+string(j.Status)+" job may change only labels, tags, notes, priority and channel reference")
	}
	if routing && j.Status == engine.JobQueued {
		r.revokeJobOffers(now, j, "job updated")
	}
	movedQueue := in.QueueID != j.QueueID
	j.QueueID, j.ChannelID, j.ChannelReference, j.Priority = in.QueueID, in.ChannelID, in.ChannelReference, in.Priority
	j.Labels, j.Tags, j.Notes = in.Labels, in.Tags, in.Notes
	startSelectorClocks(now, in.RequestedWorkerSelectors, j.RequestedWorkerSelectors)
	j.RequestedWorkerSelectors = in.RequestedWorkerSelectors
	r.armSelectorExpiry(j)
	j.MatchingMode = in.MatchingMode
	switch {
	case modeChanged:
		j.scheduleAt.set = false
		switch j.MatchingMode.Kind {
		case engine.QueueAndMatch:
			if j.Status != engine.JobQueued {
				enq := j.EnqueuedAt
				if enq.IsZero() {
					enq = now
				}
				r.enqueue(now, j, enq)
			}
		case engine.Suspend:
			if j.Status != engine.JobWaitingForActivation {
				r.revokeJobOffers(now, j, "job suspended")
				r.suspend(now, j)
			}
		case engine.ScheduleAndSuspend:
			r.revokeJobOffers(now, j, "job scheduled")
			r.schedule(now, j)
		}
	case movedQueue && j.Status == engine.JobQueued:
		r.enqueue(now, j, j.EnqueuedAt)
	}
	r.match(now)
	return j.view(), nil
}

// sameSelector reports whether two selectors are the same requirement (their
// read-only status aside).
func sameSelector(a, b engine.Selector) bool {
	return a.Key == b.Key && a.Op == b.Op && labels.Same(a.Value, b.Value) && sameKind(a.Value, b.Value) &&
		a.ExpiresAfter == b.ExpiresAfter && a.Expedite == b.Expedite
}

// GetJob returns a job.
func (r *Router) GetJob(id string) (engine.Job, error) {
	j, ok := r.jobs[id]
	if !ok {
		return engine.Job{}, notFound("job", id)
	}
	return j.view(), nil
}

// ListJobs returns the jobs that pass f, sorted by ID.
func (r *Router) ListJobs(f engine.JobFilter) []engine.Job {
	var out []engine.Job
	for _, id := range sortedKeys(r.jobs) {
		j := r.jobs[id]
		switch {
		case f.After != "" && id <= f.After,
			f.Status != "" && j.Status != f.Status,
			f.Active && j.Status.Terminal(),
			f.QueueID != "" && j.QueueID != f.QueueID,
			f.ChannelID != "" && j.ChannelID != f.ChannelID,
			f.ClassificationPolicyID != "" && j.ClassificationPolicyID != f.ClassificationPolicyID,
			!f.ScheduledBefore.IsZero() && (j.ScheduledAt.IsZero() || !j.ScheduledAt.Before(f.ScheduledBefore)),
			!f.ScheduledAfter.IsZero() && (j.ScheduledAt.IsZero() || !j.ScheduledAt.After(f.ScheduledAfter)):
			continue
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		out = append(out, j.view())
	}
	return out
}

// DeleteJob deletes a closed or cancelled job: JobDeleted.
func (r *Router) DeleteJob(now time.Time, id string) error {
	now = r.at(now)
	j, ok := r.jobs[id]
	if !ok {
		return notFound("job", id)
	}
	if !j.Status.Terminal() {
		return conflict("job", id, "the job is "+string(j.Status))
	}
	delete(r.jobs, id)
	r.emit(now, engine.Event{Type: engine.EvJobDeleted, JobID: id, QueueID: j.QueueID, ChannelID: j.ChannelID, ChannelReference: j.ChannelReference})
	return nil
}

// heldAssignment checks that aid is j's current assignment.
func (j *job) heldAssignment(aid string) error {
	if _, ok := j.Assignments[aid]; !ok {
		return notFound("assignment", aid)
	}
	if aid != j.current {
		return conflict("assignment", aid, "not the job's current assignment")
	}
	return nil
}

func (j *job) addNote(now time.Time, note string) {
	if note != "" {
		j.Notes = append(slices.Clip(j.Notes), engine.Note{Message: note, AddedAt: now})
	}
}

// CompleteJob moves an assigned job to completed: JobCompleted. The capacity stays
// held until the job is closed.
func (r *Router) CompleteJob(now time.Time, jobID, aid, note string) error {
	now = r.at(now)
	j, ok := r.jobs[jobID]
	if !ok {
		return notFound("job", jobID)
	}
	if err := j.heldAssignment(aid); err != nil {
		return err
	}
	if j.Status != engine.JobAssigned {
		return conflict("job", jobID, "the job is "+string(j.Status))
	}
	r.complete(now, j, note)
	return nil
}

func (r *Router) complete(now time.Time, j *job, note string) {
	a := j.Assignments[j.current]
	a.CompletedAt = now
	j.Assignments[j.current] = a
	j.Status = engine.JobCompleted
	j.addNote(now, note)
	r.emit(now, r.assignmentEvent(engine.EvJobCompleted, j, j.current))
}

// CloseJob closes a completed job (an assigned one is completed first: JobCompleted,
// then JobClosed): its capacity is released and JobClosed announced now, or at
// closeAt when that is later.
func (r *Router) CloseJob(now time.Time, jobID, aid, code, note string, closeAt time.Time) error {
	now = r.at(now)
	j, ok := r.jobs[jobID]
	if !ok {
		return notFound("job", jobID)
	}
	if err := j.heldAssignment(aid); err != nil {
		return err
	}
	if j.closing {
		return conflict("job", jobID, "a close is already scheduled")
	}
	if j.Status != engine.JobAssigned && j.Status != engine.JobCompleted {
		return conflict("job", jobID, "the job is "+string(j.Status))
	}
	if j.Status == engine.JobAssigned {
		r.complete(now, j, "")
	}
	j.addNote(now, note)
	if closeAt.After(now) {
		j.closing, j.closeCode = true, code
		r.setDeadline(&j.closeAt, closeAt)
		return nil
	}
	r.closeNow(now, j, code)
	r.match(now)
	return nil
}

func (r *Router) closeNow(t time.Time, j *job, code string) {
	j.closing = false
	a := j.Assignments[j.current]
	a.ClosedAt = t
	j.Assignments[j.current] = a
	r.release(t, a.WorkerID, j.ID, a.ID)
	j.Status = engine.JobClosed
	j.DispositionCode = code
	r.finish(j)
	ev := r.assignmentEvent(engine.EvJobClosed, j, j.current)
	ev.DispositionCode = code
	r.emit(t, ev)
}

// finish forgets a terminal job's pending deadlines and decline memory, and takes it
// out of the open jobs.
func (r *Router) finish(j *job) {
	j.closeAt.set, j.scheduleAt.set, j.selectorExpiry.set, j.maxAge.set = false, false, false, false
	j.declines = nil
	delete(r.open, j.ID)
}

// CancelJob cancels a job that is not terminal: its offers are revoked, a held
// assignment's capacity is released, and JobCancelled is announced with the
// disposition code ("Cancelled" when empty).
func (r *Router) CancelJob(now time.Time, jobID, code, note string) error {
	now = r.at(now)
	j, ok := r.jobs[jobID]
	if !ok {
		return notFound("job", jobID)
	}
	if j.Status.Terminal() {
		return conflict("job", jobID, "the job is "+string(j.Status))
	}
	if code == "" {
		code = "Cancelled"
	}
	r.cancel(now, j, code, note)
	r.match(now)
	return nil
}

func (r *Router) cancel(now time.Time, j *job, code, note string) {
	r.revokeJobOffers(now, j, "job cancelled")
	held := j.current != "" && (j.Status == engine.JobAssigned || j.Status == engine.JobCompleted)
	if held {
		a := j.Assignments[j.current]
		r.release(now, a.WorkerID, j.ID, a.ID)
	}
	j.closing = false
	j.Status = engine.JobCancelled
	j.DispositionCode = code
	j.addNote(now, note)
	r.finish(j)
	ev := r.jobEvent(engine.EvJobCancelled, j)
	if held {
		ev = r.assignmentEvent(engine.EvJobCancelled, j, j.current)
	}
	ev.DispositionCode = code
	if note != "" {
		ev.Extra = &engine.EventExtra{Note: note}
	}
	r.emit(now, ev)
}

// UnassignJob takes an assigned job back from its worker: the capacity is released,
// JobUnassigned, and the job is queued again keeping its EnqueuedAt, or with suspend
// it waits for activation. At most engine.MaxUnassignments times per job.
func (r *Router) UnassignJob(now time.Time, jobID, aid string, suspend bool) (int, error) {
	now = r.at(now)
	j, ok := r.jobs[jobID]
	if !ok {
		return 0, notFound("job", jobID)
	}
	if err := j.heldAssignment(aid); err != nil {
		return 0, err
	}
	if j.Status != engine.JobAssigned {
		return 0, conflict("job", jobID, "the job is "+string(j.Status))
	}
	if j.UnassignmentCount >= engine.MaxUnassignments {
		return 0, conflict("job", jobID, "unassigned too often")
	}
	r.release(now, j.Assignments[aid].WorkerID, j.ID, aid)
	j.UnassignmentCount++
	j.current = ""
	ev := r.assignmentEvent(engine.EvJobUnassigned, j, aid)
	ev.Extra = &engine.EventExtra{UnassignmentCount: j.UnassignmentCount}
	r.emit(now, ev)
	if suspend {
		j.MatchingMode = engine.MatchingMode{Kind: engine.Suspend}
		r.suspend(now, j)
	} else {
		r.enqueue(now, j, j.EnqueuedAt)
	}
	r.match(now)
	return j.UnassignmentCount, nil
}
