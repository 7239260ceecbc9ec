package sim

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/openjobrouter/jobrouter"
)

// newRouter returns a Router in manual time at sc.Start, with IDs from a counter
// and sc.Seed, so that a run is a pure function of the scenario.
func newRouter(sc *Scenario) (*jobrouter.Router, error) {
	var n uint64
	maxAge := sc.Router.MaxJobAge
	if maxAge == 0 {
		maxAge = -1
	}
	return jobrouter.New(&jobrouter.Options{
		ManualTime:               true,
		StartTime:                sc.Start,
		NewID:                    func() string { n++; return "x" + strconv.FormatUint(n, 10) },
		KeepWorkersOnOfferExpiry: sc.Router.KeepWorkersOnOfferExpiry,
		MaxJobAge:                maxAge,
		Seed:                     sc.Seed,
	})
}

// setupRouter upserts sc's policies, queues and workers (all logged out) into r.
// Queues and exception policies refer to each other, so queues are upserted first
// without their exception policy and again with it once the policies exist.
func setupRouter(r *jobrouter.Router, sc *Scenario) error {
	ctx := context.Background()
	refuse := func(path string, err error) error {
		return &FieldError{Path: path, Msg: err.Error(), Err: err}
	}
	for i, p := range sc.DistributionPolicies {
		path := fmt.Sprintf("distributionPolicies[%d]", i)
		if bw, ok := p.Mode.(jobrouter.BestWorkerMode); ok {
			if _, ok := bw.ScoringRule.(jobrouter.WebhookRule); ok {
				return fieldErr(path+".mode.scoringRule", "a webhook rule cannot run in a simulation")
			}
		}
		if _, err := r.UpsertDistributionPolicy(ctx, p); err != nil {
			return refuse(path, err)
		}
	}
	for i, q := range sc.Queues {
		q.ExceptionPolicyID = ""
		if _, err := r.UpsertQueue(ctx, q); err != nil {
			return refuse(fmt.Sprintf("queues[%d]", i), err)
		}
	}
	for i, p := range sc.ClassificationPolicies {
		path := fmt.Sprintf("classificationPolicies[%d]", i)
		if err := noWebhooks(path, p); err != nil {
			return err
		}
		if _, err := r.UpsertClassificationPolicy(ctx, p); err != nil {
			return refuse(path, err)
		}
	}
	for i, p := range sc.ExceptionPolicies {
		if _, err := r.UpsertExceptionPolicy(ctx, p); err != nil {
			return refuse(fmt.Sprintf("exceptionPolicies[%d]", i), err)
		}
	}
	for i, q := range sc.Queues {
		if q.ExceptionPolicyID == "" {
			continue
		}
		if _, err := r.UpsertQueue(ctx, q); err != nil {
			return refuse(fmt.Sprintf("queues[%d]", i), err)
		}
	}
	for i := range sc.WorkerGroups {
		g := &sc.WorkerGroups[i]
		for k := range g.Count {
			if _, err := r.UpsertWorker(ctx, workerDef(g, k)); err != nil {
				return refuse(fmt.Sprintf("workerGroups[%d]", i), err)
			}
		}
	}
	for i, a := range sc.Arrivals {
		path := fmt.Sprintf("arrivals[%d]", i)
		if a.QueueID != "" {
			if _, err := r.GetQueue(ctx, a.QueueID); err != nil {
				return fieldErr(path+".queueId", "no queue %q in queues", a.QueueID)
			}
		}
		if a.ClassificationPolicyID != "" {
			if _, err := r.GetClassificationPolicy(ctx, a.ClassificationPolicyID); err != nil {
				return fieldErr(path+".classificationPolicyId", "no classification policy %q in classificationPolicies", a.ClassificationPolicyID)
			}
		}
		// The job the stream creates must pass the library's checks: try one on
		// a queue-less, policy-less copy that cannot be routed anywhere.
		if err := checkJobShape(r, &a); err != nil {
			return refuse(path, err)
		}
	}
	return nil
}

// workerDef is the k-th worker of g (from 0), logged out.
func workerDef(g *WorkerGroup, k int) jobrouter.Worker {
	return jobrouter.Worker{
		ID:                  fmt.Sprintf("%s-%03d", g.Name, k+1),
		Queues:              g.Queues,
		Capacity:            g.Capacity,
		Channels:            g.Channels,
		Labels:              g.Labels,
		MaxConcurrentOffers: g.MaxConcurrentOffers,
	}
}

// checkJobShape validates the labels, selectors and priority of a's jobs by
// creating one suspended job with them, then cancelling and deleting it.
func checkJobShape(r *jobrouter.Router, a *ArrivalStream) error {
	ctx := context.Background()
	id := "sim:check:" + a.Name
	j := jobrouter.Job{ID: id, ChannelID: a.ChannelID, QueueID: a.QueueID, Priority: a.Priority,
		Labels: a.Labels, RequestedWorkerSelectors: a.RequestedWorkerSelectors,
		MatchingMode: jobrouter.SuspendMode{}}
	if j.QueueID == "" {
		return nil // classified jobs: their shape depends on the policy
	}
	if _, err := r.CreateJob(ctx, j); err != nil {
		return err
	}
	if err := r.CancelJob(ctx, id, nil); err != nil {
		return err
	}
	return r.DeleteJob(ctx, id)
}

// noWebhooks refuses a classification policy that would call a webhook.
func noWebhooks(path string, p jobrouter.ClassificationPolicy) error {
	bad := errors.New("a webhook rule cannot run in a simulation")
	isHook := func(r jobrouter.RouterRule) bool { _, ok := r.(jobrouter.WebhookRule); return ok }
	if isHook(p.PrioritizationRule) {
		return &FieldError{Path: path + ".prioritizationRule", Msg: bad.Error()}
	}
	for i, a := range p.QueueSelectorAttachments {
		ap := fmt.Sprintf("%s.queueSelectorAttachments[%d]", path, i)
		switch a := a.(type) {
		case jobrouter.ConditionalQueueSelectorAttachment:
			if isHook(a.Condition) {
				return &FieldError{Path: ap + ".condition", Msg: bad.Error()}
			}
		case jobrouter.RuleEngineQueueSelectorAttachment:
			if isHook(a.Rule) {
				return &FieldError{Path: ap + ".rule", Msg: bad.Error()}
			}
		}
	}
	for i, a := range p.WorkerSelectorAttachments {
		ap := fmt.Sprintf("%s.workerSelectorAttachments[%d]", path, i)
		switch a := a.(type) {
		case jobrouter.ConditionalWorkerSelectorAttachment:
			if isHook(a.Condition) {
				return &FieldError{Path: ap + ".condition", Msg: bad.Error()}
			}
		case jobrouter.RuleEngineWorkerSelectorAttachment:
			if isHook(a.Rule) {
				return &FieldError{Path: ap + ".rule", Msg: bad.Error()}
			}
		}
	}
	return nil
}
