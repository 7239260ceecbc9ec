package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/openjobrouter/jobrouter"
)

// RunOptions are the options of Run. A nil *RunOptions is the zero value.
type RunOptions struct {
	// Progress, when set, is called from Run's goroutine as simulated time
	// advances (a few hundred times per run at most), with the simulated time
	// elapsed since Start and the longest the run can take (Duration + Drain).
	// Defaults to nil.
	Progress func(elapsed, total time.Duration)
}

// Run simulates sc on a real jobrouter.Router in manual time and returns its
// report. It validates sc first (a *FieldError names a bad field). The same
// scenario gives the same report, byte for byte once written. Run returns ctx's
// error if ctx is done before the end.
//
// Run drives the Router through its public API only: it creates the jobs, answers
// the offers as each worker's Behaviour says, completes and closes the jobs, and
// jumps time to the earliest of its own next event and Router.NextDeadline.
func Run(ctx context.Context, sc *Scenario, opts *RunOptions) (*Report, error) {
	rn, err := simulate(ctx, sc, opts)
	if err != nil {
		return nil, err
	}
	return rn.report(), nil
}

// simulate runs sc and returns the finished run.
func simulate(ctx context.Context, sc *Scenario, opts *RunOptions) (*runner, error) {
	s := sc.withDefaults()
	if err := s.validate(); err != nil {
		return nil, err
	}
	r, err := newRouter(&s)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.Close() }()
	if err := setupRouter(r, &s); err != nil {
		return nil, err
	}
	var o RunOptions
	if opts != nil {
		o = *opts
	}
	rn := newRunner(ctx, &s, r, o)
	defer rn.sub.Close()
	if err := rn.run(); err != nil {
		return nil, err
	}
	return rn, nil
}

// subscribed are the event types the simulator reacts to. It knows the outcome of
// its own calls (accepts, declines, deletes) without their events.
var subscribed = []jobrouter.EventType{
	jobrouter.EventTypeOfferIssued, jobrouter.EventTypeOfferExpired, jobrouter.EventTypeOfferRevoked,
	jobrouter.EventTypeWorkerDeregistered, jobrouter.EventTypeJobQueued, jobrouter.EventTypeJobCancelled,
	jobrouter.EventTypeJobClassificationFailed, jobrouter.EventTypeJobExceptionTriggered,
	jobrouter.EventTypeJobClosed, jobrouter.EventTypeJobWorkerSelectorsExpired,
}

// runner is one run in progress.
type runner struct {
	ctx  context.Context
	sc   *Scenario
	r    *jobrouter.Router
	sub  *jobrouter.Subscription // synchronous: polled at the end of each step
	evs  []jobrouter.Event       // the buffer sub is polled into
	opts RunOptions

	now    time.Time
	end    time.Time // Start + Duration: arrivals stop
	stopBy time.Time // end + Drain: the run stops
	tl     timeline
	agenda agenda

	streams []*streamState
	groups  []*groupState
	queues  []*queueState
	queueIx map[string]*queueState
	waiting *level // jobs waiting in every queue together
	workers map[string]*workerState
	jobs    map[string]*jobState
	records []record

	streamsLeft int      // streams with arrivals still to come
	active      int      // jobs not yet finished
	deletable   []string // terminal jobs, deleted at the end of the step

	exceptions       map[exceptionKey]int
	selectorExpiries int
	calls, events    int
	steps            int
	lastProgress     time.Time
	stoppedAt        time.Time
}

type streamState struct {
	idx                    int
	def                    *ArrivalStream
	gen                    arrivalGen
	handle, wrap, patience func() time.Duration
	n                      int            // jobs created so far
	next                   *TracedArrival // the scheduled arrival's record (Trace only)
}

type groupState struct {
	idx     int
	def     *WorkerGroup
	workers []*workerState
	// staffed: workers logged in or still holding jobs; staffedCap and busyCap:
	// their capacity, and the part of it held by jobs.
	staffed, staffedCap, busyCap *level
	offers                       offerCounts
	handled                      int
	handleSum                    time.Duration
}

