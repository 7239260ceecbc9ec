package engine

import (
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter/internal/deadline"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// TriggerKind is an exception trigger's kind.
type TriggerKind uint8

// Trigger kinds.
const (
	TriggerQueueLength TriggerKind = iota + 1 // the queue holds more than Threshold jobs
	TriggerWaitTime                           // the job waited Wait in its queue
)

// Trigger says when an exception rule fires.
type Trigger struct {
	Kind      TriggerKind
	Threshold int           // queue length
	Wait      time.Duration // wait time
}

// ActionKind is an exception action's kind.
type ActionKind uint8

// Action kinds.
const (
	ActionCancel ActionKind = iota + 1
	ActionManualReclassify
	ActionReclassify
)

// Action is one exception action.
type Action struct {
	Kind                   ActionKind
	ID                     string
	Note, DispositionCode  string     // cancel
	QueueID                string     // manual reclassify ("" keeps the queue)
	Priority               *int       // manual reclassify (nil keeps the priority)
	WorkerSelectors        []Selector // manual reclassify: replace the attached selectors (nil keeps them)
	ClassificationPolicyID string     // reclassify ("" keeps the job's policy)
	LabelsToUpsert         Labels     // reclassify
}

// ExceptionRule is one rule of an exception policy.
type ExceptionRule struct {
	ID      string
	Trigger Trigger
	Actions []Action
}

// ExceptionPolicy is a stored exception policy.
type ExceptionPolicy struct {
	ID    string
	Name  string
	Rules []ExceptionRule
}

// maxExceptionDepth bounds how many times exceptions may re-queue one job within one
// step **(ours)**: rules that send a job back and forth between two queues would
// otherwise never stop. Past it, exceptions are not evaluated for that enqueue.
const maxExceptionDepth = 16

func waitKey(jobID, ruleID string) deadline.Key {
	return deadline.Key{Kind: dlWaitTime, ID: jobID + "\x00" + ruleID}
}

// UpsertExceptionPolicy creates or replaces an exception policy. Jobs already waiting
// keep the wait-time deadlines set when they were queued; a rule that no longer
// exists when its deadline falls does nothing.
// Errors: CodeInvalid, CodeNotFound (a queue or classification policy an action names).
func (e *Engine) UpsertExceptionPolicy(now time.Time, p ExceptionPolicy) (ExceptionPolicy, error) {
	e.at(now)
	const ent = "exception policy"
	if err := e.validID(ent, p.ID); err != nil {
		return ExceptionPolicy{}, err
	}
	seen := map[string]bool{}
	for _, r := range p.Rules {
		if r.ID == "" || seen[r.ID] {
			return ExceptionPolicy{}, invalid(ent, p.ID, "every rule needs a unique, non-empty ID")
		}
		if strings.Contains(r.ID, "\x00") {
			return ExceptionPolicy{}, invalid(ent, p.ID, "a rule ID must not contain NUL")
		}
		seen[r.ID] = true
		switch r.Trigger.Kind {
		case TriggerQueueLength:
			if r.Trigger.Threshold < 0 {
				return ExceptionPolicy{}, invalid(ent, p.ID, "rule "+quote(r.ID)+": a queue-length threshold must not be negative")
			}
		case TriggerWaitTime:
			if r.Trigger.Wait <= 0 {
				return ExceptionPolicy{}, invalid(ent, p.ID, "rule "+quote(r.ID)+": a wait-time threshold must be positive")
			}
		default:
			return ExceptionPolicy{}, invalid(ent, p.ID, "rule "+quote(r.ID)+": a trigger is required")
		}
		if len(r.Actions) == 0 {
			return ExceptionPolicy{}, invalid(ent, p.ID, "rule "+quote(r.ID)+": at least one action is required")
		}
		for _, a := range r.Actions {
			switch a.Kind {
			case ActionCancel:
			case ActionManualReclassify:
				if a.QueueID != "" {
					if _, ok := e.queues[a.QueueID]; !ok {
						return ExceptionPolicy{}, &Error{Code: CodeNotFound, Entity: ent, ID: p.ID, Reason: "queue " + quote(a.QueueID) + " not found"}
					}
				}
				if a.Priority != nil && (*a.Priority < -100 || *a.Priority > 100) {
					return ExceptionPolicy{}, invalid(ent, p.ID, "rule "+quote(r.ID)+": priority outside -100..100")
				}
				if err := checkSelectors(a.WorkerSelectors); err != nil {
					return ExceptionPolicy{}, invalid(ent, p.ID, err.Error())
				}
			case ActionReclassify:
				if a.ClassificationPolicyID != "" {
					if _, ok := e.classPolicies[a.ClassificationPolicyID]; !ok {
						return ExceptionPolicy{}, &Error{Code: CodeNotFound, Entity: ent, ID: p.ID, Reason: "classification policy " + quote(a.ClassificationPolicyID) + " not found"}
					}
				}
				if err := labels.ValidateMap(a.LabelsToUpsert); err != nil {
					return ExceptionPolicy{}, invalid(ent, p.ID, "LabelsToUpsert: "+err.Error())
				}
			default:
				return ExceptionPolicy{}, invalid(ent, p.ID, "rule "+quote(r.ID)+": unknown action")
			}
		}
	}
	cp := p
	cp.Rules = cloneRules(p.Rules)
	e.excPolicies[p.ID] = &cp
	return cp, nil
}

func cloneRules(rs []ExceptionRule) []ExceptionRule {
	out := make([]ExceptionRule, len(rs))
	for i, r := range rs {
		r.Actions = append([]Action(nil), r.Actions...)
		out[i] = r
	}
	return out
}

// GetExceptionPolicy returns a policy. Errors: CodeNotFound.
func (e *Engine) GetExceptionPolicy(id string) (ExceptionPolicy, error) {
	p, ok := e.excPolicies[id]
	if !ok {
		return ExceptionPolicy{}, notFound("exception policy", id)
	}
	cp := *p
	cp.Rules = cloneRules(p.Rules)
	return cp, nil
}

// ListExceptionPolicies returns policies sorted by ID. O(n log n).
func (e *Engine) ListExceptionPolicies(pg Page) []ExceptionPolicy {
	return listPage(e.excPolicies, pg, func(p *ExceptionPolicy) ExceptionPolicy {
		cp := *p
		cp.Rules = cloneRules(p.Rules)
		return cp
	})
}

// DeleteExceptionPolicy deletes a policy no queue uses.
// Errors: CodeNotFound, CodeConflict.
func (e *Engine) DeleteExceptionPolicy(now time.Time, id string) error {
	e.at(now)
	if _, ok := e.excPolicies[id]; !ok {
		return notFound("exception policy", id)
	}
	if qid := e.queueWhere(func(q *queueState) bool { return q.ExceptionPolicyID == id }); qid != "" {
		return conflict("exception policy", id, "used by queue "+quote(qid))
	}
	delete(e.excPolicies, id)
	return nil
}

// exceptionsOnEnqueue evaluates the queue's exception policy for a job just queued:
// its wait for exception purposes starts now, queue-length rules are checked at
// once (the queue holds more than Threshold jobs, counting this one) and wait-time
// rules get a deadline (in the one deadline heap, not a timer per job).
//
// A rule fires at most once per job per enqueue. **(ours)** A re-queue caused by an
// exception action continues the same enqueue for this purpose: the rules that
// fired are remembered until the job is next queued by anything else (creation,
// update, unassignment, reclassification by the caller). So "after 5 minutes, bump
// the priority" fires once, and two policies that send a job back and forth stop
// after one round.
func (e *Engine) exceptionsOnEnqueue(now time.Time, j *jobState) {
	e.cancelWaitTimes(j)
	if e.excDepth == 0 && j.x != nil && !j.x.byException {
		j.x.fired = nil
	}
	q := j.inQueue // put in line by enqueue just before
	if q == nil || q.ExceptionPolicyID == "" || e.excDepth >= maxExceptionDepth {
		return
	}
	p := e.excPolicies[q.ExceptionPolicyID]
	if p == nil {
		return
	}
	for _, r := range p.Rules {
		if r.Trigger.Kind == TriggerWaitTime && !j.cold().fired[firedKey(p.ID, r.ID)] {
			j.ext().waits = append(j.cold().waits, r.ID)
			e.deadlines.Set(waitKey(j.ID, r.ID), now.Add(r.Trigger.Wait))
		}
	}
	for _, r := range p.Rules {
		if r.Trigger.Kind == TriggerQueueLength && q.order.len() > r.Trigger.Threshold {
			if !e.fireRule(now, j, p.ID, r) {
				return // the job left the queue, or was queued again
			}
		}
	}
}

func firedKey(policyID, ruleID string) string { return policyID + "\x00" + ruleID }

// waitTimeReached fires a wait-time rule for a job still waiting in the queue it was
// set for.
func (e *Engine) waitTimeReached(t time.Time, id string) {
	jobID, ruleID, _ := strings.Cut(id, "\x00")
	j, _ := e.jobs.get(jobID)
	if j == nil || j.st != stQueued {
		return
	}
	j.ext().waits = removeString(j.cold().waits, ruleID)
	q := e.queues[j.QueueID()]
	if q == nil || q.ExceptionPolicyID == "" {
		return
	}
	p := e.excPolicies[q.ExceptionPolicyID]
	if p == nil {
		return
	}
	for _, r := range p.Rules {
		if r.ID == ruleID && r.Trigger.Kind == TriggerWaitTime {
			e.fireRule(t, j, p.ID, r)
			return
		}
	}
}

// cancelWaitTimes forgets a job's pending wait-time deadlines.
func (e *Engine) cancelWaitTimes(j *jobState) {
	if j.x == nil {
		return
	}
	for _, r := range j.x.waits {
		e.deadlines.Cancel(waitKey(j.ID, r))
	}
	j.x.waits = nil
}

// fireRule runs one exception rule for a queued job: JobExceptionTriggered, then its
// actions in order. It reports whether the job is still queued where it was (so
// that the caller may go on evaluating rules for this enqueue).
func (e *Engine) fireRule(now time.Time, j *jobState, policyID string, r ExceptionRule) bool {
	k := firedKey(policyID, r.ID)
	if j.cold().fired[k] {
		return true
	}
	if j.cold().fired == nil {
		j.ext().fired = map[string]bool{}
	}
	j.ext().fired[k] = true
	ev := e.jobEvent(EvJobExceptionTriggered, j)
	e.emitWith(now, ev, &EventExtra{RuleID: r.ID})
	epoch := j.x.enqueues // ext() above made j.x, so each enqueue from here on counts
	e.runActions(now, j, r.ID, r.Actions)
	return j.st == stQueued && j.x.enqueues == epoch
}

// runActions runs exception actions in order. **(ours)** When a reclassify action
// leaves the job waiting for a webhook, the actions after it are deferred and run
// once the classification is applied, so that they act on the reclassified job.
func (e *Engine) runActions(now time.Time, j *jobState, ruleID string, actions []Action) {
	e.excDepth++
	defer func() { e.excDepth-- }()
	for i, a := range actions {
		// A job that a previous action cancelled, or whose reclassification failed,
		// is left where that action put it: the rule's remaining actions do not run
		// (as when the classification waited for a webhook that then failed).
		if j.st.terminal() || j.st == stClassificationFailed {
			break
		}
		if j.st == stPendingClassification {
			j.ext().deferredActions = &deferred{ruleID: ruleID, actions: actions[i:]}
			break
		}
		switch a.Kind {
		case ActionCancel:
			code := a.DispositionCode
			if code == "" {
				code = "Cancelled"
			}
			e.cancel(now, j, code, a.Note)
		case ActionManualReclassify:
			e.revokeJobOffers(now, j, "exception rule "+ruleID)
			e.unqueue(j)
			if a.QueueID != "" {
				if _, ok := e.queues[a.QueueID]; ok {
					j.queue = e.names.intern(a.QueueID)
					j.ext().queueByPolicy = false // chosen here, as if by the caller
				}
			}
			if a.Priority != nil {
				j.Priority = int8(*a.Priority) // -100..100 (validated with the policy)
			}
			if a.WorkerSelectors != nil {
				old := j.cold().AttachedWorkerSelectors
				j.ext().AttachedWorkerSelectors = append([]Selector(nil), a.WorkerSelectors...)
				startSelectorClocks(now, j.cold().AttachedWorkerSelectors, old)
			}
			j.refreshReqs()
			e.armSelectorExpiry(j)
			e.enqueue(now, j, j.EnqueuedAt())
		case ActionReclassify:
			if len(a.LabelsToUpsert) > 0 {
				l := make(Labels, len(j.Labels)+len(a.LabelsToUpsert))
				for k, v := range j.Labels {
					l[k] = v
				}
				for k, v := range a.LabelsToUpsert {
					l[k] = v
				}
				j.Labels = l
			}
			if a.ClassificationPolicyID != "" {
				j.ext().ClassificationPolicyID = a.ClassificationPolicyID
			}
			if j.cold().ClassificationPolicyID != "" {
				// **(ours)** A reclassify action routes the job again: the policy's
				// queue selectors (then its fallback) choose the queue even when the
				// caller had named one.
				j.ext().queueByPolicy = true
				e.reclassify(now, j, true)
			}
		}
	}
	e.gainJob(j)
}

func removeString(s []string, x string) []string {
	for i, y := range s {
		if y == x {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}
