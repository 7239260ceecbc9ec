package engine

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/google/btree"

	"github.com/openjobrouter/jobrouter/internal/match"
)

// The matching indexes.
//
// Within each queue, workers are grouped into classes and queued jobs into groups:
//
//   - A worker class holds the listeners of the queue whose labels (all but "Id")
//     and channel IDs are equal, so that any selector that does not name "Id" holds
//     for all of them or for none. Equal labels are one interned set (labelset.go),
//     so a class is keyed by that set and the channel IDs. It keeps its offerable members (active, available,
//     below MaxConcurrentOffers, with capacity left on some channel) in a B-tree in
//     LongestIdle order (load ratio, idle since, ID) and, while its queue's policy is
//     RoundRobin, in a second one by ID (syncByID).
//   - A job group holds the queue's hungry jobs (queued, with fewer open offers than
//     the queue's MaxConcurrentOffers) that share a channel and active requirements,
//     in queue order (match.Less).
//
// A class and a group are linked when the class's members may be eligible for the
// group's jobs: the class has the group's channel and the group's requirements (those
// not on "Id") hold for the class's labels, or the queue's policy bypasses selectors.
// The links are an over-approximation that only prunes: every offer is still made
// only to a worker that the full eligibility rule (Engine.eligible) accepts.
//
// The indexes are maintained eagerly by placeWorker/refreshWorker and refreshJob at
// every change of the state they summarise; CheckIndexes verifies them against a
// recomputation (tests call it after every step).

type workerClass struct {
	q        *queueState
	sig      classSig
	labels   *labelSet // the members' labels, without "Id"
	channels []string  // channel IDs, sorted
	members  int
	nFree    int         // offerable members
	free     *workerTree // offerable members, LongestIdle order; empty unless q.classTrees
	freeByID *workerTree // offerable members, by ID; nil unless q.freeByID is not
	groups   []*jobGroup // linked groups, in link order
}

type jobGroup struct {
	q       *queueState
	sig     string
	channel string
	reqs    []match.Requirement      // the members' active requirements
	jobs    *btree.BTreeG[*jobState] // hungry members, in queue order
	classes []*workerClass           // linked classes, in link order
	pass    uint64                   // the matching pass that activated it last
	acts    []*workerState           // that pass's dirty workers linked to it
	empty   bool                     // counted in queueState.emptyGroups
}

// wkey is a worker's place in LongestIdle order (with its ID last): its load ratio
// and the instant it became idle, encoded by Engine.idleKey so that ordering two
// keys is integer work. The order is time.Time.Compare's: by monotonic readings
// when both instants carry one, by wall-clock instant otherwise. That holds for
// every instant whose Unix seconds fit an int64 (all from year 1 on; the engine's
// time never goes earlier: Engine.at) and for monotonic readings less than 292
// years apart (see idleKey). Comparing the time.Time values themselves, both
// decoded at every step of a B-tree search, was about a tenth of the engine's time
// in B1 with 10,000 workers. A key is as large as the time.Time it replaces.
type wkey struct {
	load    float64
	mono    int64 // with hasMono: the monotonic reading less Engine.monoRef's, in nanoseconds
	sec     int64 // the wall-clock instant: Unix seconds
	nsec    int32 // and nanoseconds within the second
	hasMono bool
}

// idleKey returns the key of a worker with load ratio load, idle since t. The
// first monotonic reading the engine keys becomes the reference the others are
// measured from: time.Time.Sub of two monotonic readings is their exact difference
// while that is within ±292 years. Readings of one process are: a time keeps its
// monotonic reading only while its wall time is between 1885 and 2157 (Add drops
// it outside), so two readings are further apart only when the wall clock was
// stepped by decades between them; such readings would tie with each other,
// leaving the order among them to their IDs. O(1).
func (e *Engine) idleKey(load float64, t time.Time) wkey {
	k := wkey{load: load, sec: t.Unix(), nsec: int32(t.Nanosecond())}
	if t != t.Round(0) { // only a monotonic reading is stripped by Round(0)
		if e.monoRef.IsZero() {
			e.monoRef = t
		}
		k.mono, k.hasMono = int64(t.Sub(e.monoRef)), true
	}
	return k
}

