package engine

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/labels"
)

// AttachmentKind is the kind of a queue or worker selector attachment.
type AttachmentKind uint8

// Attachment kinds.
const (
	AttachStatic      AttachmentKind = iota + 1 // Selectors, always
	AttachConditional                           // Selectors, when Condition is true
	AttachPassThrough                           // {Key, Op, the job's label Key}, when the job has it
	AttachRuleEngine                            // what Rule returns
	AttachWeighted                              // the Selectors of one of Allocations, drawn by weight
)

// Allocation is one weighted choice of a weighted-allocation attachment.
type Allocation struct {
	Weight    float64
	Selectors []Selector
}

// Attachment produces queue or worker selectors for a job being classified. Queue
// selectors use only Key, Op and Value.
type Attachment struct {
	Kind         AttachmentKind
	Selectors    []Selector      // static, conditional
	Condition    *Rule           // conditional
	Key          string          // pass-through
	Op           labels.Operator // pass-through
	ExpiresAfter time.Duration   // pass-through (worker selectors)
	Rule         *Rule           // rule engine
	Allocations  []Allocation    // weighted
}

// ClassificationPolicy is a stored classification policy.
type ClassificationPolicy struct {
	ID                        string
	Name                      string
	FallbackQueueID           string
	QueueSelectorAttachments  []Attachment
	PrioritizationRule        *Rule
	WorkerSelectorAttachments []Attachment
}

func (e *Engine) validateAttachments(id string, list []Attachment, queues bool) error {
	const ent = "classification policy"
	for i := range list {
		a := &list[i]
		sels := [][]Selector{a.Selectors}
		switch a.Kind {
		case AttachStatic:
			if len(a.Selectors) == 0 {
				return invalid(ent, id, "a static attachment needs a selector")
			}
		case AttachConditional:
			if a.Condition == nil {
				return invalid(ent, id, "a conditional attachment needs a condition")
			}
		case AttachPassThrough:
			if a.Key == "" || !a.Op.Valid() {
				return invalid(ent, id, "a pass-through attachment needs a key and a valid operator")
			}
			if a.ExpiresAfter < 0 {
				return invalid(ent, id, "a pass-through attachment's ExpiresAfter must not be negative")
			}
		case AttachRuleEngine:
			if a.Rule == nil {
				return invalid(ent, id, "a rule-engine attachment needs a rule")
			}
		case AttachWeighted:
			if len(a.Allocations) == 0 {
				return invalid(ent, id, "a weighted-allocation attachment needs allocations")
			}
			for _, al := range a.Allocations {
				if !(al.Weight > 0) || math.IsInf(al.Weight, 0) {
					return invalid(ent, id, "allocation weights must be positive")
				}
				sels = append(sels, al.Selectors)
			}
		default:
			return invalid(ent, id, "unknown attachment kind")
		}
		for _, s := range sels {
			if err := checkSelectors(s); err != nil {
				return invalid(ent, id, err.Error())
			}
			if queues {
				for _, x := range s {
					if x.ExpiresAfter != 0 || x.Expedite {
						return invalid(ent, id, "queue selectors have no ExpiresAfter or Expedite")
					}
				}
			}
		}
	}
	return nil
}

// UpsertClassificationPolicy creates or replaces a classification policy. Jobs
// already classified keep their classification until something classifies them
// again. Errors: CodeInvalid, CodeNotFound (FallbackQueueID).
func (e *Engine) UpsertClassificationPolicy(now time.Time, p ClassificationPolicy) (ClassificationPolicy, error) {
	e.at(now)
	const ent = "classification policy"
	if err := e.validID(ent, p.ID); err != nil {
		return ClassificationPolicy{}, err
	}
	if p.FallbackQueueID != "" {
		if _, ok := e.queues[p.FallbackQueueID]; !ok {
			return ClassificationPolicy{}, &Error{Code: CodeNotFound, Entity: ent, ID: p.ID, Reason: "fallback queue " + quote(p.FallbackQueueID) + " not found"}
		}
	}
	if err := e.validateAttachments(p.ID, p.QueueSelectorAttachments, true); err != nil {
		return ClassificationPolicy{}, err
	}
	if err := e.validateAttachments(p.ID, p.WorkerSelectorAttachments, false); err != nil {
		return ClassificationPolicy{}, err
	}
	cp := p
	cp.QueueSelectorAttachments = slices.Clone(p.QueueSelectorAttachments)
	cp.WorkerSelectorAttachments = slices.Clone(p.WorkerSelectorAttachments)
	e.classPolicies[p.ID] = &cp
	return cp, nil
}

