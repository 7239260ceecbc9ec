package jobrouter

import (
	"context"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// DistributionPolicy says how a queue's jobs are offered to workers: which workers
// (Mode), how many at once and for how long (OfferExpiresAfter).
type DistributionPolicy struct {
	// ID identifies the policy. Required.
	ID string
	// Name is a display name. Optional.
	Name string
	// OfferExpiresAfter is how long an offer stays open: it expires at OfferedAt +
	// OfferExpiresAfter exactly. Required: zero or negative is ErrInvalidArgument.
	OfferExpiresAfter time.Duration
	// Mode chooses among the eligible workers. Required: one of LongestIdleMode,
	// RoundRobinMode and BestWorkerMode, given as a value (not a pointer); nil is
	// ErrInvalidArgument.
	Mode DistributionMode
}

// DistributionMode chooses which eligible workers are offered a job. It is one of
// LongestIdleMode, RoundRobinMode and BestWorkerMode.
//
// In every mode a job holds between MinConcurrentOffers and MaxConcurrentOffers open
// offers; with fewer than MinConcurrentOffers eligible workers it waits. Both default
// to 1 (a zero value means 1); negative, or Min greater than Max after defaulting, is
// ErrInvalidArgument. BypassSelectors makes worker selectors exclude no one.
type DistributionMode interface {
	isDistributionMode()
}

// LongestIdleMode offers a job to the workers with the lowest load ratio, then the
// longest idle (idle since registration or the last release of capacity), then the
// lowest ID.
type LongestIdleMode struct {
	// MinConcurrentOffers is the fewest open offers a job waits for. Defaults to 1.
	MinConcurrentOffers int
	// MaxConcurrentOffers is the most open offers a job holds. Defaults to 1.
	MaxConcurrentOffers int
	// BypassSelectors, when true, makes worker selectors exclude no one. Defaults to
	// false.
	BypassSelectors bool
}

// RoundRobinMode offers a job to workers in ID order, starting after the last worker
// this queue offered a job to (from the lowest ID when it has offered none yet).
type RoundRobinMode struct {
	// MinConcurrentOffers is the fewest open offers a job waits for. Defaults to 1.
	MinConcurrentOffers int
	// MaxConcurrentOffers is the most open offers a job holds. Defaults to 1.
	MaxConcurrentOffers int
	// BypassSelectors, when true, makes worker selectors exclude no one. Defaults to
	// false.
	BypassSelectors bool
}

// BestWorkerMode offers a job to the workers with the best score. The default score
// is the mean of a label score (the share of the job's labels the worker has with
// equal values) and a selector score (how well the worker meets the job's
// selectors); ties go to the longest idle worker, then the lowest ID. ScoringFunc or
// ScoringRule replaces the default score.
type BestWorkerMode struct {
	// MinConcurrentOffers is the fewest open offers a job waits for. Defaults to 1.
	MinConcurrentOffers int
	// MaxConcurrentOffers is the most open offers a job holds. Defaults to 1.
	MaxConcurrentOffers int
	// BypassSelectors, when true, makes worker selectors exclude no one; they are
	// still used to score. Defaults to false.
	BypassSelectors bool
	// ScoringRule, when set, scores each eligible worker for the job in place of the
	// default score. It must be an ExpressionRule, compiled when the policy is
	// upserted (a syntax or type error is ErrInvalidArgument then), over job and
	// worker (their labels: job.Tier, worker.Skill; a missing label is nil) and
	// selectors (the job's active worker selectors, each with key, labelOperator,
	// value, expiresAfterSeconds and expedite); it must give a number, e.g.
	// `worker.Skill * (job.Vip == true ? 2 : 1)`. An evaluation error gives the
	// worker the worst score. A WebhookRule is ErrInvalidArgument: scoring runs under
	// the Router's lock, which a webhook would block; use ScoringFunc for anything
	// beyond an expression. Giving both ScoringRule and ScoringFunc is
	// ErrInvalidArgument. Defaults to nil.
	ScoringRule RouterRule
	// ScoringFunc, when set, scores each eligible worker for the job in place of the
	// default score. It runs under the Router's lock with a context that has no
	// deadline: it must be fast, must not block and must not call the Router. An
	// error or a panic (which is recovered) gives the worker the worst score. Its
	// input is a copy; it may keep or change it. Defaults to nil: the default score.
	// A policy read back from the Router carries the very function given.
	ScoringFunc func(ctx context.Context, in ScoringInput) (float64, error)
	// ScoringRuleOptions tunes scoring. Defaults to nil: batch size 20, no batch
	// scoring, descending order (the highest score is best). A policy returned by the
	// Router always carries the options in effect.
	ScoringRuleOptions *ScoringRuleOptions
}

func (LongestIdleMode) isDistributionMode() {}
func (RoundRobinMode) isDistributionMode()  {}
func (BestWorkerMode) isDistributionMode()  {}

// ScoringInput is what a BestWorkerMode.ScoringFunc scores: one worker for one job.
type ScoringInput struct {
	// JobLabels are the job's labels.
	JobLabels Labels
	// WorkerLabels are the worker's labels (including "Id").
	WorkerLabels Labels
	// WorkerID is the worker being scored.
	WorkerID string
	// Selectors are the job's worker selectors, requested and attached.
	Selectors []WorkerSelector
}

// ScoringRuleOptions tunes BestWorkerMode scoring. Given as non-nil, each field is
// taken as set, except that a zero BatchSize means 20.
type ScoringRuleOptions struct {
	// BatchSize is how many workers one batch-scoring call scores. Defaults to 20 (a
	// zero value means 20); negative is ErrInvalidArgument.
	BatchSize int
	// IsBatchScoringEnabled asks for workers to be scored in batches of BatchSize.
	// It matters for scorers with a per-call cost (Azure's webhooks); in-process
	// scoring is per worker either way, so the flag is kept for read-back and has no
	// effect on the outcome. Defaults to false.
	IsBatchScoringEnabled bool
	// DescendingOrder, when true, makes the highest score best; when false, the
	// lowest. Defaults to true when ScoringRuleOptions is nil; a non-nil
	// ScoringRuleOptions is taken literally, so its zero value means ascending.
	DescendingOrder bool
}

const defaultScoringBatchSize = 20

// UpsertDistributionPolicy creates the distribution policy p.ID or replaces it with p.
// Queues using it apply the new policy to the offers they issue from then on. It
// returns the policy as stored, with every default filled in.
//
// Errors: ErrInvalidArgument when p breaks a validation rule (no ID, OfferExpiresAfter
// not positive, a nil or pointer Mode, bad concurrent-offer bounds, a ScoringRule that
// is not a valid ExpressionRule, both ScoringRule and ScoringFunc); ErrClosed after
// Close.
func (r *Router) UpsertDistributionPolicy(ctx context.Context, p DistributionPolicy) (DistributionPolicy, error) {
	const op = "upsert distribution policy"
	var out DistributionPolicy
	err := r.do(ctx, op, func(now time.Time) error {
		ep, err := distributionPolicyToEngine(op, p)
		if err != nil {
			return err
		}
		got, err := r.eng.UpsertDistributionPolicy(now, ep)
		if err != nil {
			return err
		}
		out = distributionPolicyFromEngine(got)
		return nil
	})
	return out, err
}

// GetDistributionPolicy returns a copy of the distribution policy policyID.
//
// Errors: ErrNotFound when there is no such policy; ErrClosed after Close.
func (r *Router) GetDistributionPolicy(ctx context.Context, policyID string) (DistributionPolicy, error) {
	var out DistributionPolicy
	err := r.do(ctx, "get distribution policy", func(time.Time) error {
		got, err := r.eng.GetDistributionPolicy(policyID)
		if err != nil {
			return err
		}
		out = distributionPolicyFromEngine(got)
		return nil
	})
	return out, err
}

// DistributionPolicyPage is one page of ListDistributionPolicies.
type DistributionPolicyPage struct {
	// DistributionPolicies are the page's policies, sorted by ID.
	DistributionPolicies []DistributionPolicy
	// ContinuationToken gets the next page; "" on the last page.
	ContinuationToken string
}

// ListDistributionPolicies returns one page of copies of the distribution policies,
// sorted by ID; nil opts is the first page. Pass the page's ContinuationToken back in
// opts for the next page.
//
// Errors: ErrInvalidArgument when opts.PageSize is negative or above MaxPageSize or
// the continuation token is malformed; ErrClosed after Close.
// Complexity: O(p log p) for p stored policies; the copy is bounded by the page size.
func (r *Router) ListDistributionPolicies(ctx context.Context, opts *ListOptions) (DistributionPolicyPage, error) {
	const op = "list distribution policies"
	var out DistributionPolicyPage
	err := r.do(ctx, op, func(time.Time) error {
		p, err := opts.page(op, "distribution policy")
		if err != nil {
			return err
		}
		got, token := cut(p, r.eng.ListDistributionPolicies(pageToEngine(p)), func(dp engine.DistributionPolicy) string { return dp.ID })
		out.DistributionPolicies = make([]DistributionPolicy, len(got))
		for i, dp := range got {
			out.DistributionPolicies[i] = distributionPolicyFromEngine(dp)
		}
		out.ContinuationToken = token
		return nil
	})
	return out, err
}

// DeleteDistributionPolicy deletes the distribution policy policyID.
//
// Errors: ErrNotFound when there is no such policy; ErrConflict when a queue uses
// it; ErrClosed after Close.
func (r *Router) DeleteDistributionPolicy(ctx context.Context, policyID string) error {
	return r.do(ctx, "delete distribution policy", func(now time.Time) error {
		return r.eng.DeleteDistributionPolicy(now, policyID)
	})
}