// lessIdle orders workers by load ratio, then idle instant as time.Time.Compare
// orders them (monotonic readings when both keys carry one, wall instants
// otherwise), then ID: by rank first, which orders as the IDs do (rank.go), so that
// the usual tie, on a clock that did not move, costs no string comparison. Written
// out rather than through a comparison helper: the free trees call it at every
// step of every search. O(1).
func lessIdle(a, b *workerState) bool {
	ka, kb := &a.ikey, &b.ikey
	switch {
	case ka.load != kb.load:
		return ka.load < kb.load
	case ka.hasMono && kb.hasMono:
		if ka.mono != kb.mono {
			return ka.mono < kb.mono
		}
	case ka.sec != kb.sec:
		return ka.sec < kb.sec
	case ka.nsec != kb.nsec:
		return ka.nsec < kb.nsec
	}
	if a.rank != b.rank { // orders as the IDs do (rank.go)
		return a.rank < b.rank
	}
	return a.ID < b.ID
}

func lessID(a, b *workerState) bool { return a.ID < b.ID }

// lessJob orders jobs as match.Less orders their keys (orderKey), without building
// the keys: EnqueuedAt's wall instant is read as integers (enqueuedWall) rather than
// built as a time.Time, whose Round and Add at every step of a B-tree search were a
// twentieth of the engine's instructions in B1. O(1).
func lessJob(a, b *jobState) bool {
	if a.keyExpedite != b.keyExpedite {
		return a.keyExpedite
	}
	if a.keyPriority != b.keyPriority {
		return a.keyPriority > b.keyPriority
	}
	if a.enqDelta == b.enqDelta && a.CreatedAt == b.CreatedAt {
		// The same CreatedAt, to its representation, and the same delta (or both
		// never enqueued): the same EnqueuedAt, whatever it works out to. A tie, as
		// among jobs created together on a clock that did not move between them,
		// found without working out two instants (B1: -3 % of its instructions).
		return a.seq < b.seq
	}
	as, an, aok := a.enqueuedWall()
	bs, bn, bok := b.enqueuedWall()
	if !aok || !bok {
		return match.Less(a.orderKey(), b.orderKey())
	}
	if as != bs {
		return as < bs
	}
	if an != bn {
		return an < bn
	}
	return a.seq < b.seq
}

// groupDegree is a job group's B-tree degree: a group can hold most of a queue of a
// million jobs, and nodes of up to 63 jobs, filled by jobs arriving in order, cost
// about 11 bytes a job less than nodes of 15 (B4). A small group pays for the jobs
// it holds only: a node's slice grows as it fills.
const groupDegree = 32

func newJobTree() *btree.BTreeG[*jobState] { return btree.NewG(groupDegree, lessJob) }

// classSig is the class signature of a worker: its interned labels (the set's key,
// labelKey, encodes the labels but "Id", sorted by key, with typed values; being
// interned, equal labels are one pointer) and its channel IDs, sorted and encoded.
type classSig struct {
	labels   *labelSet
	channels string
}

// workerSig returns w's class signature and its sorted channel IDs.
// O(channels log channels).
func workerSig(w *workerState) (classSig, []string) {
	chans := make([]string, len(w.Channels))
	for i, c := range w.Channels {
		chans[i] = c.ChannelID
	}
	slices.Sort(chans)
	b := make([]byte, 0, 16*len(chans))
	for _, c := range chans {
		b = appendStr(b, c)
	}
	return classSig{labels: w.labels, channels: string(b)}, chans
}

// matchLabels returns the labels c's members share, without "Id" (which differs
// within a class): class-level checks skip requirements on "Id". O(1).
func (c *workerClass) matchLabels() match.WorkerLabels {
	return match.WorkerLabels{Set: &c.labels.Set}
}

// appendGroupSig appends the group signature of a channel and requirements to b.
// O(requirements).
func appendGroupSig(b []byte, channel string, reqs []match.Requirement) []byte {
	b = appendStr(b, channel)
	for _, r := range reqs {
		b = appendStr(b, r.Key)
		b = appendStr(b, string(r.Op))
		b = appendValue(b, r.Value)
	}
	return b
}