// GetClassificationPolicy returns a policy. Errors: CodeNotFound.
func (e *Engine) GetClassificationPolicy(id string) (ClassificationPolicy, error) {
	p, ok := e.classPolicies[id]
	if !ok {
		return ClassificationPolicy{}, notFound("classification policy", id)
	}
	return *p, nil
}

// ListClassificationPolicies returns policies sorted by ID. O(n log n).
func (e *Engine) ListClassificationPolicies(pg Page) []ClassificationPolicy {
	return listPage(e.classPolicies, pg, func(p *ClassificationPolicy) ClassificationPolicy { return *p })
}

// DeleteClassificationPolicy deletes a policy that no active job uses (nor an
// exception policy's reclassify action). Errors: CodeNotFound, CodeConflict.
// O(active jobs): closed and cancelled ones are not visited.
func (e *Engine) DeleteClassificationPolicy(now time.Time, id string) error {
	e.at(now)
	if _, ok := e.classPolicies[id]; !ok {
		return notFound("classification policy", id)
	}
	if j := e.firstActiveJob(func(j *jobState) bool { return j.cold().ClassificationPolicyID == id }); j != nil {
		return conflict("classification policy", id, "used by active job "+quote(j.ID))
	}
	for _, pid := range sortedKeys(e.excPolicies) {
		for _, r := range e.excPolicies[pid].Rules {
			for _, a := range r.Actions {
				if a.Kind == ActionReclassify && a.ClassificationPolicyID == id {
					return conflict("classification policy", id, "used by exception policy "+quote(pid))
				}
			}
		}
	}
	delete(e.classPolicies, id)
	return nil
}

// classification is the outcome of classifying a job.
type classification struct {
	queueID  string
	byPolicy bool // the policy chose the queue
	priority int
	workers  []Selector
}

// classify runs a classification policy over a job's labels. It returns pending
// when an asynchronous rule has no answer yet (the rules it needs are in ev.missing),
// and a reason when classification failed.
//
// Queue: a job that names its QueueID keeps it **(ours)**; otherwise the selectors of
// every queue attachment, ANDed, choose the first matching queue by ID **(ours)**;
// with no selectors or no match, FallbackQueueID; else the job fails.
func (e *Engine) classify(p *ClassificationPolicy, j *jobState, ev *ruleEval) (c classification, pending bool, reason string) {
	c.priority = int(j.Priority)
	if p.PrioritizationRule != nil {
		v, ok, err := ev.eval(p.PrioritizationRule)
		if err != nil {
			return c, false, "prioritization rule: " + err.Error()
		}
		if ok {
			if c.priority, err = ruleInt(v); err != nil {
				return c, false, err.Error()
			}
		}
	}
	var qsels []Selector
	for _, a := range p.QueueSelectorAttachments {
		s, err := e.attach(a, j, ev)
		if err != nil {
			return c, false, "queue selector attachment: " + err.Error()
		}
		qsels = append(qsels, s...)
	}
	for _, a := range p.WorkerSelectorAttachments {
		s, err := e.attach(a, j, ev)
		if err != nil {
			return c, false, "worker selector attachment: " + err.Error()
		}
		c.workers = append(c.workers, s...)
	}
	if len(ev.missing) > 0 {
		return c, true, ""
	}
	switch {
	case j.QueueID() != "" && !j.cold().queueByPolicy:
		c.queueID = j.QueueID()
	case len(qsels) > 0:
		c.queueID = e.matchQueue(qsels)
		c.byPolicy = true
	}
	if c.queueID == "" {
		c.queueID = p.FallbackQueueID
		c.byPolicy = true
	}
	if c.queueID == "" {
		if len(qsels) == 0 {
			return c, false, "no queue selector and no fallback queue"
		}
		return c, false, "no queue matches the queue selectors and there is no fallback queue"
	}
	if _, ok := e.queues[c.queueID]; !ok {
		return c, false, "queue " + quote(c.queueID) + " not found"
	}
	return c, false, ""
}

// matchQueue returns the first queue, by ID, whose labels satisfy every selector.
// O(queues × selectors).
func (e *Engine) matchQueue(sels []Selector) string {
	for _, id := range sortedKeys(e.queues) {
		l := e.queues[id].Labels
		ok := true
		for _, s := range sels {
			v, present := l[s.Key]
			if !labels.Match(s.Op, v, present, s.Value) {
				ok = false
				break
			}
		}
		if ok {
			return id
		}
	}
	return ""
}

