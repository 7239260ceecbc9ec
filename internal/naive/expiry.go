package naive

import (
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
)

// startSelectorClocks sets, in place, the status and ExpiresAt of selectors given to
// a job at now. A selector identical to one of old (the selectors it replaces) keeps
// that one's clock, each old selector lending its clock once; any other selector with
// an ExpiresAfter expires at now + ExpiresAfter.
func startSelectorClocks(now time.Time, sels, old []engine.Selector) {
	lent := make([]bool, len(old))
	for i := range sels {
		s := &sels[i]
		s.Expired, s.ExpiresAt = false, time.Time{}
		if s.ExpiresAfter <= 0 {
			continue
		}
		s.ExpiresAt = now.Add(s.ExpiresAfter)
		for k, o := range old {
			if !lent[k] && sameSelector(*s, o) {
				lent[k] = true
				s.Expired, s.ExpiresAt = o.Expired, o.ExpiresAt
				break
			}
		}
	}
}

// armSelectorExpiry points the job's selector-expiry deadline at the earliest
// ExpiresAt of its unexpired selectors. A deadline already there keeps its place
// among equal deadlines; none is kept for a terminal job.
func (r *Router) armSelectorExpiry(j *job) {
	var next time.Time
	for _, s := range slices.Concat(j.RequestedWorkerSelectors, j.AttachedWorkerSelectors) {
		if s.ExpiresAfter > 0 && !s.Expired && (next.IsZero() || s.ExpiresAt.Before(next)) {
			next = s.ExpiresAt
		}
	}
	switch {
	case next.IsZero() || j.Status.Terminal():
		j.selectorExpiry.set = false
	case j.selectorExpiry.set && j.selectorExpiry.at.Equal(next):
	default:
		r.setDeadline(&j.selectorExpiry, next)
	}
}

// expireSelectors marks expired, at t, every selector of the job due by t, and
// announces them in one JobWorkerSelectorsExpired (requested and attached apart).
// They no longer constrain matching nor expedite the job.
func (r *Router) expireSelectors(t time.Time, j *job) {
	if j.Status.Terminal() {
		return
	}
	var req, att []engine.Selector
	j.RequestedWorkerSelectors, req = expireDue(t, j.RequestedWorkerSelectors)
	j.AttachedWorkerSelectors, att = expireDue(t, j.AttachedWorkerSelectors)
	if len(req) > 0 || len(att) > 0 {
		ev := r.jobEvent(engine.EvJobWorkerSelectorsExpired, j)
		ev.Extra = &engine.EventExtra{RequestedSelectors: req, AttachedSelectors: att}
		r.emit(t, ev)
	}
	r.armSelectorExpiry(j)
}

// expireDue returns a copy of list with the selectors due at t marked expired (list
// itself when none is due: events may share it), and the ones it expired.
func expireDue(t time.Time, list []engine.Selector) (out, expired []engine.Selector) {
	out = list
	for i, s := range list {
		if s.ExpiresAfter <= 0 || s.Expired || s.ExpiresAt.After(t) {
			continue
		}
		if expired == nil {
			out = slices.Clone(list)
		}
		out[i].Expired = true
		expired = append(expired, out[i])
	}
	return out, expired
}
