package engine

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// checkLabelSet verifies that w's labels are the interned set of their key, which
// never holds "Id", with keys sorted and unique.
func (e *Engine) checkLabelSet(w *workerState) error {
	s := w.labels
	switch {
	case s == nil:
		return fmt.Errorf("worker %q: no label set", w.ID)
	case e.labelSets[s.key] != s:
		return fmt.Errorf("worker %q: label set not the interned one", w.ID)
	case labelKey(&s.Set) != s.key:
		return fmt.Errorf("worker %q: label set key %q, want %q", w.ID, s.key, labelKey(&s.Set))
	}
	p := s.Pairs()
	for i := range p {
		if p[i].Key == "Id" || i > 0 && p[i-1].Key >= p[i].Key {
			return fmt.Errorf("worker %q: label set holds Id or is not sorted", w.ID)
		}
	}
	return nil
}

// CheckIndexes verifies the matching indexes against a recomputation from the
// stored state, and that the state is stable (no queued job could take an offer,
// by a brute-force scan of every listener). It returns the first violation found.
// It is for tests: O(jobs × workers). With Config.Checks the engine calls it after
// every matching pass and panics on a violation.
func (e *Engine) CheckIndexes() error {
	free := 0
	members := map[*workerClass]int{}
	freeMembers := map[*workerClass]int{}
	holders := map[*labelSet]int{}
	var prev *workerState
	for _, id := range sortedKeys(e.workers) {
		w := e.workers[id]
		if prev != nil && prev.rank > w.rank {
			return fmt.Errorf("worker %q: rank %d after %q's %d: ranks must order as IDs do", id, w.rank, prev.ID, prev.rank)
		}
		prev = w
		if err := e.checkLabelSet(w); err != nil {
			return err
		}
		holders[w.labels]++
		if err := e.checkHeld(w); err != nil {
			return err
		}
		if w.offerable() != w.inFree {
			return fmt.Errorf("worker %q: offerable %v but in free trees %v", id, w.offerable(), w.inFree)
		}
		if len(w.classes) != len(w.Queues) {
			return fmt.Errorf("worker %q: %d classes for %d queues", id, len(w.classes), len(w.Queues))
		}
		sig, _ := workerSig(w)
		for i, c := range w.classes {
			q := e.queues[w.Queues[i]]
			if c.sig != sig || q.classes[sig] != c || c.q != q {
				return fmt.Errorf("worker %q: wrong class in queue %q", id, w.Queues[i])
			}
			members[c]++
			if w.inFree {
				freeMembers[c]++
			}
			inIdle := w.inFree
			if q.classTrees {
				_, inIdle = c.free.get(w)
			}
			inID := w.inFree
			if c.freeByID != nil {
				_, inID = c.freeByID.get(w)
			}
			if inIdle != w.inFree || inID != w.inFree {
				return fmt.Errorf("worker %q: free trees of queue %q disagree (%v, %v, want %v)", id, w.Queues[i], inIdle, inID, w.inFree)
			}
		}
		if w.inFree {
			free++
			if w.ikey != e.idleKey(w.loadRatio(), w.idleSince) {
				return fmt.Errorf("worker %q: stale LongestIdle key", id)
			}
		}
	}
	if free != e.freeWorkers {
		return fmt.Errorf("%d free workers counted, %d recorded", free, e.freeWorkers)
	}
	// Every held set is interned (checkLabelSet); every interned set is held, by as
	// many workers as it counts.
	for _, key := range sortedKeys(e.labelSets) {
		if s := e.labelSets[key]; s.refs <= 0 || s.refs != holders[s] {
			return fmt.Errorf("label set %q: %d references counted, %d holders", key, s.refs, holders[s])
		}
	}
	for _, qid := range sortedKeys(e.queues) {
		q := e.queues[qid]
		bp := e.bypass(q)
		if rr := q.pol.Mode.Kind == RoundRobin; rr != (q.freeByID != nil) {
			return fmt.Errorf("queue %q: RoundRobin %v but ID-ordered free tree %v", qid, rr, q.freeByID != nil)
		}
		if q.freeByID != nil && !q.classTrees {
			return fmt.Errorf("queue %q: RoundRobin without class trees", qid)
		}
		classFree := 0
		for _, c := range q.classList {
			classFree += c.nFree
			if c.nFree != freeMembers[c] {
				return fmt.Errorf("queue %q: class counts %d free members, %d found", qid, c.nFree, freeMembers[c])
			}
			if q.classTrees && c.free.len() != c.nFree || !q.classTrees && c.free.len() != 0 {
				return fmt.Errorf("queue %q: class tree holds %d of %d free members (class trees %v)", qid, c.free.len(), c.nFree, q.classTrees)
			}
		}
		byID := classFree
		if q.freeByID != nil {
			byID = q.freeByID.len()
		}
		if q.free.len() != classFree || byID != classFree {
			return fmt.Errorf("queue %q: %d free listeners in its classes, queue trees hold %d (LongestIdle) and %d (ID)", qid, classFree, q.free.len(), byID)
		}
		for _, c := range q.classList {
			if members[c] != c.members || c.members == 0 {
				return fmt.Errorf("queue %q: class with %d members recorded, %d found", qid, c.members, members[c])
			}
			if (c.freeByID != nil) != (q.freeByID != nil) {
				return fmt.Errorf("queue %q: class has an ID-ordered free tree %v, queue %v", qid, c.freeByID != nil, q.freeByID != nil)
			}
			if c.freeByID != nil && c.free.len() != c.freeByID.len() {
				return fmt.Errorf("queue %q: class free trees differ in size", qid)
			}
		}
		if len(q.classList) != len(q.classes) || len(q.groupList) != len(q.groups) {
			return fmt.Errorf("queue %q: class or group list and map differ", qid)
		}
		grouped := 0
		empty := 0
		for _, g := range q.groupList {
			grouped += g.jobs.Len()
			if g.empty != (g.jobs.Len() == 0) {
				return fmt.Errorf("queue %q: group empty flag wrong", qid)
			}
			if g.empty {
				empty++
			}
			for _, c := range q.classList {
				want := linked(c, g, bp)
				has := false
				for _, x := range g.classes {
					has = has || x == c
				}
				if want != has {
					return fmt.Errorf("queue %q: link between class and group is %v, want %v", qid, has, want)
				}
			}
		}
		if empty != q.emptyGroups {
			return fmt.Errorf("queue %q: %d empty groups recorded, %d found", qid, q.emptyGroups, empty)
		}
		hungry := 0
		var err error
		var prev *jobState
		q.order.ascend(func(j *jobState) bool {
			if j.inQueue != q {
				err = fmt.Errorf("job %q: in the order of queue %q but inQueue %q", j.ID, qid, j.queuedIn())
				return false
			}
			// The key the tree was built with is the job's key now, and the tree is
			// in that order (a key changed in place would break both).
			if j.keyPriority != j.Priority || j.keyExpedite != expedite(j) {
				err = fmt.Errorf("job %q: queued with key priority %d, expedite %v; has %d, %v",
					j.ID, j.keyPriority, j.keyExpedite, j.Priority, expedite(j))
				return false
			}
			if prev != nil && !lessJob(prev, j) {
				err = fmt.Errorf("queue %q: job %q after %q against queue order", qid, j.ID, prev.ID)
				return false
			}
			prev = j
			h := e.hungry(j)
			if h != (j.group != nil) {
				err = fmt.Errorf("job %q: hungry %v but grouped %v", j.ID, h, j.group != nil)
				return false
			}
			if !h {
				return true
			}
			hungry++
			if _, ok := j.group.jobs.Get(j); !ok || j.group.q != q || q.groups[j.group.sig] != j.group ||
				j.group.channel != j.ChannelID() || !sameReqs(j.group.reqs, j.reqs()) {
				err = fmt.Errorf("job %q: wrong job group", j.ID)
				return false
			}
			err = e.checkStable(j, q)
			return err == nil
		})
		if err != nil {
			return err
		}
		if grouped != hungry {
			return fmt.Errorf("queue %q: %d jobs in groups, %d hungry", qid, grouped, hungry)
		}
	}
	if err := e.jobs.check(); err != nil {
		return err
	}
	active := 0
	sharers := map[*jobSelectors]int{}
	for _, j := range e.jobs.sorted() {
		id := j.ID
		if s := j.sel; s != nil && s.shared != nil {
			if err := e.checkInterned(j); err != nil {
				return err
			}
			sharers[s]++
		}
		in, out := &e.activeIDs, &e.doneIDs
		if j.st.terminal() {
			in, out = out, in
		}
		if got, ok := in.get(j); !ok || got != j {
			return fmt.Errorf("job %q: %s, but not in its job index", id, j.Status())
		}
		if _, ok := out.get(j); ok {
			return fmt.Errorf("job %q: %s, but in the other job index", id, j.Status())
		}
		if !j.st.terminal() {
			active++
		}
		if err := e.checkJobOffers(j); err != nil {
			return err
		}
		if q := j.inQueue; q != nil {
			if e.queues[q.ID] != q {
				return fmt.Errorf("job %q: queued in a missing queue %q", id, q.ID)
			} else if !q.order.has(j) {
				return fmt.Errorf("job %q: inQueue %q but not in its order", id, q.ID)
			}
		} else if j.group != nil {
			return errors.New("job " + quote(id) + ": grouped but not queued")
		}
	}
	// Every shared selector record is interned, in the bucket of its selectors'
	// hash, and counts as many jobs as share it; every interned record is shared.
	for _, h := range slices.Sorted(maps.Keys(e.selSets.m)) {
		for rec := e.selSets.m[h]; rec != nil; rec = rec.next {
			s := &rec.jobSelectors
			if s.shared != rec || rec.set != &e.selSets || rec.hash != h || rec.refs <= 0 || rec.refs != sharers[s] ||
				e.selSets.hash(s.requested) != h {
				return fmt.Errorf("interned selectors %v: not interned as such, or %d sharers found for the count", s.requested, sharers[s])
			}
		}
	}
	if len(sharers) != e.selSets.len() {
		return fmt.Errorf("%d shared selector records, %d interned", len(sharers), e.selSets.len())
	}
	if e.activeIDs.len() != active || e.doneIDs.len() != e.jobs.len()-active {
		return fmt.Errorf("job indexes hold %d active and %d terminal jobs, want %d and %d", e.activeIDs.len(), e.doneIDs.len(), active, e.jobs.len()-active)
	}
	if !reflect.ValueOf(noExtra).IsZero() {
		return errors.New("the shared zero jobExtra was written to")
	}
	if !reflect.ValueOf(noAssignments).IsZero() {
		return errors.New("the shared zero jobAssignments was written to")
	}
	if err := e.checkSpareOffers(); err != nil {
		return err
	}
	return e.checkAges()
}