// appendStr appends s with its length, so that concatenations are unambiguous.
func appendStr(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// appendValue appends a label value so that two values share an encoding exactly
// when the label operators cannot tell them apart: strings and bools by kind and
// value; numbers by value, an integer (of any type, or a whole float within int64's
// range) as that integer and any other float by its bits — the labels package's own
// exact comparison. So 1 and 1.0 encode alike (a worker changing one for the other
// has not changed its labels, as UpsertWorker sees it), while two large integers
// that round to the same float64 do not.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendStr(append(b, 's'), x)
	case bool:
		if x {
			return append(b, 't')
		}
		return append(b, 'f')
	case nil:
		return append(b, 'n')
	case float64:
		return appendFloat(b, x)
	case float32:
		return appendFloat(b, float64(x))
	}
	if i, ok := intOf(v); ok {
		return append(strconv.AppendInt(append(b, 'i'), i, 10), ';')
	}
	return append(b, '?')
}

func appendFloat(b []byte, f float64) []byte {
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		return append(strconv.AppendInt(append(b, 'i'), int64(f), 10), ';')
	}
	return append(strconv.AppendUint(append(b, 'd'), math.Float64bits(f), 16), ';')
}

// intOf returns an integer label value as int64 (validation rejects a uint64 beyond
// int64's range).
func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		return int64(x), true
	}
	return 0, false
}

// classHolds reports whether reqs hold for a class's labels, skipping those on "Id",
// which differ within a class. O(requirements).
func classHolds(reqs []match.Requirement, l match.WorkerLabels) bool {
	for _, r := range reqs {
		if r.Key == "Id" {
			continue
		}
		if !r.Holds(l) {
			return false
		}
	}
	return true
}

// linked reports whether c's members may be eligible for g's jobs. O(requirements).
func linked(c *workerClass, g *jobGroup, bypass bool) bool {
	if _, ok := slices.BinarySearch(c.channels, g.channel); !ok {
		return false
	}
	return bypass || classHolds(g.reqs, c.matchLabels())
}

func (e *Engine) bypass(q *queueState) bool {
	return q.pol != nil && q.pol.Mode.BypassSelectors
}

// link and unlink maintain the class–group links.
func link(c *workerClass, g *jobGroup) {
	c.groups = append(c.groups, g)
	g.classes = append(g.classes, c)
}

func unlinkAll(c *workerClass) {
	for _, g := range c.groups {
		g.classes = removePtr(g.classes, c)
	}
	c.groups = nil
}

func unlinkGroup(g *jobGroup) {
	for _, c := range g.classes {
		c.groups = removePtr(c.groups, g)
	}
	g.classes = nil
}