// attach evaluates one attachment for a job.
func (e *Engine) attach(a Attachment, j *jobState, ev *ruleEval) ([]Selector, error) {
	switch a.Kind {
	case AttachStatic:
		return slices.Clone(a.Selectors), nil
	case AttachConditional:
		v, ok, err := ev.eval(a.Condition)
		if err != nil || !ok {
			return nil, err
		}
		b, err := ruleBool(v)
		if err != nil || !b {
			return nil, err
		}
		return slices.Clone(a.Selectors), nil
	case AttachPassThrough:
		v, present := j.Labels[a.Key]
		if !present {
			return nil, nil // **(ours)** nothing to pass through
		}
		return []Selector{{Key: a.Key, Op: a.Op, Value: v, ExpiresAfter: a.ExpiresAfter}}, nil
	case AttachRuleEngine:
		v, ok, err := ev.eval(a.Rule)
		if err != nil || !ok {
			return nil, err
		}
		s, err := ruleSelectors(v)
		if err != nil {
			return nil, err
		}
		s = slices.Clone(s)
		return s, checkSelectors(s)
	case AttachWeighted:
		total := 0.0
		for _, al := range a.Allocations {
			total += al.Weight
		}
		x := e.rng.Float64() * total
		for _, al := range a.Allocations {
			if x < al.Weight {
				return slices.Clone(al.Selectors), nil
			}
			x -= al.Weight
		}
		return slices.Clone(a.Allocations[len(a.Allocations)-1].Selectors), nil
	}
	return nil, nil
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// startClassification classifies j with its policy: at once when every rule is
// synchronous, else the job waits in pendingClassification for the shell to answer
// a RuleRequest (ApplyRuleResults). prior is the status to come back to when the job
// was waiting for activation or scheduled (a reclassification does not activate
// it); for any other status the classified job is routed by its matching mode.
//
// A policy with asynchronous rules is not evaluated at all before their answers
// arrive (every one of them is requested at once), so that each classification
// evaluates its rules, and draws its weighted allocations, exactly once.
func (e *Engine) startClassification(now time.Time, j *jobState, prior JobStatus) {
	j.ext().classToken++
	j.ext().priorStatus = prior
	j.ext().pendingRules = nil
	p := e.classPolicies[j.cold().ClassificationPolicyID]
	if p == nil {
		e.finishClassification(now, j, classification{}, "classification policy "+quote(j.cold().ClassificationPolicyID)+" not found")
		return
	}
	if async := p.asyncRules(); len(async) > 0 {
		e.unqueue(j)
		e.await(j, async)
		return
	}
	c, _, reason := e.classify(p, j, &ruleEval{labels: j.Labels})
	e.finishClassification(now, j, c, reason)
}

// asyncRules lists the policy's asynchronous rules, in a fixed order.
func (p *ClassificationPolicy) asyncRules() []*Rule {
	var out []*Rule
	add := func(r *Rule) {
		if r != nil && r.Kind == RuleAsync {
			out = append(out, r)
		}
	}
	add(p.PrioritizationRule)
	for _, list := range [][]Attachment{p.QueueSelectorAttachments, p.WorkerSelectorAttachments} {
		for _, a := range list {
			add(a.Condition)
			add(a.Rule)
		}
	}
	return out
}

// await parks j in pendingClassification until its asynchronous rules are answered.
func (e *Engine) await(j *jobState, rules []*Rule) {
	j.st = stPendingClassification
	j.ext().pendingRules = rules
	e.requests = append(e.requests, RuleRequest{JobID: j.ID, Token: j.cold().classToken, Labels: j.Labels, Rules: rules})
}

// finishClassification applies a classification: JobClassified and the job routed,
// or JobClassificationFailed with the reason.
func (e *Engine) finishClassification(now time.Time, j *jobState, c classification, reason string) {
	j.ext().pendingRules = nil
	if reason != "" {
		e.unqueue(j)
		// A scheduled job that fails its reclassification is no longer scheduled:
		// its activation is moot (a later classification schedules it again).
		e.deadlines.Cancel(scheduleKey(j.ID))
		j.st = stClassificationFailed
		ev := e.jobEvent(EvJobClassificationFailed, j)
		e.emitWith(now, ev, &EventExtra{Reason: reason})
		return
	}
	j.queue, j.ext().queueByPolicy = e.names.intern(c.queueID), c.byPolicy
	j.Priority = int8(c.priority) // -100..100 (ruleInt)
	old := j.cold().AttachedWorkerSelectors
	j.ext().AttachedWorkerSelectors = c.workers
	startSelectorClocks(now, j.cold().AttachedWorkerSelectors, old)
	j.refreshReqs()
	e.armSelectorExpiry(j)
	e.emit(now, e.jobEvent(EvJobClassified, j))
	e.route(now, j, j.cold().priorStatus)
	j.ext().byException = false
	// **(ours)** Deferred exception actions act on a queued job only: a job that its matching
	// mode sent to waitingForActivation or to a schedule (the caller may have changed
	// the mode while the webhook was out) drops them, as a job that left its queue
	// leaves a rule's remaining actions. A job classifying again keeps them.
	if acts := j.cold().deferredActions; acts != nil && j.st != stPendingClassification {
		j.ext().deferredActions = nil
		if j.st == stQueued {
			e.runActions(now, j, acts.ruleID, acts.actions)
		}
	}
}

// reclassify classifies a job again (its labels or policy changed, ReclassifyJob, or
// a reclassify action): its offers are revoked and it leaves the queue while it is
// classified; queued again, it keeps its EnqueuedAt **(ours)**.
//
// byException says an exception action asked for it: the rules that fired for the
// job's current enqueue stay fired through the re-queue that follows, even when it
// waits for a webhook. Any other reclassification starts afresh and drops exception
// actions still deferred behind an earlier webhook.
func (e *Engine) reclassify(now time.Time, j *jobState, byException bool) {
	e.revokeJobOffers(now, j, "job reclassified")
	e.unqueue(j)
	e.cancelWaitTimes(j)
	j.ext().byException = byException
	if !byException {
		j.ext().deferredActions = nil
	}
	prior := j.Status()
	if prior == JobPendingClassification {
		prior = j.cold().priorStatus
	}
	e.startClassification(now, j, prior)
}

// ReclassifyJob classifies a job again with its classification policy. Only a job
// that is not assigned, completed or terminal can be reclassified.
// Errors: CodeNotFound, CodeConflict (no policy, or wrong status).
func (e *Engine) ReclassifyJob(now time.Time, jobID string) error {
	now = e.at(now)
	j, ok := e.jobs.get(jobID)
	if !ok {
		return notFound("job", jobID)
	}
	switch {
	case j.cold().ClassificationPolicyID == "":
		return conflict("job", j.ID, "the job has no classification policy")
	case !classifiableStatus(j.Status()):
		return conflict("job", j.ID, "a job that is "+string(j.Status())+" cannot be reclassified")
	}
	e.reclassify(now, j, false)
	e.match(now)
	return nil
}

// classifiableStatus reports whether a job in status s may be classified again: not
// while a worker holds it, and never once it is terminal.
func classifiableStatus(s JobStatus) bool {
	return !s.Terminal() && s != JobAssigned && s != JobCompleted
}

// TakeRuleRequests returns the asynchronous rule evaluations the engine is waiting
// for, and forgets them: the shell evaluates each outside its lock and answers with
// ApplyRuleResults.
func (e *Engine) TakeRuleRequests() []RuleRequest {
	r := e.requests
	e.requests = nil
	return r
}

// ApplyRuleResults answers a RuleRequest: results[i] is the value of Rules[i]. An
// answer for a job that is no longer waiting for it (cancelled, reclassified since:
// the token differs) is ignored. Errors: none; a stale answer is not an error.
func (e *Engine) ApplyRuleResults(now time.Time, jobID string, token uint64, results []RuleResult) {
	now = e.at(now)
	j, ok := e.jobs.get(jobID)
	if !ok || j.st != stPendingClassification || j.cold().classToken != token || len(results) != len(j.cold().pendingRules) {
		return
	}
	ev := &ruleEval{labels: j.Labels, answers: make(map[*Rule]RuleResult, len(results))}
	for i, r := range j.cold().pendingRules {
		ev.answers[r] = results[i]
	}
	p := e.classPolicies[j.cold().ClassificationPolicyID]
	if p == nil {
		e.finishClassification(now, j, classification{}, "classification policy "+quote(j.cold().ClassificationPolicyID)+" not found")
		e.match(now)
		return
	}
	c, pending, reason := e.classify(p, j, ev)
	if pending {
		// The policy changed while the answers were on their way: ask again.
		j.ext().classToken++
		e.await(j, ev.missing)
		return
	}
	e.finishClassification(now, j, c, reason)
	e.match(now)
}
