// Package engine is the router's core: a pure state machine over jobs, workers,
// queues, policies and offers. It has no goroutines, no locks, no clock and no I/O;
// every command takes the current time as an argument and every state change is
// recorded as an Event, which the caller takes with TakeEvents.
//
// Each command validates everything before it changes anything, so a command that
// returns an error leaves the state as it was (deadlines fired by Advance before the
// command are not part of the command).
package engine

import (
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter/internal/deadline"
	"github.com/openjobrouter/jobrouter/internal/match"
	"github.com/openjobrouter/jobrouter/internal/spares"
)

// Deadline kinds. The order of the values does not matter: equal deadlines fire in
// the order they were set.
const (
	dlOfferExpiry    deadline.Kind = iota + 1
	dlRetryOffer                   // ID: jobID + "\x00" + workerID
	dlCloseAt                      // ID: jobID
	dlSchedule                     // ID: jobID
	dlSelectorExpiry               // ID: jobID; the job's earliest selector expiry
	dlMaxAge                       // ID: jobID; the job reaches Config.MaxJobAge
	dlWaitTime                     // ID: jobID + "\x00" + exception rule ID
)

// Engine is the router's state. It is not safe for concurrent use: the shell
// serialises every call.
type Engine struct {
	cfg Config
	now time.Time // the latest time seen; time never moves backwards inside the engine
	// monoRef is the first monotonic reading a LongestIdle key was made from
	// (idleKey); zero until then.
	monoRef time.Time

	seq    uint64 // last event sequence number
	regSeq uint64 // last worker registration number
	wanted uint32 // the event types to record (SetWanted)

	names nameCache // the channel and queue IDs interned last

	policies map[string]*DistributionPolicy
	queues   map[string]*queueState
	workers  map[string]*workerState
	jobs     jobStore // by ID: the live ones hashed, the terminal ones in doneIDs (jobstore.go)
	// Open offers have no table of their own: an offer is always named with its
	// worker, and found among the worker's open offers (workerState.offerByID).

	// Every job is in one of two ID-ordered indexes, for paged listing (index.go):
	// a job in both would cost one more tree entry each (B4).
	activeIDs jobIndex             // the jobs that are not terminal
	doneIDs   jobIndex             // the closed and cancelled jobs (jobs finds them here)
	workerIDs idIndex              // every worker ID in order (index.go)
	labelSets map[string]*labelSet // interned worker label sets by labelKey (labelset.go)

	// Worker ranks (rank.go): the spacing of the last layout, the workers ranked
	// since, and the layouts made (for tests).
	rankStep    uint32
	rankAdded   int
	rankLayouts int

	classPolicies map[string]*ClassificationPolicy
	excPolicies   map[string]*ExceptionPolicy
	rng           *rand.Rand    // weighted allocations; seeded by Config.Seed
	requests      []RuleRequest // asynchronous rule evaluations awaited
	excDepth      int           // nesting of exception actions in this step

	deadlines *deadline.Heap
	ages      ageList // maximum-age deadlines, outside the heap (agelist.go)
	events    []Event

	// Matching (match.go, matchindex.go).
	freeWorkers  int            // workers that could take an offer now
	pass         uint64         // matching passes run
	dirtyJobs    []*jobState    // jobs that gained since the last pass
	dirtyWorkers []*workerState // workers that gained since the last pass
	// spareJobs, spareWorkers and streams are the buffers of the pass before,
	// kept so that a pass allocates nothing for its lists.
	spareJobs    []*jobState
	spareWorkers []*workerState
	streams      []stream
	sigBuf       []byte            // refreshJob's scratch for a group signature
	selSets      selectorSets      // interned selector records (selset.go)
	dirtyAll     bool              // the next pass visits every queued job
	cands        []match.Candidate // offerJob's scratch list
	pivot        workerState       // offerJob's RoundRobin probe (only its ID is set)

	spareHolds  spares.List[holding]    // released holding records (newHolding)
	spareOffers spares.List[offerState] // ended offer records (newOffer)

	fallbackIDs uint64 // IDs made when Config.NewID failed
}

