package engine

import (
	"slices"
	"time"

	"github.com/openjobrouter/jobrouter/internal/deadline"
)

// DefaultMaxJobAge is the age at which a job that is not terminal is cancelled when
// Config.MaxJobAge is zero **(ours: configurable)**.
const DefaultMaxJobAge = 90 * 24 * time.Hour

// ExpiredCode is the disposition code of a job cancelled for reaching its maximum age.
const ExpiredCode = "Expired"

func selectorKey(jobID string) deadline.Key { return deadline.Key{Kind: dlSelectorExpiry, ID: jobID} }
func maxAgeKey(jobID string) deadline.Key   { return deadline.Key{Kind: dlMaxAge, ID: jobID} }

// startJobClocks starts the clocks of a job just created: each requested selector
// with an ExpiresAfter expires at now + ExpiresAfter, and the job itself expires at
// CreatedAt + the maximum age. It gives the job its creation number (jobState.seq):
// the heap's next push sequence number, reserved where the maximum age's deadline
// was once added to the heap, after the selectors', so that deadlines due at one
// instant still fire in that order.
func (e *Engine) startJobClocks(now time.Time, j *jobState) {
	startSelectorClocks(now, j.requested(), nil)
	e.armSelectorExpiry(j)
	j.seq = e.deadlines.Reserve()
	e.startMaxAge(j)
}

func (e *Engine) maxJobAge() time.Duration {
	if e.cfg.MaxJobAge == 0 {
		return DefaultMaxJobAge
	}
	return e.cfg.MaxJobAge
}

// startSelectorClocks sets, in place, the expiry of selectors attached to a job at
// now: requested ones at creation or update, attached ones at classification or by a
// manual reclassify action (the caller then recomputes the active requirements and calls
// armSelectorExpiry). A selector identical (sameSelector) to one in old, which it
// replaces, keeps that one's ExpiresAt and status (each old selector is inherited at
// most once); any other selector with an ExpiresAfter expires at now + ExpiresAfter.
// Selectors without an ExpiresAfter never expire. O(len(sels) × len(old)).
func startSelectorClocks(now time.Time, sels, old []Selector) {
	used := make([]bool, len(old))
	for i := range sels {
		s := &sels[i]
		if s.ExpiresAfter <= 0 {
			// Written only if it carries an expiry state: a selector set shared by
			// jobs (selset.go), which never does, is never written to.
			if s.Expired || !s.ExpiresAt.IsZero() {
				s.Expired, s.ExpiresAt = false, time.Time{}
			}
			continue
		}
		s.Expired, s.ExpiresAt = false, time.Time{}
		inherited := false
		for k, o := range old {
			if !used[k] && sameSelector(*s, o) {
				used[k] = true
				s.Expired, s.ExpiresAt = o.Expired, o.ExpiresAt
				inherited = true
				break
			}
		}
		if !inherited {
			s.ExpiresAt = now.Add(s.ExpiresAfter)
		}
	}
}

// selectorsChanged brings a non-terminal job's matching state in line with its
// selectors: active requirements, queue order and the expiry deadline.
func (e *Engine) selectorsChanged(j *jobState) {
	j.refreshReqs()
	if j.inQueue != nil && j.keyExpedite != expedite(j) {
		e.requeue(j)
	}
	e.gainJob(j)
	e.armSelectorExpiry(j)
}

// armSelectorExpiry points the job's one selector-expiry deadline at the earliest
// ExpiresAt among its unexpired selectors, or cancels it when there is none or the
// job is terminal. O(selectors + log deadlines).
//
// **(ours)** A selector's clock runs in every non-terminal status: while the job is
// scheduled, waiting for activation, assigned or completed it still expires at its
// ExpiresAt (Status expired, JobWorkerSelectorsExpired); that only stops it from
// constraining a later match. Azure documents ExpiresAt as a fixed instant, not a
// budget of queued time.
func (e *Engine) armSelectorExpiry(j *jobState) {
	key := selectorKey(j.ID)
	next, ok := earliestExpiry(j)
	if !ok || j.st.terminal() {
		e.deadlines.Cancel(key)
		return
	}
	if cur, held := e.deadlines.Get(key); held && cur.Equal(next) {
		return // keep its place among equal deadlines
	}
	e.deadlines.Set(key, next)
}

func earliestExpiry(j *jobState) (time.Time, bool) {
	var next time.Time
	for _, list := range [][]Selector{j.requested(), j.cold().AttachedWorkerSelectors} {
		for _, s := range list {
			if s.ExpiresAfter > 0 && !s.Expired && (next.IsZero() || s.ExpiresAt.Before(next)) {
				next = s.ExpiresAt
			}
		}
	}
	return next, !next.IsZero()
}

// expireSelectors expires, at t, every unexpired selector of the job due at or
// before t: their Status becomes expired, they stop constraining matching, an
// expedite selector among them no longer puts the job first, and one
// JobWorkerSelectorsExpired names them (requested and attached apart). Matching runs
// again. The deadline moves to the next selector to expire.
func (e *Engine) expireSelectors(t time.Time, jobID string) {
	j, _ := e.jobs.get(jobID)
	if j == nil || j.st.terminal() {
		return
	}
	var req, att []Selector
	// Events and views share the stored slices: replace them, never write into them.
	requested, req := expireDue(t, j.requested())
	j.setRequested(requested)
	if j.x != nil {
		j.x.AttachedWorkerSelectors, att = expireDue(t, j.x.AttachedWorkerSelectors)
	}
	if len(req) > 0 || len(att) > 0 {
		ev := e.jobEvent(EvJobWorkerSelectorsExpired, j)
		e.emitWith(t, ev, &EventExtra{RequestedSelectors: req, AttachedSelectors: att})
	}
	e.selectorsChanged(j)
}

// expireDue returns list with the selectors due at t marked expired (a new slice
// when any is), and the ones it expired.
func expireDue(t time.Time, list []Selector) (out, expired []Selector) {
	out = list
	for i, s := range list {
		if s.ExpiresAfter <= 0 || s.Expired || s.ExpiresAt.After(t) {
			continue
		}
		if len(expired) == 0 {
			out = slices.Clone(list)
		}
		out[i].Expired = true
		expired = append(expired, out[i])
	}
	return out, expired
}

// expireJob cancels, at t, a job that reached its maximum age, exactly as CancelJob
// does, with disposition code "Expired" **(ours: Config.MaxJobAge)**.
func (e *Engine) expireJob(t time.Time, jobID string) {
	j, _ := e.jobs.get(jobID)
	if j == nil || j.st.terminal() {
		return
	}
	e.cancel(t, j, ExpiredCode, "")
}