type queueState struct {
	idx    int
	id     string
	sl     time.Duration
	length *level
}

// offerCounts has the fields of OfferStats, which it converts to.
type offerCounts struct {
	Issued, Accepted, Declined, Expired, Revoked, Late int
}

type workerState struct {
	id         string
	g          *groupState
	def        jobrouter.Worker
	onShift    bool
	registered bool
	holding    int
	pick       distuv.Categorical // 0: let expire, 1: decline, 2: accept
	answerTime func() time.Duration
}

// staffed reports whether w counts as staffed: logged in, or finishing jobs.
func (w *workerState) staffed() bool { return w.onShift || w.holding > 0 }

type jobPhase uint8

const (
	phaseWaiting jobPhase = iota
	phaseAssigned
	phaseDone
)

type jobState struct {
	id           string
	s            *streamState
	rec          int // index in runner.records
	arrived      time.Time
	handle, wrap time.Duration
	queue        *queueState // the queue it waits in; nil when not waiting
	phase        jobPhase
	worker       *workerState
	assignmentID string
	cost         int
	byUs         bool // cancelled by the simulator (abandoned)
	inWindow     bool // arrived in the measurement window
}

// outcome is how a job ended.
type outcome uint8

const (
	outcomeUnanswered outcome = iota // still waiting when the run stopped
	outcomeAnswered
	outcomeAbandoned // the customer's patience ran out
	outcomeCancelled // cancelled by the Router (an exception's CancelAction, MaxJobAge)
	outcomeFailed    // classification failed
)

// record is what the report needs of one job.
type record struct {
	stream  int32
	queue   int32 // the first queue it entered; -1 if none
	group   int32 // the group that answered it; -1 if none
	outcome outcome
	arrived time.Duration // since Start
	wait    time.Duration // answered: until accepted; abandoned, cancelled: until then
	offered time.Duration // until its first offer; -1 if it had none
	offers  offerCounts
}

type exceptionKey struct{ queue, rule string }

func newRunner(ctx context.Context, sc *Scenario, r *jobrouter.Router, opts RunOptions) *runner {
	rn := &runner{
		ctx: ctx, sc: sc, r: r, opts: opts,
		now:        sc.Start,
		end:        sc.Start.Add(sc.Duration),
		stopBy:     sc.Start.Add(sc.Duration + sc.Drain),
		queueIx:    map[string]*queueState{},
		workers:    map[string]*workerState{},
		jobs:       map[string]*jobState{},
		exceptions: map[exceptionKey]int{},
	}
	rn.tl = timeline{start: sc.Start, width: sc.Interval, winStart: sc.Start.Add(sc.WarmUp), winEnd: rn.end}
	rn.waiting = newLevel(&rn.tl)
	rn.sub = r.Subscribe(&jobrouter.SubscribeOptions{Types: subscribed, Synchronous: true, MaxBacklog: math.MaxInt32})

	ids := make([]string, len(sc.Queues))
	for i, q := range sc.Queues {
		ids[i] = q.ID
	}
	slices.Sort(ids)
	for i, id := range ids {
		q := &queueState{idx: i, id: id, sl: sc.ServiceLevel.thresholdFor(id), length: newLevel(&rn.tl)}
		rn.queues = append(rn.queues, q)
		rn.queueIx[id] = q
	}
	for i := range sc.WorkerGroups {
		g := &groupState{idx: i, def: &sc.WorkerGroups[i],
			staffed: newLevel(&rn.tl), staffedCap: newLevel(&rn.tl), busyCap: newLevel(&rn.tl)}
		b := g.def.Behaviour
		for k := range g.def.Count {
			def := workerDef(g.def, k)
			w := &workerState{id: def.ID, g: g, def: def}
			src := stream(sc.Seed, "worker", def.ID)
			w.pick = distuv.NewCategorical([]float64{b.ExpireProbability, b.DeclineProbability,
				1 - b.ExpireProbability - b.DeclineProbability}, src)
			if b.AcceptTime != nil {
				w.answerTime = b.AcceptTime.sampler(src)
			}
			g.workers = append(g.workers, w)
			rn.workers[w.id] = w
		}
		rn.groups = append(rn.groups, g)
	}
	for i := range sc.Arrivals {
		a := &sc.Arrivals[i]
		st := &streamState{idx: i, def: a,
			gen:    a.Process.generator(stream(sc.Seed, "arrivals", a.Name), sc.Start, sc.Duration),
			handle: a.HandleTime.sampler(stream(sc.Seed, "handle", a.Name)),
		}
		if a.WrapUp != nil {
			st.wrap = a.WrapUp.sampler(stream(sc.Seed, "wrapup", a.Name))
		}
		if a.Patience != nil {
			st.patience = a.Patience.sampler(stream(sc.Seed, "patience", a.Name))
		}
		rn.streams = append(rn.streams, st)
	}
	return rn
}