// New returns an empty engine.
func New(cfg Config) *Engine {
	if cfg.MaxIDLength == 0 {
		cfg.MaxIDLength = 256
	}
	if cfg.IndexHeldAt <= 0 {
		cfg.IndexHeldAt = defaultIndexHeldAt
	}
	if cfg.NewID == nil {
		var n uint64
		cfg.NewID = func() string {
			n++
			return "id-" + uitoa(n)
		}
	}
	e := &Engine{
		cfg:           cfg,
		policies:      make(map[string]*DistributionPolicy),
		queues:        make(map[string]*queueState),
		workers:       make(map[string]*workerState),
		classPolicies: make(map[string]*ClassificationPolicy),
		excPolicies:   make(map[string]*ExceptionPolicy),
		rng:           newRand(cfg.Seed),
		deadlines:     deadline.New(),
		wanted:        AnyEventType,
	}
	e.jobs.doneIDs = &e.doneIDs
	return e
}

// at records now as the engine's time, never moving backwards: a clock that jumps
// back is treated as standing still.
func (e *Engine) at(now time.Time) time.Time {
	if now.Before(e.now) {
		return e.now
	}
	e.now = now
	return now
}

// Advance moves the engine to now, replaying every instant in between at which a
// deadline was due: for each such instant T, in time order, it fires every deadline
// due at T (in the order they were set), then runs matching at T, exactly as a timer
// firing on time would have. So Advance is compositional — Advance(t1) then
// Advance(t2) leaves the same state and events as Advance(t2) alone — and a test that
// jumps a mock clock gets the same answer whichever goroutine advances first. A jump
// over many expiry periods replays each of them (a worker kept registered on expiry
// is offered the job again at each).
// O(k log n) for k due deadlines, plus one matching pass per distinct instant.
func (e *Engine) Advance(now time.Time) {
	now = e.at(now)
	for e.dueBy(now) { // the quick test, true whenever the one below is
		d, _ := e.peekDeadline()
		if d.When.After(now) {
			// Due by one source's time but not the earliest deadline: possible only
			// when the wall clock was stepped between readings, as Before and After
			// weigh monotonic readings differently. Nothing fires before its time.
			break
		}
		t := d.When
		for {
			d, ok := e.popDue(t)
			if !ok {
				break
			}
			e.fire(d)
		}
		e.match(t)
	}
	e.match(now)
}

// NextDeadline returns the earliest pending deadline. O(1).
func (e *Engine) NextDeadline() (time.Time, bool) {
	d, ok := e.peekDeadline()
	return d.When, ok
}

// TakeEvents returns the events recorded since the last call and forgets them.
func (e *Engine) TakeEvents() []Event {
	evs := e.events
	e.events = nil
	return evs
}

// SetWanted sets the event types that anyone receives: AnyEventType, or the
// EventTypeBit of each type. From then on the engine builds and records only the
// events of those types; one it skips still takes its Seq number, so the numbers
// do not depend on who listens. A set wider than needed costs only the events
// built for nobody. A new engine wants every type. O(1).
func (e *Engine) SetWanted(types uint32) { e.wanted = types }

// wants reports whether an event of type t is to be recorded (SetWanted). O(1).
func (e *Engine) wants(t EventType) bool {
	return e.wanted&AnyEventType != 0 || e.wanted&eventTypeBits[t] != 0
}

// emit records ev at time t with the next sequence number: it is handed to
// Config.Emit, or kept for TakeEvents, unless no one wants its type (SetWanted),
// when it only takes the number. O(1) but for Config.Emit. It inlines to a call of
// emitWith, so the 280-byte event is passed by value once on its way to
// Config.Emit (a second pass cost B1 about 440 instructions a lifecycle).
func (e *Engine) emit(t time.Time, ev Event) { e.emitWith(t, ev, nil) }

