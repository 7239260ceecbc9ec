package naive

import (
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// UpsertDistributionPolicy creates or replaces a distribution policy. Min and Max
// concurrent offers default to 1, a BestWorker batch size to 20. Queues using the
// policy switch to it at once, and matching runs.
func (r *Router) UpsertDistributionPolicy(now time.Time, p engine.DistributionPolicy) (engine.DistributionPolicy, error) {
	r.at(now)
	const ent = "distribution policy"
	if err := r.validID(ent, p.ID); err != nil {
		return engine.DistributionPolicy{}, err
	}
	m := &p.Mode
	switch {
	case p.OfferExpiresAfter <= 0:
		return engine.DistributionPolicy{}, invalid(ent, p.ID, "OfferExpiresAfter must be positive")
	case m.Kind != engine.LongestIdle && m.Kind != engine.RoundRobin && m.Kind != engine.BestWorker:
		return engine.DistributionPolicy{}, invalid(ent, p.ID, "unknown mode")
	case m.MinConcurrentOffers < 0 || m.MaxConcurrentOffers < 0:
		return engine.DistributionPolicy{}, invalid(ent, p.ID, "negative concurrent offers")
	}
	if m.MinConcurrentOffers == 0 {
		m.MinConcurrentOffers = 1
	}
	if m.MaxConcurrentOffers == 0 {
		m.MaxConcurrentOffers = 1
	}
	switch {
	case m.MinConcurrentOffers > m.MaxConcurrentOffers:
		return engine.DistributionPolicy{}, invalid(ent, p.ID, "MinConcurrentOffers exceeds MaxConcurrentOffers")
	case m.BatchSize < 0:
		return engine.DistributionPolicy{}, invalid(ent, p.ID, "negative BatchSize")
	}
	if m.Kind == engine.BestWorker && m.BatchSize == 0 {
		m.BatchSize = 20
	}
	r.policies[p.ID] = p
	r.match(r.now)
	return p, nil
}

// GetDistributionPolicy returns a policy.
func (r *Router) GetDistributionPolicy(id string) (engine.DistributionPolicy, error) {
	p, ok := r.policies[id]
	if !ok {
		return engine.DistributionPolicy{}, notFound("distribution policy", id)
	}
	return p, nil
}

// ListDistributionPolicies returns policies sorted by ID.
func (r *Router) ListDistributionPolicies(pg engine.Page) []engine.DistributionPolicy {
	var out []engine.DistributionPolicy
	for _, id := range pageIDs(sortedKeys(r.policies), pg.After, pg.Limit) {
		out = append(out, r.policies[id])
	}
	return out
}

// DeleteDistributionPolicy deletes a policy that no queue uses.
func (r *Router) DeleteDistributionPolicy(now time.Time, id string) error {
	r.at(now)
	if _, ok := r.policies[id]; !ok {
		return notFound("distribution policy", id)
	}
	for _, q := range r.queues {
		if q.DistributionPolicyID == id {
			return conflict("distribution policy", id, "used by queue "+q.ID)
		}
	}
	delete(r.policies, id)
	return nil
}