// checkSpareOffers verifies the ended offer records kept for reuse: at most
// maxSpareOffers, each cleared, so that none is still an open offer or keeps a job
// or worker alive. O(spare records).
func (e *Engine) checkSpareOffers() error {
	if e.spareOffers.Len() > maxSpareOffers {
		return fmt.Errorf("%d spare offer records kept, more than %d", e.spareOffers.Len(), maxSpareOffers)
	}
	for _, o := range e.spareOffers.All() {
		if *o != (offerState{}) {
			return fmt.Errorf("spare offer record %q is not cleared", o.id)
		}
	}
	return nil
}

// checkJobOffers verifies j's chain of open offers: its links, its length against
// its count, each offer the job's, open (in its worker's chain, with its expiry
// pending) and on the job's channel. A terminal job has none.
func (e *Engine) checkJobOffers(j *jobState) error {
	n := j.offers.check()
	if n < 0 {
		return fmt.Errorf("job %q: the links of its offer chain disagree", j.ID)
	}
	if n != int(j.nOffers) || n > 0 && j.st.terminal() {
		return fmt.Errorf("job %q (%s): %d offers listed, %d counted", j.ID, j.Status(), n, j.nOffers)
	}
	for o := j.offers.first; o != nil; o = o.jlinks.next {
		if o.job != j || o.worker.offerByID(o.id) != o || !e.deadlines.HoldsIn(&o.dlEntry) || o.channel != j.channel {
			return fmt.Errorf("job %q: offer %q is another job's, or not open", j.ID, o.id)
		}
	}
	return nil
}

