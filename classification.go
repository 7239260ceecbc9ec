package jobrouter

import (
	"context"
	"fmt"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
)

// ClassificationPolicy sets a job's queue, priority and worker selectors from its
// labels. A job names it in Job.ClassificationPolicyID; it is classified when it is
// created, when its labels or policy change (UpdateJob), by ReclassifyJob, and by an
// exception rule's ReclassifyAction. Classification announces JobClassified (then
// the job is routed by its matching mode: JobQueued, ...) or JobClassificationFailed.
//
// The queue: a job created with a QueueID keeps it **(ours)**: an explicit queue wins
// over the queue selectors. Otherwise the selectors produced by every queue selector
// attachment, ANDed, are matched against the queues' labels (each queue carries
// "Id" = its ID), and the first matching queue in ID order is chosen **(ours)**. With
// no selectors, or no matching queue, the job goes to FallbackQueueID; without one,
// classification fails.
//
// A policy whose rules include a WebhookRule classifies asynchronously: see CreateJob.
type ClassificationPolicy struct {
	// ID identifies the policy. Required.
	ID string
	// Name is a display name. Optional.
	Name string
	// FallbackQueueID is the queue for a job whose queue selectors choose none. It
	// must exist. Optional.
	FallbackQueueID string
	// QueueSelectorAttachments produce the queue selectors that choose the job's
	// queue. Optional.
	QueueSelectorAttachments []QueueSelectorAttachment
	// PrioritizationRule, when set, computes the job's priority (an integer in
	// -100..100) at every classification, whatever priority the job was given. A rule
	// that gives anything else fails the classification. Optional.
	PrioritizationRule RouterRule
	// WorkerSelectorAttachments produce the worker selectors attached to the job
	// (Job.AttachedWorkerSelectors); they constrain matching as requested selectors
	// do. Each classification replaces the attached selectors. Optional.
	WorkerSelectorAttachments []WorkerSelectorAttachment
}

// QueueSelectorAttachment produces queue selectors for a job being classified. It is
// one of StaticQueueSelectorAttachment, ConditionalQueueSelectorAttachment,
// PassThroughQueueSelectorAttachment, RuleEngineQueueSelectorAttachment and
// WeightedAllocationQueueSelectorAttachment, given as a value (not a pointer).
type QueueSelectorAttachment interface {
	isQueueSelectorAttachment()
}

// StaticQueueSelectorAttachment always attaches QueueSelector.
type StaticQueueSelectorAttachment struct {
	// QueueSelector is the selector attached. Required.
	QueueSelector QueueSelector
}

// ConditionalQueueSelectorAttachment attaches QueueSelectors when Condition gives
// true.
type ConditionalQueueSelectorAttachment struct {
	// Condition is a rule over the job's labels that must give a bool (a
	// StaticRule, ExpressionRule, FuncRule or WebhookRule). Required.
	Condition RouterRule
	// QueueSelectors are attached when Condition is true.
	QueueSelectors []QueueSelector
}

// PassThroughQueueSelectorAttachment attaches the selector {Key, LabelOperator, the
// job's label Key}. A job without the label Key gets no selector from it **(ours)**.
type PassThroughQueueSelectorAttachment struct {
	// Key is both the job's label and the queue's label compared. Required.
	Key string
	// LabelOperator is the comparison. Required.
	LabelOperator LabelOperator
}

// RuleEngineQueueSelectorAttachment attaches the queue selectors Rule gives. A
// rule may give []QueueSelector, a single QueueSelector, Labels (each an Equal
// selector: a DirectMapRule passes every label through) or, from an expression or
// a webhook, the JSON shape: an array of objects {"key", "labelOperator", "value"}.
type RuleEngineQueueSelectorAttachment struct {
	// Rule computes the selectors. Required.
	Rule RouterRule
}

