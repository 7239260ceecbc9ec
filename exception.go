package jobrouter

import (
	"context"
	"fmt"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// ExceptionPolicy acts on the jobs of the queues that name it (Queue.ExceptionPolicyID)
// when they wait too long or find their queue too full. When a rule's trigger fires
// for a queued job, JobExceptionTriggered{RuleID} is announced and the rule's actions
// run in order.
//
// A rule fires at most once per job per enqueue. **(ours)** A re-queue caused by an
// exception action (ManualReclassifyAction, ReclassifyAction) continues the same
// enqueue for this purpose: a rule that fired does not fire again until the job is
// queued by anything else (creation, UpdateJob, UnassignJob, ReclassifyJob). So
// "after 5 minutes, raise the priority" fires once, and two policies that send a job
// back and forth stop after one round. A job re-queued by an action announces a new
// JobQueued, its wait for wait-time triggers starts again, and it keeps its
// EnqueuedAt (its place in queue order) **(ours)**.
type ExceptionPolicy struct {
	// ID identifies the policy. Required.
	ID string
	// Name is a display name. Optional.
	Name string
	// ExceptionRules are the policy's rules, each with a unique, non-empty ID.
	ExceptionRules []ExceptionRule
}

// ExceptionRule is one rule of an exception policy: when Trigger fires for a job,
// Actions run in order.
type ExceptionRule struct {
	// ID identifies the rule within its policy; JobExceptionTriggered carries it.
	// Required, unique in the policy.
	ID string
	// Trigger says when the rule fires. Required: QueueLengthTrigger or
	// WaitTimeTrigger, given as a value.
	Trigger ExceptionTrigger
	// Actions run in order when the rule fires; those after one that cancels the
	// job do nothing. At least one is required.
	Actions []ExceptionAction
}

// ExceptionTrigger says when an exception rule fires. It is QueueLengthTrigger or
// WaitTimeTrigger, given as a value (not a pointer).
type ExceptionTrigger interface {
	isExceptionTrigger()
}

// QueueLengthTrigger fires when a job is queued in a queue that then holds more than
// Threshold jobs, counting this one.
type QueueLengthTrigger struct {
	// Threshold is the queue length the queue must exceed. Must not be negative.
	Threshold int
}

// WaitTimeTrigger fires when a job has waited Threshold in its queue (since it was
// last queued there): exactly at that instant, as a deadline of the Router's one
// timer, not a timer per job.
type WaitTimeTrigger struct {
	// Threshold is the wait. Must be positive.
	Threshold time.Duration
}

func (QueueLengthTrigger) isExceptionTrigger() {}
func (WaitTimeTrigger) isExceptionTrigger()    {}

// ExceptionAction is what an exception rule does to a job. It is one of CancelAction,
// ManualReclassifyAction and ReclassifyAction, given as a value (not a pointer).
type ExceptionAction interface {
	isExceptionAction()
}

// CancelAction cancels the job, as CancelJob does.
type CancelAction struct {
	// ID identifies the action. Optional.
	ID string
	// Note, when not empty, is added to the job's notes. Optional.
	Note string
	// DispositionCode is recorded on the job and in JobCancelled. Defaults to
	// "Cancelled".
	DispositionCode string
}

// ManualReclassifyAction moves the job, changes its priority and replaces its
// attached worker selectors, as given, then queues it again (JobQueued) keeping its
// EnqueuedAt. Its open offers are revoked.
type ManualReclassifyAction struct {
	// ID identifies the action. Optional.
	ID string
	// QueueID is the job's new queue, which must exist. Defaults to "": the job
	// stays in its queue.
	QueueID string
	// Priority is the job's new priority, -100..100. Defaults to nil: unchanged.
	Priority *int
	// WorkerSelectors replace the job's attached worker selectors
	// (Job.AttachedWorkerSelectors). Defaults to nil: unchanged.
	WorkerSelectors []WorkerSelector
}

// ReclassifyAction upserts labels on the job and classifies it again (as
// ReclassifyJob does), with ClassificationPolicyID or its own policy. A job without
// a classification policy only gets the labels.
type ReclassifyAction struct {
	// ID identifies the action. Optional.
	ID string
	// ClassificationPolicyID is the policy to classify the job with; it becomes the
	// job's policy and must exist. Defaults to "": the job's own.
	ClassificationPolicyID string
	// LabelsToUpsert are set on the job (added or replaced) before it is classified.
	// Optional.
	LabelsToUpsert Labels
}

func (CancelAction) isExceptionAction()           {}
func (ManualReclassifyAction) isExceptionAction() {}
func (ReclassifyAction) isExceptionAction()       {}

// UpsertExceptionPolicy creates the exception policy p.ID or replaces it with p. Jobs
// already waiting keep the wait-time deadlines set when they were queued; a rule that
// no longer exists when its deadline falls does nothing. It returns the policy as
// stored.
//
// Errors: ErrInvalidArgument when p breaks a validation rule (no ID, a rule without
// a unique ID, a nil or pointer trigger or action, a rule without actions, a
// negative queue-length or non-positive wait-time threshold, a priority outside
// -100..100, an invalid selector or label); ErrNotFound when an action names a queue
// or classification policy that does not exist; ErrClosed after Close.
func (r *Router) UpsertExceptionPolicy(ctx context.Context, p ExceptionPolicy) (ExceptionPolicy, error) {
	const op = "upsert exception policy"
	var out ExceptionPolicy
	err := r.do(ctx, op, func(now time.Time) error {
		ep, err := exceptionPolicyToEngine(op, p)
		if err != nil {
			return err
		}
		got, err := r.eng.UpsertExceptionPolicy(now, ep)
		if err != nil {
			return err
		}
		out = exceptionPolicyFromEngine(got)
		return nil
	})
	return out, err
}

// GetExceptionPolicy returns a copy of the exception policy policyID.
//
// Errors: ErrNotFound when there is no such policy; ErrClosed after Close.
func (r *Router) GetExceptionPolicy(ctx context.Context, policyID string) (ExceptionPolicy, error) {
	var out ExceptionPolicy
	err := r.do(ctx, "get exception policy", func(time.Time) error {
		got, err := r.eng.GetExceptionPolicy(policyID)
		if err != nil {
			return err
		}
		out = exceptionPolicyFromEngine(got)
		return nil
	})
	return out, err
}

// ExceptionPolicyPage is one page of ListExceptionPolicies.
type ExceptionPolicyPage struct {
	// ExceptionPolicies are the page's policies, sorted by ID.
	ExceptionPolicies []ExceptionPolicy
	// ContinuationToken gets the next page; "" on the last page.
	ContinuationToken string
}

// ListExceptionPolicies returns one page of copies of the exception policies,
// sorted by ID; nil opts is the first page. Pass the page's ContinuationToken back in
// opts for the next page.
//
// Errors: ErrInvalidArgument when opts.PageSize is negative or above MaxPageSize or
// the continuation token is malformed; ErrClosed after Close.
// Complexity: O(p log p) for p stored policies; the copy is bounded by the page size.
func (r *Router) ListExceptionPolicies(ctx context.Context, opts *ListOptions) (ExceptionPolicyPage, error) {
	const op = "list exception policies"
	var out ExceptionPolicyPage
	err := r.do(ctx, op, func(time.Time) error {
		p, err := opts.page(op, "exception policy")
		if err != nil {
			return err
		}
		got, token := cut(p, r.eng.ListExceptionPolicies(pageToEngine(p)), func(ep engine.ExceptionPolicy) string { return ep.ID })
		out.ExceptionPolicies = make([]ExceptionPolicy, len(got))
		for i, ep := range got {
			out.ExceptionPolicies[i] = exceptionPolicyFromEngine(ep)
		}
		out.ContinuationToken = token
		return nil
	})
	return out, err
}

// DeleteExceptionPolicy deletes the exception policy policyID.
//
// Errors: ErrNotFound when there is no such policy; ErrConflict when a queue uses
// it; ErrClosed after Close.
func (r *Router) DeleteExceptionPolicy(ctx context.Context, policyID string) error {
	return r.do(ctx, "delete exception policy", func(now time.Time) error {
		return r.eng.DeleteExceptionPolicy(now, policyID)
	})
}

// exceptionPolicyToEngine checks p's triggers and actions and converts it.
func exceptionPolicyToEngine(op string, p ExceptionPolicy) (engine.ExceptionPolicy, error) {
	bad := func(format string, args ...any) error {
		return errInvalid(op, "exception policy", p.ID, fmt.Sprintf(format, args...))
	}
	ep := engine.ExceptionPolicy{ID: p.ID, Name: p.Name, Rules: make([]engine.ExceptionRule, len(p.ExceptionRules))}
	for i, rule := range p.ExceptionRules {
		er := engine.ExceptionRule{ID: rule.ID, Actions: make([]engine.Action, len(rule.Actions))}
		switch t := rule.Trigger.(type) {
		case QueueLengthTrigger:
			er.Trigger = engine.Trigger{Kind: engine.TriggerQueueLength, Threshold: t.Threshold}
		case WaitTimeTrigger:
			er.Trigger = engine.Trigger{Kind: engine.TriggerWaitTime, Wait: t.Threshold}
		case nil:
			return ep, bad("ExceptionRules[%d] (%q): a Trigger is required", i, rule.ID)
		default:
			return ep, bad("ExceptionRules[%d] (%q): unsupported trigger %T: give QueueLengthTrigger or WaitTimeTrigger as a value, not a pointer", i, rule.ID, t)
		}
		for k, a := range rule.Actions {
			switch a := a.(type) {
			case CancelAction:
				er.Actions[k] = engine.Action{Kind: engine.ActionCancel, ID: a.ID, Note: a.Note, DispositionCode: a.DispositionCode}
			case ManualReclassifyAction:
				er.Actions[k] = engine.Action{Kind: engine.ActionManualReclassify, ID: a.ID, QueueID: a.QueueID,
					Priority: cloneInt(a.Priority), WorkerSelectors: selectorsToEngine(a.WorkerSelectors)}
			case ReclassifyAction:
				er.Actions[k] = engine.Action{Kind: engine.ActionReclassify, ID: a.ID,
					ClassificationPolicyID: a.ClassificationPolicyID, LabelsToUpsert: labelsToEngine(a.LabelsToUpsert)}
			case nil:
				return ep, bad("ExceptionRules[%d] (%q): Actions[%d] is nil", i, rule.ID, k)
			default:
				return ep, bad("ExceptionRules[%d] (%q): unsupported action %T: give CancelAction, ManualReclassifyAction or ReclassifyAction as a value, not a pointer", i, rule.ID, a)
			}
		}
		ep.Rules[i] = er
	}
	return ep, nil
}

// exceptionPolicyFromEngine converts a stored policy back to the caller's form.
func exceptionPolicyFromEngine(p engine.ExceptionPolicy) ExceptionPolicy {
	out := ExceptionPolicy{ID: p.ID, Name: p.Name}
	if len(p.Rules) > 0 {
		out.ExceptionRules = make([]ExceptionRule, len(p.Rules))
	}
	for i, rule := range p.Rules {
		r := ExceptionRule{ID: rule.ID, Actions: make([]ExceptionAction, len(rule.Actions))}
		switch rule.Trigger.Kind {
		case engine.TriggerQueueLength:
			r.Trigger = QueueLengthTrigger{Threshold: rule.Trigger.Threshold}
		case engine.TriggerWaitTime:
			r.Trigger = WaitTimeTrigger{Threshold: rule.Trigger.Wait}
		}
		for k, a := range rule.Actions {
			switch a.Kind {
			case engine.ActionCancel:
				r.Actions[k] = CancelAction{ID: a.ID, Note: a.Note, DispositionCode: a.DispositionCode}
			case engine.ActionManualReclassify:
				r.Actions[k] = ManualReclassifyAction{ID: a.ID, QueueID: a.QueueID, Priority: cloneInt(a.Priority),
					WorkerSelectors: selectorSpecsFromEngine(a.WorkerSelectors)}
			case engine.ActionReclassify:
				r.Actions[k] = ReclassifyAction{ID: a.ID, ClassificationPolicyID: a.ClassificationPolicyID,
					LabelsToUpsert: labelsFromEngine(a.LabelsToUpsert)}
			}
		}
		out.ExceptionRules[i] = r
	}
	return out
}

func cloneInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
