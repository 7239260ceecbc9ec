package engine

import "time"

// UpsertDistributionPolicy creates or replaces a distribution policy. Queues using it
// switch to the new settings at once; open offers keep their expiry.
// Errors: CodeInvalid.
func (e *Engine) UpsertDistributionPolicy(now time.Time, p DistributionPolicy) (DistributionPolicy, error) {
	e.at(now)
	const ent = "distribution policy"
	if err := e.validID(ent, p.ID); err != nil {
		return DistributionPolicy{}, err
	}
	if p.OfferExpiresAfter <= 0 {
		return DistributionPolicy{}, invalid(ent, p.ID, "OfferExpiresAfter must be positive")
	}
	m := &p.Mode
	switch m.Kind {
	case LongestIdle, RoundRobin, BestWorker:
	default:
		return DistributionPolicy{}, invalid(ent, p.ID, "a distribution mode is required")
	}
	if m.MinConcurrentOffers < 0 || m.MaxConcurrentOffers < 0 {
		return DistributionPolicy{}, invalid(ent, p.ID, "concurrent offer counts must not be negative")
	}
	if m.MinConcurrentOffers == 0 {
		m.MinConcurrentOffers = 1
	}
	if m.MaxConcurrentOffers == 0 {
		m.MaxConcurrentOffers = 1
	}
	if m.MinConcurrentOffers > m.MaxConcurrentOffers {
		return DistributionPolicy{}, invalid(ent, p.ID, "MinConcurrentOffers exceeds MaxConcurrentOffers")
	}
	if m.BatchSize < 0 {
		return DistributionPolicy{}, invalid(ent, p.ID, "BatchSize must not be negative")
	}
	if m.Kind == BestWorker && m.BatchSize == 0 {
		m.BatchSize = 20
	}
	cp := p
	e.policies[p.ID] = &cp
	for _, qid := range sortedKeys(e.queues) {
		if q := e.queues[qid]; q.DistributionPolicyID == p.ID {
			q.pol = &cp
			syncByID(q)
			e.rebuildQueue(q)
		}
	}
	e.match(e.now)
	return cp, nil
}

// GetDistributionPolicy returns a policy. Errors: CodeNotFound.
func (e *Engine) GetDistributionPolicy(id string) (DistributionPolicy, error) {
	p, ok := e.policies[id]
	if !ok {
		return DistributionPolicy{}, notFound("distribution policy", id)
	}
	return *p, nil
}

// ListDistributionPolicies returns policies sorted by ID. O(n log n).
func (e *Engine) ListDistributionPolicies(pg Page) []DistributionPolicy {
	return listPage(e.policies, pg, func(p *DistributionPolicy) DistributionPolicy { return *p })
}

// DeleteDistributionPolicy deletes a policy no queue uses.
// Errors: CodeNotFound, CodeConflict (a queue uses it).
func (e *Engine) DeleteDistributionPolicy(now time.Time, id string) error {
	e.at(now)
	if _, ok := e.policies[id]; !ok {
		return notFound("distribution policy", id)
	}
	if qid := e.queueWhere(func(q *queueState) bool { return q.DistributionPolicyID == id }); qid != "" {
		return conflict("distribution policy", id, "used by queue "+quote(qid))
	}
	delete(e.policies, id)
	return nil
}

// listPage returns the values of m sorted by key, paged by pg, each through view.
// O(n log n): policies and queues are few.
func listPage[V, T any](m map[string]V, pg Page, view func(V) T) []T {
	var out []T
	for _, id := range page(sortedKeys(m), pg.After, pg.Limit) {
		out = append(out, view(m[id]))
	}
	return out
}

// queueWhere returns the ID of the first queue, by ID, that pred accepts, or "".
func (e *Engine) queueWhere(pred func(*queueState) bool) string {
	for _, id := range sortedKeys(e.queues) {
		if pred(e.queues[id]) {
			return id
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return page(ids, "", 0)
}