// WeightedAllocationQueueSelectorAttachment attaches the selectors of one of its
// allocations, drawn with probability proportional to its weight from a
// pseudo-random source seeded by Options.Seed: the same calls give the same draws.
type WeightedAllocationQueueSelectorAttachment struct {
	// Allocations are the choices. Required; each weight must be positive.
	Allocations []QueueWeightedAllocation
}

// QueueWeightedAllocation is one choice of a WeightedAllocationQueueSelectorAttachment.
type QueueWeightedAllocation struct {
	// Weight is the allocation's share: its probability is Weight divided by the sum
	// of the weights (they need not add up to 1). Must be positive.
	Weight float64
	// QueueSelectors are attached when this allocation is drawn.
	QueueSelectors []QueueSelector
}

func (StaticQueueSelectorAttachment) isQueueSelectorAttachment()             {}
func (ConditionalQueueSelectorAttachment) isQueueSelectorAttachment()        {}
func (PassThroughQueueSelectorAttachment) isQueueSelectorAttachment()        {}
func (RuleEngineQueueSelectorAttachment) isQueueSelectorAttachment()         {}
func (WeightedAllocationQueueSelectorAttachment) isQueueSelectorAttachment() {}

// WorkerSelectorAttachment produces worker selectors for a job being classified. It
// is one of StaticWorkerSelectorAttachment, ConditionalWorkerSelectorAttachment,
// PassThroughWorkerSelectorAttachment, RuleEngineWorkerSelectorAttachment and
// WeightedAllocationWorkerSelectorAttachment, given as a value (not a pointer).
type WorkerSelectorAttachment interface {
	isWorkerSelectorAttachment()
}

// StaticWorkerSelectorAttachment always attaches WorkerSelector.
type StaticWorkerSelectorAttachment struct {
	// WorkerSelector is the selector attached. Required.
	WorkerSelector WorkerSelector
}

// ConditionalWorkerSelectorAttachment attaches WorkerSelectors when Condition gives
// true.
type ConditionalWorkerSelectorAttachment struct {
	// Condition is a rule over the job's labels that must give a bool. Required.
	Condition RouterRule
	// WorkerSelectors are attached when Condition is true.
	WorkerSelectors []WorkerSelector
}

// PassThroughWorkerSelectorAttachment attaches the selector {Key, LabelOperator, the
// job's label Key, ExpiresAfter}. A job without the label Key gets no selector from
// it **(ours)**.
type PassThroughWorkerSelectorAttachment struct {
	// Key is both the job's label and the worker's label compared. Required.
	Key string
	// LabelOperator is the comparison. Required.
	LabelOperator LabelOperator
	// ExpiresAfter, when positive, makes the attached selector expire that long
	// after classification. Defaults to zero: it never expires.
	ExpiresAfter time.Duration
}

// RuleEngineWorkerSelectorAttachment attaches the worker selectors Rule gives. A
// rule may give []WorkerSelector, a single WorkerSelector, Labels (each an Equal
// selector) or, from an expression or a webhook, the JSON shape: an array of objects
// {"key", "labelOperator", "value", "expiresAfterSeconds", "expedite"}.
type RuleEngineWorkerSelectorAttachment struct {
	// Rule computes the selectors. Required.
	Rule RouterRule
}

// WeightedAllocationWorkerSelectorAttachment attaches the selectors of one of its
// allocations, drawn by weight as WeightedAllocationQueueSelectorAttachment does.
type WeightedAllocationWorkerSelectorAttachment struct {
	// Allocations are the choices. Required; each weight must be positive.
	Allocations []WorkerWeightedAllocation
}

// WorkerWeightedAllocation is one choice of a
// WeightedAllocationWorkerSelectorAttachment.
type WorkerWeightedAllocation struct {
	// Weight is the allocation's share: its probability is Weight divided by the sum
	// of the weights. Must be positive.
	Weight float64
	// WorkerSelectors are attached when this allocation is drawn.
	WorkerSelectors []WorkerSelector
}