// emitWith is emit for an event with extras x (nil for none): x is copied into the
// heap only when the event is wanted, so that the caller's literal can stay on the
// stack and an event no one wants allocates nothing.
func (e *Engine) emitWith(t time.Time, ev Event, x *EventExtra) {
	e.seq++
	if !e.wants(ev.Type) {
		return
	}
	if x != nil {
		ev.Extra = new(EventExtra)
		*ev.Extra = *x
	}
	ev.Seq = e.seq
	ev.Time = t
	if e.cfg.Emit != nil {
		e.cfg.Emit(ev) // by value, on the stack: see Config.Emit
		return
	}
	e.events = append(e.events, ev)
}

func (e *Engine) fire(d deadline.Deadline) {
	switch d.Kind {
	case dlOfferExpiry:
		e.expireOffer(d.When, d.Ref.(*offerState))
	case dlRetryOffer:
		// The decliner is eligible again; matching decides.
		jobID, workerID, _ := strings.Cut(d.ID, "\x00")
		if j, _ := e.jobs.get(jobID); j != nil {
			// Only a decline whose own RetryOfferAt has come lapses: the worker may
			// have declined again since (after registering again), without a
			// RetryOfferAt, and that decline holds for good.
			if dc, ok := j.cold().declines[workerID]; ok && !dc.retryAt.IsZero() && !dc.retryAt.After(d.When) {
				dc.lapsed = true
				j.ext().declines[workerID] = dc
			}
			e.gainJob(j)
		}
	case dlCloseAt:
		if j, _ := e.jobs.get(d.ID); j != nil && j.asg().closing != nil {
			e.closeNow(d.When, j, j.asg().closing.code)
		}
	case dlSchedule:
		e.activateSchedule(d.When, d.ID)
	case dlSelectorExpiry:
		e.expireSelectors(d.When, d.ID)
	case dlMaxAge:
		e.expireJob(d.When, d.ID)
	case dlWaitTime:
		e.waitTimeReached(d.When, d.ID)
	}
}

// newID returns a fresh ID from Config.NewID that taken does not hold; a suffix
// makes a repeated ID unique, deterministically. What taken holds is the ID's scope
// **(ours)**: every job for a job, the job's assignments for an assignment, the
// worker's open offers for an offer (an offer is always named together with its
// worker, as an assignment with its job).
//
// A NewID that panics, or returns an empty or over-long ID, is replaced by an
// internal one ("jr-" and a counter) **(ours)**: a command that has begun to change
// the state must not be cut short by the caller's ID source.
func (e *Engine) newID(taken func(string) bool) string {
	id := e.callNewID()
	if !taken(id) {
		return id
	}
	for i := uint64(1); ; i++ {
		c := id + "-" + uitoa(i)
		if !taken(c) {
			return c
		}
	}
}

func (e *Engine) callNewID() (id string) {
	defer func() {
		if recover() != nil || id == "" || len(id) > e.cfg.MaxIDLength {
			e.fallbackIDs++
			id = "jr-" + uitoa(e.fallbackIDs)
		}
	}()
	return e.cfg.NewID()
}

func (e *Engine) validID(entity, id string) error {
	if id == "" {
		return invalid(entity, id, "empty ID")
	}
	if len(id) > e.cfg.MaxIDLength {
		return invalid(entity, id[:min(32, len(id))]+"…", "ID longer than "+itoa(e.cfg.MaxIDLength)+" bytes")
	}
	return nil
}

// page applies After and Limit to IDs sorted ascending.
func page(ids []string, after string, limit int) []string {
	sort.Strings(ids)
	if after != "" {
		i := sort.SearchStrings(ids, after)
		for i < len(ids) && ids[i] <= after {
			i++
		}
		ids = ids[i:]
	}
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	return ids
}

func uitoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func itoa(n int) string {
	if n < 0 {
		return "-" + uitoa(uint64(-n))
	}
	return uitoa(uint64(n))
}