func removePtr[T comparable](s []T, x T) []T {
	if i := slices.Index(s, x); i >= 0 {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// relink recomputes every link of q, after a change of its policy. O(classes ×
// groups × requirements).
func (e *Engine) relink(q *queueState) {
	bp := e.bypass(q)
	for _, c := range q.classList {
		c.groups = nil
	}
	for _, g := range q.groupList {
		g.classes = nil
		for _, c := range q.classList {
			if linked(c, g, bp) {
				link(c, g)
			}
		}
	}
}

// offerable reports whether w could take any offer now: active, available, below
// MaxConcurrentOffers, and with capacity left for a job on some channel.
// O(channels).
func (w *workerState) offerable() bool {
	return w.state == phaseActive && w.AvailableForOffers &&
		(w.MaxConcurrentOffers == 0 || int(w.nOffers) < w.MaxConcurrentOffers) && w.hasCapacity("")
}

// placeWorker (re)computes w's classes after it was created or its queues, labels
// or channels changed, or (gone) before it is deleted. O(queues × (log n + links)).
func (e *Engine) placeWorker(w *workerState, gone bool) {
	var sig classSig
	var chans []string
	if !gone {
		// Unchanged classes (the usual update: availability, capacity, tags) keep
		// their place; only the free trees may need the worker's new state.
		sig, chans = workerSig(w)
		if len(w.classes) == len(w.Queues) {
			same := true
			for i, c := range w.classes {
				if c.sig != sig || c.q != e.queues[w.Queues[i]] {
					same = false
					break
				}
			}
			if same {
				e.refreshWorker(w)
				return
			}
		}
	}
	e.unfree(w)
	for _, c := range w.classes {
		c.members--
		if c.members == 0 {
			e.dropClass(c)
		}
	}
	w.classes = w.classes[:0]
	if gone {
		return
	}
	if cap(w.classes) < len(w.Queues) {
		w.classes = make([]*workerClass, 0, len(w.Queues)) // sized exactly
	}
	for _, qid := range w.Queues {
		q := e.queues[qid]
		c := q.classes[sig]
		if c == nil {
			c = &workerClass{q: q, sig: sig, labels: w.labels, channels: chans,
				free: newWorkerTree(lessIdle)}
			if q.freeByID != nil {
				c.freeByID = newWorkerTree(lessID)
			}
			if q.classes == nil {
				q.classes = make(map[classSig]*workerClass)
			}
			q.classes[sig] = c
			q.classList = append(q.classList, c)
			bp := e.bypass(q)
			for _, g := range q.groupList {
				if linked(c, g, bp) {
					link(c, g)
				}
			}
		}
		c.members++
		w.classes = append(w.classes, c)
	}
	e.refreshWorker(w)
}

func (e *Engine) dropClass(c *workerClass) {
	q := c.q
	unlinkAll(c)
	delete(q.classes, c.sig)
	q.classList = removePtr(q.classList, c)
}

// refreshWorker puts w in or out of its classes' free trees, at its current key,
// after any change of its state, capacity, offers, holdings or idle time.
// O(queues × log n): one B-tree update per queue (the queue's LongestIdle tree),
// two once its classes keep trees (ensureClassTrees), four in a RoundRobin queue.
func (e *Engine) refreshWorker(w *workerState) {
	if w.gone {
		return
	}
	ok := w.offerable()
	k := e.idleKey(w.loadRatio(), w.idleSince)
	if w.inFree && (!ok || k != w.ikey) {
		e.unfree(w)
	}
	if ok && !w.inFree {
		w.ikey = k
		for _, c := range w.classes {
			c.nFree++
			c.q.free.insert(w)
			if c.q.classTrees {
				c.free.insert(w)
			}
			if c.freeByID != nil {
				c.freeByID.insert(w)
				c.q.freeByID.insert(w)
			}
		}
		w.inFree = true
		e.freeWorkers++
	}
}

func (e *Engine) unfree(w *workerState) {
	if !w.inFree {
		return
	}
	for _, c := range w.classes {
		c.nFree--
		c.q.free.remove(w)
		if c.q.classTrees {
			c.free.remove(w)
		}
		if c.freeByID != nil {
			c.freeByID.remove(w)
			c.q.freeByID.remove(w)
		}
	}
	w.inFree = false
	e.freeWorkers--
}

// syncByID keeps q's ID-ordered free trees (the queue's and its classes') while its
// policy is RoundRobin, the only mode that reads them, and drops them otherwise, so
// that the other modes pay two B-tree updates per queue for a worker's change
// instead of four. Called whenever q.pol is set. O(1) when the mode keeps to either
// side; O(n log n) for n offerable listeners when q becomes RoundRobin.
func syncByID(q *queueState) {
	rr := q.pol.Mode.Kind == RoundRobin
	switch {
	case rr && q.freeByID == nil:
		ensureClassTrees(q)
		q.freeByID = byIDOf(q.free)
		for _, c := range q.classList {
			c.freeByID = byIDOf(c.free)
		}
	case !rr && q.freeByID != nil:
		q.freeByID = nil
		for _, c := range q.classList {
			c.freeByID = nil
		}
	}
}

// ensureClassTrees gives q's classes their free trees, in LongestIdle order, if
// they have none yet: from then on every change of a listener updates its class's
// tree as well as the queue's. Until then a class counts its free members
// (nFree) but keeps no tree: a queue whose jobs all match every class (none has
// selectors that tell its listeners apart, as in B1) is searched through its own
// tree alone (sources), and its classes' trees would be half of every worker
// change's B-tree work for nothing. Called before anything reads them: sources
// when it picks classes, bestByClass, and syncByID for RoundRobin. Once built they
// stay. O(1) once built; O(n (k + log n)) to build, for n free listeners listening
// on k queues each (the worker's class in q is found among its k).
func ensureClassTrees(q *queueState) {
	if q.classTrees {
		return
	}
	q.classTrees = true
	q.free.ascend(func(w *workerState) bool {
		for _, c := range w.classes {
			if c.q == q {
				c.free.insert(w)
				break
			}
		}
		return true
	})
}

// byIDOf returns a B-tree by ID of the workers in t. O(n log n).
func byIDOf(t *workerTree) *workerTree {
	byID := newWorkerTree(lessID)
	t.ascend(func(w *workerState) bool {
		byID.insert(w)
		return true
	})
	return byID
}

// gainWorker marks w as possibly eligible for more jobs than before: the next
// matching pass looks for jobs for it.
func (e *Engine) gainWorker(w *workerState) {
	e.refreshWorker(w)
	if w.dirty != e.pass+1 {
		w.dirty = e.pass + 1
		e.dirtyWorkers = append(e.dirtyWorkers, w)
	}
}

// gainJob marks j as possibly eligible for more workers than before: the next
// matching pass looks for workers for it. A job that gains twice before that pass is
// listed twice (the pass visits it once: the visit mark it sets on each job it
// visits): a mark of the pass it was listed for would cost every job a word (B4),
// and a job gains a bounded number of times in one call.
func (e *Engine) gainJob(j *jobState) {
	e.refreshJob(j)
	e.dirtyJobs = append(e.dirtyJobs, j)
}

// hungry reports whether j is queued with room for more offers under its queue's
// policy.
func (e *Engine) hungry(j *jobState) bool {
	if j.inQueue == nil || j.st != stQueued {
		return false
	}
	q := j.inQueue
	return q.pol != nil && int(j.nOffers) < q.pol.Mode.MaxConcurrentOffers
}

// refreshJob puts j in or out of its job group after any change of its status,
// queue, channel, requirements or offers. Its key must not have changed while it was
// in a group (requeue takes it out first). O(log n), plus O(classes) when its group
// is new.
func (e *Engine) refreshJob(j *jobState) {
	if !e.hungry(j) {
		e.ungroup(j)
		return
	}
	if g := j.group; g != nil {
		if g.channel == j.ChannelID() && sameReqs(g.reqs, j.reqs()) && g.q == j.inQueue {
			return
		}
		e.ungroup(j)
	}
	q := j.inQueue
	// The signature is built in a scratch buffer: a lookup that finds the group
	// allocates nothing (the compiler does not copy a string(b) map key).
	e.sigBuf = appendGroupSig(e.sigBuf[:0], j.ChannelID(), j.reqs())
	g := q.groups[string(e.sigBuf)]
	if g == nil {
		sig := string(e.sigBuf)
		g = &jobGroup{q: q, sig: sig, channel: j.ChannelID(), reqs: j.reqs(), jobs: newJobTree()}
		if q.groups == nil {
			q.groups = make(map[string]*jobGroup)
		}
		q.groups[sig] = g
		q.groupList = append(q.groupList, g)
		bp := e.bypass(q)
		for _, c := range q.classList {
			if linked(c, g, bp) {
				link(c, g)
			}
		}
	} else if g.empty {
		g.empty = false
		q.emptyGroups--
	}
	g.jobs.ReplaceOrInsert(j)
	j.group = g
}

// ungroup takes j out of its job group. An emptied group is kept for the next job
// like it; empty groups are collected when they outnumber the others. Amortised
// O(log n).
func (e *Engine) ungroup(j *jobState) {
	g := j.group
	if g == nil {
		return
	}
	g.jobs.Delete(j)
	j.group = nil
	if g.jobs.Len() > 0 {
		return
	}
	q := g.q
	g.empty = true
	q.emptyGroups++
	if q.emptyGroups > 64 && q.emptyGroups > len(q.groupList)/2 {
		kept := q.groupList[:0]
		for _, x := range q.groupList {
			if x.empty {
				unlinkGroup(x)
				delete(q.groups, x.sig)
				continue
			}
			kept = append(kept, x)
		}
		clear(q.groupList[len(kept):])
		q.groupList = kept
		q.emptyGroups = 0
	}
}

// sameReqs reports whether a and b are the same requirements as appendGroupSig sees them:
// the same keys and operators, and values that encode alike (1 and 1.0 do). O(len).
func sameReqs(a, b []match.Requirement) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Op != b[i].Op {
			return false
		}
		if a[i].Value != b[i].Value && string(appendValue(nil, a[i].Value)) != string(appendValue(nil, b[i].Value)) {
			return false
		}
	}
	return true
}

// rebuildQueue recomputes the hunger of every job queued in q and every link of q,
// after a change of q's distribution policy or of the policy itself, and asks for a
// full matching pass. O(jobs queued in q × log n + classes × groups).
func (e *Engine) rebuildQueue(q *queueState) {
	q.order.ascend(func(j *jobState) bool {
		e.refreshJob(j)
		return true
	})
	e.relink(q)
	e.dirtyAll = true
}