func (StaticWorkerSelectorAttachment) isWorkerSelectorAttachment()             {}
func (ConditionalWorkerSelectorAttachment) isWorkerSelectorAttachment()        {}
func (PassThroughWorkerSelectorAttachment) isWorkerSelectorAttachment()        {}
func (RuleEngineWorkerSelectorAttachment) isWorkerSelectorAttachment()         {}
func (WeightedAllocationWorkerSelectorAttachment) isWorkerSelectorAttachment() {}

// UpsertClassificationPolicy creates the classification policy p.ID or replaces it
// with p. Its rules are compiled now: an expression's syntax or type error, a
// webhook's malformed URL or a static value of the wrong type fails the call. Jobs
// already classified keep their classification until something classifies them
// again. It returns the policy as stored.
//
// Errors: ErrInvalidArgument when p breaks a validation rule (no ID, a nil or pointer
// attachment or rule, an invalid selector, a non-positive weight, a rule that does
// not compile); ErrNotFound when FallbackQueueID does not exist; ErrClosed after
// Close.
func (r *Router) UpsertClassificationPolicy(ctx context.Context, p ClassificationPolicy) (ClassificationPolicy, error) {
	const op = "upsert classification policy"
	var out ClassificationPolicy
	err := r.do(ctx, op, func(now time.Time) error {
		ep, err := r.classificationPolicyToEngine(op, p)
		if err != nil {
			return err
		}
		got, err := r.eng.UpsertClassificationPolicy(now, ep)
		if err != nil {
			return err
		}
		out = classificationPolicyFromEngine(got)
		return nil
	})
	return out, err
}

// GetClassificationPolicy returns a copy of the classification policy policyID, with
// the rules as they were given.
//
// Errors: ErrNotFound when there is no such policy; ErrClosed after Close.
func (r *Router) GetClassificationPolicy(ctx context.Context, policyID string) (ClassificationPolicy, error) {
	var out ClassificationPolicy
	err := r.do(ctx, "get classification policy", func(time.Time) error {
		got, err := r.eng.GetClassificationPolicy(policyID)
		if err != nil {
			return err
		}
		out = classificationPolicyFromEngine(got)
		return nil
	})
	return out, err
}

// ClassificationPolicyPage is one page of ListClassificationPolicies.
type ClassificationPolicyPage struct {
	// ClassificationPolicies are the page's policies, sorted by ID.
	ClassificationPolicies []ClassificationPolicy
	// ContinuationToken gets the next page; "" on the last page.
	ContinuationToken string
}

// ListClassificationPolicies returns one page of copies of the classification
// policies, sorted by ID; nil opts is the first page. Pass the page's
// ContinuationToken back in opts for the next page.
//
// Errors: ErrInvalidArgument when opts.PageSize is negative or above MaxPageSize or
// the continuation token is malformed; ErrClosed after Close.
// Complexity: O(p log p) for p stored policies; the copy is bounded by the page size.
func (r *Router) ListClassificationPolicies(ctx context.Context, opts *ListOptions) (ClassificationPolicyPage, error) {
	const op = "list classification policies"
	var out ClassificationPolicyPage
	err := r.do(ctx, op, func(time.Time) error {
		p, err := opts.page(op, "classification policy")
		if err != nil {
			return err
		}
		got, token := cut(p, r.eng.ListClassificationPolicies(pageToEngine(p)), func(cp engine.ClassificationPolicy) string { return cp.ID })
		out.ClassificationPolicies = make([]ClassificationPolicy, len(got))
		for i, cp := range got {
			out.ClassificationPolicies[i] = classificationPolicyFromEngine(cp)
		}
		out.ContinuationToken = token
		return nil
	})
	return out, err
}

// DeleteClassificationPolicy deletes the classification policy policyID.
//
// Errors: ErrNotFound when there is no such policy; ErrConflict when a job that is
// neither closed nor cancelled uses it, or an exception policy's ReclassifyAction
// names it; ErrClosed after Close.
func (r *Router) DeleteClassificationPolicy(ctx context.Context, policyID string) error {
	return r.do(ctx, "delete classification policy", func(now time.Time) error {
		return r.eng.DeleteClassificationPolicy(now, policyID)
	})
}