// fail wraps a Router error met during the run.
func (rn *runner) fail(what string, err error) error {
	return fmt.Errorf("sim: at %s: %s: %w", rn.now.Format(time.RFC3339Nano), what, err)
}

func (rn *runner) run() error {
	rn.scheduleShifts()
	for _, st := range rn.streams {
		if rn.scheduleArrival(st) {
			rn.streamsLeft++
		}
	}
	for {
		rn.steps++
		if rn.steps%256 == 0 {
			if err := rn.ctx.Err(); err != nil {
				return err
			}
		}
		rn.dropStale()
		t, ok := rn.agenda.peek()
		dl, hasDL := rn.r.NextDeadline()
		if hasDL && (!ok || dl.Before(t)) {
			t, ok = dl, true
		}
		if !ok || t.After(rn.stopBy) || (rn.streamsLeft == 0 && rn.active == 0 && !rn.now.Before(rn.end)) {
			break
		}
		if t.Before(rn.now) {
			t = rn.now
		}
		called := false
		if t.After(rn.now) || (hasDL && !dl.After(t)) {
			if err := rn.r.AdvanceTo(t); err != nil {
				return rn.fail("advance", err)
			}
			rn.calls++
			called = true
			rn.now = t
		}
		for {
			at, ok := rn.agenda.peek()
			if !ok || at.After(rn.now) {
				break
			}
			did, err := rn.do(rn.agenda.pop())
			if err != nil {
				return err
			}
			called = called || did
		}
		if called {
			if err := rn.settle(); err != nil {
				return err
			}
		}
		rn.progress()
	}
	rn.stoppedAt = rn.now
	if rn.active > 0 {
		rn.stoppedAt = rn.stopBy // cut off with jobs still going: the full drain passed
	}
	if rn.stoppedAt.Before(rn.end) {
		rn.stoppedAt = rn.end
	}
	if rn.opts.Progress != nil {
		total := rn.sc.Duration + rn.sc.Drain
		rn.opts.Progress(total, total)
	}
	return nil
}

func (rn *runner) progress() {
	if rn.opts.Progress == nil {
		return
	}
	total := rn.sc.Duration + rn.sc.Drain
	if rn.now.Sub(rn.lastProgress) < total/200 {
		return
	}
	rn.lastProgress = rn.now
	rn.opts.Progress(rn.now.Sub(rn.sc.Start), total)
}

// settle ends a step that called the Router: it handles every event the step's
// calls caused, in order, then deletes the jobs that are done (which keeps the
// Router's memory flat over long runs). The subscription is synchronous and each
// call queued its events before it returned, so one Poll takes them all: nothing
// is on its way, and time can move on.
func (rn *runner) settle() error {
	rn.evs = rn.sub.PollAppend(rn.evs[:0])
	if err := rn.sub.Err(); err != nil {
		return rn.fail("read events", err)
	}
	for _, ev := range rn.evs {
		rn.events++
		if err := rn.handle(ev); err != nil {
			return err
		}
	}
	clear(rn.evs) // let the events' maps go
	for _, id := range rn.deletable {
		rn.calls++
		err := rn.r.DeleteJob(rn.ctx, id)
		switch {
		case err == nil:
			delete(rn.jobs, id)
		case !errors.Is(err, jobrouter.ErrNotFound) && !errors.Is(err, jobrouter.ErrConflict):
			return rn.fail("delete job", err)
		}
	}
	rn.deletable = rn.deletable[:0]
	return nil
}