// checkStable fails when the hungry job j could take an offer: a brute-force count of
// its eligible workers among the queue's listeners.
func (e *Engine) checkStable(j *jobState, q *queueState) error {
	mode := e.policies[q.DistributionPolicyID].Mode
	n := 0
	q.eachListener(func(w *workerState) bool {
		if e.eligible(w, j, mode.BypassSelectors) {
			n++
		}
		return true
	})
	if n > 0 && int(j.nOffers)+n >= mode.MinConcurrentOffers {
		return fmt.Errorf("job %q: %d eligible workers left unoffered (matching missed it)", j.ID, n)
	}
	return nil
}

// checkHeld verifies what w holds (workerindex.go): its chains of offers and
// holdings against their links and counts, each offer's worker and pending expiry,
// its used capacity against their costs, and its workerIndex — present or absent as
// their number requires, and holding exactly them, counted by channel.
func (e *Engine) checkHeld(w *workerState) error {
	if n := w.offers.check(); n != int(w.nOffers) {
		return fmt.Errorf("worker %q: offer chain of %d (-1: broken links), %d counted", w.ID, n, w.nOffers)
	}
	if n := w.holds.check(); n != int(w.nHolds) {
		return fmt.Errorf("worker %q: holding chain of %d (-1: broken links), %d counted", w.ID, n, w.nHolds)
	}
	used := 0
	onChan := map[string]int{}
	for o := w.offers.first; o != nil; o = o.next {
		if o.worker != w || !e.deadlines.HoldsIn(&o.dlEntry) {
			return fmt.Errorf("worker %q: offer %q of another worker, or without its expiry", w.ID, o.id)
		}
		if !o.job.hasOffer(o) {
			return fmt.Errorf("worker %q: offer %q is not among job %q's offers", w.ID, o.id, o.job.ID)
		}
		used += o.cost
		onChan[o.channel.String()]++
	}
	for h := w.holds.first; h != nil; h = h.next {
		used += h.cost
		onChan[h.channelID]++
	}
	if used != w.used {
		return fmt.Errorf("worker %q: capacity used %d, its offers and holdings cost %d", w.ID, w.used, used)
	}
	x := w.many
	switch {
	case x == nil && w.held() >= e.cfg.IndexHeldAt:
		return fmt.Errorf("worker %q: %d offers and holdings and no index", w.ID, w.held())
	case x == nil:
		return nil
	case w.held() <= e.cfg.IndexHeldAt/2:
		return fmt.Errorf("worker %q: an index for %d offers and holdings", w.ID, w.held())
	case len(x.offers) != int(w.nOffers) || len(x.holds) != int(w.nHolds):
		return fmt.Errorf("worker %q: %d offers and %d holdings indexed, %d and %d held", w.ID, len(x.offers), len(x.holds), w.nOffers, w.nHolds)
	case !maps.Equal(x.onChan, onChan):
		return fmt.Errorf("worker %q: counts by channel %v, want %v", w.ID, x.onChan, onChan)
	}
	for o := w.offers.first; o != nil; o = o.next {
		if x.offers[o.id] != o {
			return fmt.Errorf("worker %q: offer %q not indexed", w.ID, o.id)
		}
	}
	for h := w.holds.first; h != nil; h = h.next {
		if x.holds[holdKey{h.jobID, h.assignmentID}] != h {
			return fmt.Errorf("worker %q: holding of job %q not indexed", w.ID, h.jobID)
		}
	}
	return nil
}

// checkInterned checks a job that shares an interned selector record: the job has
// no attached selectors, and the record holds its requirements as activeReqs makes
// them (a terminal job keeps the shared record, requirements and all, until it is
// deleted).
func (e *Engine) checkInterned(j *jobState) error {
	s := j.sel
	if len(j.cold().AttachedWorkerSelectors) > 0 || !internable(s.requested) {
		return fmt.Errorf("job %q: %s, shares interned selectors it may not", j.ID, j.Status())
	}
	if want := activeReqs(j); !reflect.DeepEqual(s.reqs, want) {
		return fmt.Errorf("job %q: interned requirements %v, want %v", j.ID, s.reqs, want)
	}
	return nil
}