// ReclassifyJobOptions are the options of ReclassifyJob. It has no fields yet: it is
// reserved for options to come. A nil *ReclassifyJobOptions is the zero value.
type ReclassifyJobOptions struct{}

// ReclassifyJob classifies the job jobID again with its classification policy (as
// it is now): its open offers are revoked and it leaves its queue, then
// JobClassified and JobQueued (or JobClassificationFailed) are announced as on
// creation. Queued again, the job keeps its EnqueuedAt **(ours)**: it does not lose
// its place. A job scheduled or waiting for activation is classified and stays
// where it was. With a WebhookRule the job waits in pendingClassification, as in
// CreateJob.
//
// Errors: ErrNotFound when there is no such job; ErrConflict when the job has no
// classification policy or is assigned, completed, closed or cancelled; ErrClosed
// after Close.
func (r *Router) ReclassifyJob(ctx context.Context, jobID string, opts *ReclassifyJobOptions) error {
	return r.do(ctx, "reclassify job", func(now time.Time) error {
		return r.eng.ReclassifyJob(now, jobID)
	})
}

// classificationPolicyToEngine checks p's attachments and compiles its rules.
func (r *Router) classificationPolicyToEngine(op string, p ClassificationPolicy) (engine.ClassificationPolicy, error) {
	const entity = "classification policy"
	bad := func(format string, args ...any) error {
		return errInvalid(op, entity, p.ID, fmt.Sprintf(format, args...))
	}
	ep := engine.ClassificationPolicy{ID: p.ID, Name: p.Name, FallbackQueueID: p.FallbackQueueID}
	prio, err := r.rules.toEngine(p.PrioritizationRule, usePriority)
	if err != nil {
		return ep, bad("PrioritizationRule: %v", err)
	}
	ep.PrioritizationRule = prio
	if p.QueueSelectorAttachments != nil {
		ep.QueueSelectorAttachments = make([]engine.Attachment, len(p.QueueSelectorAttachments))
	}
	for i, a := range p.QueueSelectorAttachments {
		ea, err := r.queueAttachmentToEngine(a)
		if err != nil {
			return ep, bad("QueueSelectorAttachments[%d]: %v", i, err)
		}
		ep.QueueSelectorAttachments[i] = ea
	}
	if p.WorkerSelectorAttachments != nil {
		ep.WorkerSelectorAttachments = make([]engine.Attachment, len(p.WorkerSelectorAttachments))
	}
	for i, a := range p.WorkerSelectorAttachments {
		ea, err := r.workerAttachmentToEngine(a)
		if err != nil {
			return ep, bad("WorkerSelectorAttachments[%d]: %v", i, err)
		}
		ep.WorkerSelectorAttachments[i] = ea
	}
	return ep, nil
}