// dropStale removes the earliest agenda items while they would do nothing (the
// patience of a customer already answered, the return of a worker already back),
// so that time does not stop for them: most customers' patience outlasts their
// wait.
func (rn *runner) dropStale() {
	for len(rn.agenda.items) > 0 {
		it := &rn.agenda.items[0]
		switch {
		case it.kind == itemPatience && it.job.phase != phaseWaiting:
		case it.kind == itemReregister && (!it.worker.onShift || it.worker.registered):
		default:
			return
		}
		rn.agenda.pop()
	}
}

// do runs one agenda item. It reports whether it called the Router.
func (rn *runner) do(it item) (bool, error) {
	switch it.kind {
	case itemArrival:
		return true, rn.arrive(it.stream)
	case itemPatience:
		return rn.abandon(it.job)
	case itemAnswer:
		return true, rn.answer(it.worker, it.job, it.offerID, it.accept)
	case itemFinish:
		return true, rn.finish(it.job)
	case itemShiftOn:
		return rn.shiftOn(it.group)
	case itemShiftOff:
		return rn.shiftOff(it.group)
	case itemReregister:
		return rn.reregister(it.worker)
	}
	return false, nil
}

// scheduleShifts schedules every group's logins and logouts within the run; a
// group logged in at Start logs in at once.
func (rn *runner) scheduleShifts() {
	const day = 24 * time.Hour
	start := rn.sc.Start
	y, m, d := start.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, start.Location())
	for _, g := range rn.groups {
		sh := g.def.Shift
		if sh.Start == sh.End {
			rn.agenda.push(item{at: start, kind: itemShiftOn, group: g})
			continue
		}
		length := sh.End - sh.Start
		if length < 0 {
			length += day
		}
		for k := -1; ; k++ {
			on := midnight.Add(time.Duration(k)*day + sh.Start)
			if on.After(rn.stopBy) {
				break
			}
			off := on.Add(length)
			if !off.After(start) {
				continue
			}
			rn.agenda.push(item{at: latest(on, start), kind: itemShiftOn, group: g})
			rn.agenda.push(item{at: off, kind: itemShiftOff, group: g})
		}
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (rn *runner) shiftOn(g *groupState) (bool, error) {
	called := false
	for _, w := range g.workers {
		if w.onShift {
			continue
		}
		if !w.staffed() {
			g.staffed.add(rn.now, 1)
			g.staffedCap.add(rn.now, float64(g.def.Capacity))
		}
		w.onShift = true
		if !w.registered {
			if err := rn.register(w, true); err != nil {
				return true, err
			}
			called = true
		}
	}
	return called, nil
}

func (rn *runner) shiftOff(g *groupState) (bool, error) {
	called := false
	for _, w := range g.workers {
		if !w.onShift {
			continue
		}
		w.onShift = false
		if !w.staffed() {
			g.staffed.add(rn.now, -1)
			g.staffedCap.add(rn.now, -float64(g.def.Capacity))
		}
		if w.registered {
			if err := rn.register(w, false); err != nil {
				return true, err
			}
			called = true
		}
	}
	return called, nil
}

func (rn *runner) reregister(w *workerState) (bool, error) {
	if !w.onShift || w.registered {
		return false, nil
	}
	return true, rn.register(w, true)
}

// register logs w in (available true) or out.
func (rn *runner) register(w *workerState, available bool) error {
	def := w.def
	def.AvailableForOffers = available
	rn.calls++
	if _, err := rn.r.UpsertWorker(rn.ctx, def); err != nil {
		return rn.fail("upsert worker "+w.id, err)
	}
	w.registered = available
	return nil
}

// scheduleArrival schedules st's next arrival and reports whether there is one.
func (rn *runner) scheduleArrival(st *streamState) bool {
	at, rec, ok := st.gen.next()
	if !ok {
		return false
	}
	st.next = rec
	rn.agenda.push(item{at: rn.sc.Start.Add(at), kind: itemArrival, stream: st})
	return true
}