func (r *Router) queueAttachmentToEngine(a QueueSelectorAttachment) (engine.Attachment, error) {
	switch a := a.(type) {
	case StaticQueueSelectorAttachment:
		return engine.Attachment{Kind: engine.AttachStatic, Selectors: []engine.Selector{queueSelectorToEngine(a.QueueSelector)}}, nil
	case ConditionalQueueSelectorAttachment:
		cond, err := r.rules.toEngine(a.Condition, useCondition)
		if err != nil {
			return engine.Attachment{}, fmt.Errorf("condition: %w", err)
		}
		if cond == nil {
			return engine.Attachment{}, fmt.Errorf("a conditional attachment needs a Condition")
		}
		return engine.Attachment{Kind: engine.AttachConditional, Condition: cond, Selectors: queueSelectorsToEngine(a.QueueSelectors)}, nil
	case PassThroughQueueSelectorAttachment:
		return engine.Attachment{Kind: engine.AttachPassThrough, Key: a.Key, Op: labels.Operator(a.LabelOperator)}, nil
	case RuleEngineQueueSelectorAttachment:
		rule, err := r.rules.toEngine(a.Rule, useQueueSelectors)
		if err != nil {
			return engine.Attachment{}, fmt.Errorf("rule: %w", err)
		}
		if rule == nil {
			return engine.Attachment{}, fmt.Errorf("a rule-engine attachment needs a Rule")
		}
		return engine.Attachment{Kind: engine.AttachRuleEngine, Rule: rule}, nil
	case WeightedAllocationQueueSelectorAttachment:
		al := make([]engine.Allocation, len(a.Allocations))
		for i, x := range a.Allocations {
			al[i] = engine.Allocation{Weight: x.Weight, Selectors: queueSelectorsToEngine(x.QueueSelectors)}
		}
		return engine.Attachment{Kind: engine.AttachWeighted, Allocations: al}, nil
	}
	return engine.Attachment{}, fmt.Errorf("unsupported queue selector attachment %T: give one of the five QueueSelectorAttachment types as a value, not a pointer", a)
}

func (r *Router) workerAttachmentToEngine(a WorkerSelectorAttachment) (engine.Attachment, error) {
	switch a := a.(type) {
	case StaticWorkerSelectorAttachment:
		return engine.Attachment{Kind: engine.AttachStatic, Selectors: []engine.Selector{selectorToEngine(a.WorkerSelector)}}, nil
	case ConditionalWorkerSelectorAttachment:
		cond, err := r.rules.toEngine(a.Condition, useCondition)
		if err != nil {
			return engine.Attachment{}, fmt.Errorf("condition: %w", err)
		}
		if cond == nil {
			return engine.Attachment{}, fmt.Errorf("a conditional attachment needs a Condition")
		}
		return engine.Attachment{Kind: engine.AttachConditional, Condition: cond, Selectors: selectorsToEngine(a.WorkerSelectors)}, nil
	case PassThroughWorkerSelectorAttachment:
		return engine.Attachment{Kind: engine.AttachPassThrough, Key: a.Key, Op: labels.Operator(a.LabelOperator), ExpiresAfter: a.ExpiresAfter}, nil
	case RuleEngineWorkerSelectorAttachment:
		rule, err := r.rules.toEngine(a.Rule, useWorkerSelectors)
		if err != nil {
			return engine.Attachment{}, fmt.Errorf("rule: %w", err)
		}
		if rule == nil {
			return engine.Attachment{}, fmt.Errorf("a rule-engine attachment needs a Rule")
		}
		return engine.Attachment{Kind: engine.AttachRuleEngine, Rule: rule}, nil
	case WeightedAllocationWorkerSelectorAttachment:
		al := make([]engine.Allocation, len(a.Allocations))
		for i, x := range a.Allocations {
			al[i] = engine.Allocation{Weight: x.Weight, Selectors: selectorsToEngine(x.WorkerSelectors)}
		}
		return engine.Attachment{Kind: engine.AttachWeighted, Allocations: al}, nil
	}
	return engine.Attachment{}, fmt.Errorf("unsupported worker selector attachment %T: give one of the five WorkerSelectorAttachment types as a value, not a pointer", a)
}

// classificationPolicyFromEngine converts a stored policy back to the caller's form.
func classificationPolicyFromEngine(p engine.ClassificationPolicy) ClassificationPolicy {
	out := ClassificationPolicy{
		ID:                 p.ID,
		Name:               p.Name,
		FallbackQueueID:    p.FallbackQueueID,
		PrioritizationRule: ruleFromEngine(p.PrioritizationRule),
	}
	if p.QueueSelectorAttachments != nil {
		out.QueueSelectorAttachments = make([]QueueSelectorAttachment, len(p.QueueSelectorAttachments))
		for i, a := range p.QueueSelectorAttachments {
			out.QueueSelectorAttachments[i] = queueAttachmentFromEngine(a)
		}
	}
	if p.WorkerSelectorAttachments != nil {
		out.WorkerSelectorAttachments = make([]WorkerSelectorAttachment, len(p.WorkerSelectorAttachments))
		for i, a := range p.WorkerSelectorAttachments {
			out.WorkerSelectorAttachments[i] = workerAttachmentFromEngine(a)
		}
	}
	return out
}

func queueAttachmentFromEngine(a engine.Attachment) QueueSelectorAttachment {
	switch a.Kind {
	case engine.AttachStatic:
		return StaticQueueSelectorAttachment{QueueSelector: queueSelectorFromEngine(a.Selectors[0])}
	case engine.AttachConditional:
		return ConditionalQueueSelectorAttachment{Condition: ruleFromEngine(a.Condition), QueueSelectors: queueSelectorsFromEngine(a.Selectors)}
	case engine.AttachPassThrough:
		return PassThroughQueueSelectorAttachment{Key: a.Key, LabelOperator: LabelOperator(a.Op)}
	case engine.AttachRuleEngine:
		return RuleEngineQueueSelectorAttachment{Rule: ruleFromEngine(a.Rule)}
	case engine.AttachWeighted:
		al := make([]QueueWeightedAllocation, len(a.Allocations))
		for i, x := range a.Allocations {
			al[i] = QueueWeightedAllocation{Weight: x.Weight, QueueSelectors: queueSelectorsFromEngine(x.Selectors)}
		}
		return WeightedAllocationQueueSelectorAttachment{Allocations: al}
	}
	return nil
}

func workerAttachmentFromEngine(a engine.Attachment) WorkerSelectorAttachment {
	switch a.Kind {
	case engine.AttachStatic:
		return StaticWorkerSelectorAttachment{WorkerSelector: selectorSpecFromEngine(a.Selectors[0])}
	case engine.AttachConditional:
		return ConditionalWorkerSelectorAttachment{Condition: ruleFromEngine(a.Condition), WorkerSelectors: selectorSpecsFromEngine(a.Selectors)}
	case engine.AttachPassThrough:
		return PassThroughWorkerSelectorAttachment{Key: a.Key, LabelOperator: LabelOperator(a.Op), ExpiresAfter: a.ExpiresAfter}
	case engine.AttachRuleEngine:
		return RuleEngineWorkerSelectorAttachment{Rule: ruleFromEngine(a.Rule)}
	case engine.AttachWeighted:
		al := make([]WorkerWeightedAllocation, len(a.Allocations))
		for i, x := range a.Allocations {
			al[i] = WorkerWeightedAllocation{Weight: x.Weight, WorkerSelectors: selectorSpecsFromEngine(x.Selectors)}
		}
		return WeightedAllocationWorkerSelectorAttachment{Allocations: al}
	}
	return nil
}

func queueSelectorFromEngine(s engine.Selector) QueueSelector {
	return QueueSelector{Key: s.Key, LabelOperator: LabelOperator(s.Op), Value: s.Value}
}

func queueSelectorsFromEngine(s []engine.Selector) []QueueSelector {
	if s == nil {
		return nil
	}
	out := make([]QueueSelector, len(s))
	for i, x := range s {
		out[i] = queueSelectorFromEngine(x)
	}
	return out
}

// selectorSpecFromEngine converts a selector as given in a policy: without the
// read-only Status and ExpiresAt, which only a job's selectors have.
func selectorSpecFromEngine(s engine.Selector) WorkerSelector {
	return WorkerSelector{Key: s.Key, LabelOperator: LabelOperator(s.Op), Value: s.Value, ExpiresAfter: s.ExpiresAfter, Expedite: s.Expedite}
}

func selectorSpecsFromEngine(s []engine.Selector) []WorkerSelector {
	if s == nil {
		return nil
	}
	out := make([]WorkerSelector, len(s))
	for i, x := range s {
		out[i] = selectorSpecFromEngine(x)
	}
	return out
}
