package simtest

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/naive"
)

// Sim drives the engine, and in a world without policies the naive reference
// router in lockstep, through operations on a virtual clock. It is single-threaded
// and deterministic: the same world and operations give the same history, byte for
// byte. After every operation it checks the invariants (invariants.go) and, with the
// oracle, that both routers returned the same, announced the same events and hold
// the same state digest.
type Sim struct {
	world World
	e     *engine.Engine
	n     *naive.Router // nil: no oracle (a policy world)
	// twin is a second engine given the same commands, but moved through time one
	// deadline at a time (Advance to each NextDeadline, then to the target), where
	// the engine jumps at once: the two must agree, event for event. It runs where
	// the oracle does not.
	twin *engine.Engine
	now  time.Time  // the virtual clock: the time the next command is given
	rng  *rand.Rand // the current operation's choices
	op   Op
	step int

	jobSeq   int      // job IDs handed out by the generator
	offerIDs []string // every offer ID seen, to try offers that are no longer open

	// The engine's state after the last operation, for the choices of the next.
	curJobs    []engine.Job
	curWorkers []engine.Worker
	curQueues  []engine.Queue
	curPols    []engine.DistributionPolicy

	chk *checker

	// The current operation.
	calls      int            // commands run on both sides
	failedCall bool           // its one command returned an error
	stepEvents []engine.Event // every event it caused, in order
	desc       []entry        // what it did, for the history

	prevState []byte // the engine's state encoding after the last operation
	stateBuf  []byte
	naiveBuf  []byte
	twinBuf   []byte
	chain     uint64 // digest of the history so far

	text   *strings.Builder // the history as text, when kept
	counts map[string]int   // operations and events run, when counted
}

// Options tunes a simulator.
type Options struct {
	// Text keeps the whole history as text (History). Without it only the digest
	// chain and the last lines are kept.
	Text bool
	// Counts counts the operations and events run (Counts).
	Counts bool
	// NoOracle leaves out the naive router even in a world without policies.
	NoOracle bool
	// NoTwin leaves out the twin engine (used where there is no oracle).
	NoTwin bool
}

// tailLines is how many history lines a failure report shows.
const tailLines = 120

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// New returns a simulator of world w at T0.
func New(w World, opt Options) *Sim {
	cfg := w.config()
	ce := cfg
	ce.NewID = w.newID()
	// A worker here holds a few offers and holdings at most: the engine under test
	// indexes them from three on (and drops the index at one), so that the indexed
	// path runs as often as the scan; the twin keeps the default (32) and scans, so
	// that a policy world compares the two.
	ce.IndexHeldAt = 3
	s := &Sim{world: w, e: engine.New(ce), now: T0, chk: newChecker(w)}
	if !w.Policies && !opt.NoOracle {
		cn := cfg
		cn.NewID = w.newID()
		s.n = naive.New(cn)
	} else if !opt.NoTwin {
		ct := cfg
		ct.NewID = w.newID()
		s.twin = engine.New(ct)
	}
	if opt.Text {
		s.text = &strings.Builder{}
	}
	if opt.Counts {
		s.counts = map[string]int{}
	}
	s.prevState = s.encodeState(s.e, s.curJobs, s.curWorkers, s.curQueues, s.curPols, nil)
	return s
}

// Failure is a broken invariant or a difference from the oracle.
type Failure struct {
	Step      int    // the operation (1-based) after which it was found
	Op        Op     // that operation
	Invariant string // which check failed
	Msg       string
	Tail      string // the last lines of the history
}

func (f *Failure) Error() string {
	return fmt.Sprintf("step %d (%v): %s: %s", f.Step, f.Op, f.Invariant, f.Msg)
}

// fail stops the operation with a failure.
func (s *Sim) fail(invariant, format string, args ...any) {
	panic(&Failure{Step: s.step, Op: s.op, Invariant: invariant, Msg: fmt.Sprintf(format, args...)})
}

// Apply runs one operation and checks everything after it. It returns the first
// failure, after which the simulator must not be used.
func (s *Sim) Apply(op Op) (f *Failure) { return s.apply(op, func() { s.run(op) }) }

// apply runs op's commands, do, and checks everything after them.
func (s *Sim) apply(op Op, do func()) (f *Failure) {
	s.step++
	s.op = op
	s.rng = op.rng()
	s.calls, s.failedCall = 0, false
	s.stepEvents = s.stepEvents[:0]
	s.desc = s.desc[:0]
	defer func() {
		if p := recover(); p != nil {
			var ok bool
			if f, ok = p.(*Failure); !ok {
				f = &Failure{Step: s.step, Op: op, Invariant: "no panic", Msg: fmt.Sprintf("panic: %v\n%s", p, debug.Stack())}
			}
			s.record(f)
			if s.text != nil {
				f.Tail = lastLines(s.text.String(), tailLines)
			}
		}
	}()
	do()
	s.afterStep()
	s.record(nil)
	return nil
}

// guard runs one side of a command, turning its panic into a failure.
func (s *Sim) guard(side string, f func() (any, error)) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			if fl, ok := p.(*Failure); ok {
				panic(fl)
			}
			s.fail("no panic", "the %s panicked: %v\n%s", side, p, debug.Stack())
		}
	}()
	return f()
}

// result is one command's outcome on one side.
type result struct {
	Value any
	Err   *errView
}

// errView is what must match of an error: its code, entity and ID.
type errView struct {
	Code       engine.Code
	Entity, ID string
}

func (s *Sim) viewErr(err error) *errView {
	if err == nil {
		return nil
	}
	var ee *engine.Error
	if !errors.As(err, &ee) {
		s.fail("typed errors", "an untyped error: %v (%T)", err, err)
	}
	return &errView{Code: ee.Code, Entity: ee.Entity, ID: ee.ID}
}

// both runs a command on the engine, on the oracle and on the twin, and requires
// the same result, error and events of each.
func (s *Sim) both(c entry, f func(r naive.Core) (any, error)) {
	c, re, evs, errE := s.onEngine(c, func(e *engine.Engine) (any, error) { return f(e) })
	if s.n != nil {
		vn, errN := s.guard("naive router", func() (any, error) { return f(s.n) })
		rn := result{vn, s.viewErr(errN)}
		if !reflect.DeepEqual(re, rn) {
			s.fail("oracle: result", "%s\nengine: %+v\nnaive:  %+v", c, re, rn)
		}
		if en := s.n.TakeEvents(); !reflect.DeepEqual(evs, en) {
			s.fail("oracle: events", "%s\n%s", c, diffEvents(evs, en))
		}
	}
	s.onTwin(c, re, evs, func(e *engine.Engine) (any, error) { return f(e) })
	s.ended(c, errE, evs)
}

// onEngine records command c and runs it on the engine: the result as compared, the
// events and the error. It returns c with its time set.
func (s *Sim) onEngine(c entry, f func(e *engine.Engine) (any, error)) (entry, result, []engine.Event, error) {
	s.calls++
	c.at = s.now.Sub(T0)
	s.desc = append(s.desc, c)
	v, err := s.guard("engine", func() (any, error) { return f(s.e) })
	re := result{v, s.viewErr(err)}
	s.desc[len(s.desc)-1].err = err
	return c, re, s.e.TakeEvents(), err
}

// onTwin runs command c on the twin engine, if there is one, and requires the
// engine's result re and events evs of it.
func (s *Sim) onTwin(c entry, re result, evs []engine.Event, f func(e *engine.Engine) (any, error)) {
	if s.twin == nil {
		return
	}
	vt, errT := s.guard("twin engine", func() (any, error) { return f(s.twin) })
	if rt := (result{vt, s.viewErr(errT)}); !reflect.DeepEqual(re, rt) {
		s.fail("twin: result", "%s\nengine: %+v\ntwin:   %+v", c, re, rt)
	}
	if et := s.twin.TakeEvents(); !reflect.DeepEqual(evs, et) {
		s.fail("twin: events", "%s\n%s", c, diffEvents(evs, et))
	}
}

// ended records a command's outcome: a failed command must announce nothing.
func (s *Sim) ended(c entry, err error, evs []engine.Event) {
	if err != nil {
		s.failedCall = s.calls == 1
		if len(evs) > 0 {
			s.fail("a failed call changes nothing", "%s failed (%v) but announced %d events", c, err, len(evs))
		}
	}
	s.stepEvents = append(s.stepEvents, evs...)
}

// read runs a query on both sides (no events, no state change).
func (s *Sim) read(c entry, f func(r naive.Core) (any, error)) { s.both(c, f) }

// afterStep refreshes the state views, compares the state with the oracle's and the
// state before a failed call, and checks the invariants.
func (s *Sim) afterStep() {
	s.curJobs = s.e.ListJobs(engine.JobFilter{})
	s.curWorkers = s.e.ListWorkers(engine.WorkerFilter{})
	s.curQueues = s.e.ListQueues(engine.Page{})
	s.curPols = s.e.ListDistributionPolicies(engine.Page{})
	for _, ev := range s.stepEvents {
		if ev.Type == engine.EvOfferIssued {
			s.offerIDs = append(s.offerIDs, ev.OfferID)
		}
	}
	if len(s.offerIDs) > 200 {
		s.offerIDs = append(s.offerIDs[:0], s.offerIDs[len(s.offerIDs)-100:]...)
	}
	state := s.encodeState(s.e, s.curJobs, s.curWorkers, s.curQueues, s.curPols, s.stateBuf[:0])
	s.stateBuf = state
	// When the engine's state did not change, the oracle's and the twin's are compared
	// at the next change instead (they were equal after the last operation; a change
	// of theirs alone still shows then).
	// Run and Replay compare once more after the last operation (finalCompare).
	if unchanged := len(s.stepEvents) == 0 && slices.Equal(state, s.prevState); !unchanged {
		s.compareStates(state)
	}
	if s.failedCall && s.calls == 1 && !slices.Equal(state, s.prevState) {
		s.fail("a failed call changes nothing", "%s failed, yet the state changed", s.desc[0])
	}
	s.prevState = append(s.prevState[:0], state...)
	s.chk.check(s)
	if s.counts != nil {
		name := "op " + s.op.Kind.String()
		s.counts[name]++
		if s.calls > 0 && s.desc[0].err != nil {
			s.counts[name+" (error)"]++
		}
		for _, ev := range s.stepEvents {
			s.counts["event "+string(ev.Type)]++
		}
	}
}

// compareStates requires the oracle's and the twin's state encodings to equal the
// engine's, state.
func (s *Sim) compareStates(state []byte) {
	if s.n != nil {
		ns := s.encodeState(s.n, s.n.ListJobs(engine.JobFilter{}), s.n.ListWorkers(engine.WorkerFilter{}),
			s.n.ListQueues(engine.Page{}), s.n.ListDistributionPolicies(engine.Page{}), s.naiveBuf[:0])
		s.naiveBuf = ns
		if !slices.Equal(state, ns) {
			s.fail("oracle: state digest", "the engine's state digest %08x differs from the naive router's %08x\n%s",
				crc32.Checksum(state, castagnoli), crc32.Checksum(ns, castagnoli), s.diffState())
		}
	}
	if s.twin != nil {
		ts := s.encodeState(s.twin, s.twin.ListJobs(engine.JobFilter{}), s.twin.ListWorkers(engine.WorkerFilter{}),
			s.twin.ListQueues(engine.Page{}), s.twin.ListDistributionPolicies(engine.Page{}), s.twinBuf[:0])
		s.twinBuf = ts
		if !slices.Equal(state, ts) {
			s.fail("twin: state digest", "the engine's state differs from its twin's, moved through time deadline by deadline")
		}
	}
}

// finalCompare compares the states once more after the last operation, which
// afterStep skips when the engine's state did not change: a difference that arose
// then, in the oracle or the twin alone, would otherwise go unseen. It reports a
// failure as of the last operation.
func (s *Sim) finalCompare() (f *Failure) {
	if s.step == 0 {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			var ok bool
			if f, ok = p.(*Failure); !ok {
				panic(p)
			}
		}
	}()
	defer func() {
		if f != nil && s.text != nil {
			fmt.Fprintf(s.text, "      after the last operation: FAILED %s: %s\n", f.Invariant, f.Msg)
			f.Tail = lastLines(s.text.String(), tailLines)
		}
	}()
	s.compareStates(s.stateBuf)
	return nil
}

// Finish compares the oracle's or the twin's state with the engine's once more after
// the last operation, as Run and Replay do at their end: a caller that drives a Sim
// with Apply or Exec calls it when done. It returns the failure, if any; the Sim
// must not be used after one.
func (s *Sim) Finish() *Failure { return s.finalCompare() }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// record adds the operation's digest to the chain, and its line to the text history
// when one is kept.
func (s *Sim) record(f *Failure) {
	d := uint64(crc32.Checksum(s.stateBuf, castagnoli))<<32 | uint64(crc32.ChecksumIEEE(s.stateBuf))
	s.chain = s.chain*0x100000001b3 ^ d ^ uint64(s.op.Kind)<<56 ^ uint64(s.op.Arg)
	for _, ev := range s.stepEvents {
		s.chain = s.chain*0x100000001b3 ^ ev.Seq ^ uint64(len(ev.Type))<<40
	}
	if s.text != nil {
		s.text.WriteString(s.line(d, f))
		s.text.WriteByte('\n')
	}
}

// line formats one operation for the history.
func (s *Sim) line(d uint64, f *Failure) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5d %-26v", s.step, s.op)
	for i, c := range s.desc {
		if i > 0 {
			b.WriteString("\n                                 ")
		}
		b.WriteString(c.String())
	}
	for _, ev := range s.stepEvents {
		fmt.Fprintf(&b, "\n        #%d %s %s", ev.Seq, sinceT0(ev.Time), eventBrief(ev))
	}
	if f != nil {
		fmt.Fprintf(&b, "\n        FAILED %s: %s", f.Invariant, f.Msg)
	} else {
		fmt.Fprintf(&b, "\n        state %016x", d)
	}
	return b.String()
}

// History returns the history as text (with Options.Text).
func (s *Sim) History() string {
	if s.text == nil {
		return ""
	}
	return s.text.String()
}

// Digest returns the digest of the history so far: every operation, its events and
// the state after it.
func (s *Sim) Digest() uint64 { return s.chain }

// Counts returns the operations and events run (with Options.Counts).
func (s *Sim) Counts() map[string]int { return s.counts }

// Step returns the number of operations applied.
func (s *Sim) Step() int { return s.step }

// entry is one command, formatted only when the history needs it.
type entry struct {
	at     time.Duration
	format string
	args   []any
	err    error
}

func (e entry) String() string {
	s := fmt.Sprintf("+%-12v ", e.at) + fmt.Sprintf(e.format, e.args...)
	if e.err != nil {
		s += " -> " + e.err.Error()
	}
	return s
}

// cmd describes a command for the history.
func cmd(format string, args ...any) entry { return entry{format: format, args: args} }

// sinceT0 formats a time as an offset from the start.
type sinceT0 time.Time

func (t sinceT0) String() string {
	if time.Time(t).IsZero() {
		return "zero"
	}
	return "+" + time.Time(t).Sub(T0).String()
}

func eventBrief(ev engine.Event) string {
	var b strings.Builder
	b.WriteString(string(ev.Type))
	for _, kv := range [][2]string{{"job", ev.JobID}, {"worker", ev.WorkerID}, {"offer", ev.OfferID},
		{"assignment", ev.AssignmentID}, {"queue", ev.QueueID}, {"rule", ev.Extras().RuleID}, {"reason", ev.Extras().Reason},
		{"code", ev.DispositionCode}} {
		if kv[1] != "" {
			b.WriteString(" " + kv[0] + "=" + kv[1])
		}
	}
	if !ev.Extras().RetryOfferAt.IsZero() {
		b.WriteString(" retryAt=" + sinceT0(ev.Extras().RetryOfferAt).String())
	}
	if ev.Type == engine.EvOfferIssued {
		b.WriteString(" expiresAt=" + sinceT0(ev.ExpiresAt).String())
	}
	return b.String()
}

// diffEvents describes how two event lists differ.
func diffEvents(a, b []engine.Event) string {
	var out strings.Builder
	for i := range max(len(a), len(b)) {
		var x, y any = "(none)", "(none)"
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if !reflect.DeepEqual(x, y) {
			fmt.Fprintf(&out, "event %d differs:\nengine: %+v\nnaive:  %+v\n", i, x, y)
			break
		}
	}
	fmt.Fprintf(&out, "engine events: %d, naive events: %d", len(a), len(b))
	return out.String()
}

// diffState names the first difference between the engine's and the naive router's
// state.
func (s *Sim) diffState() string {
	if s.n == nil {
		return ""
	}
	check := func(what string, a, b any) string {
		av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
		for i := range max(av.Len(), bv.Len()) {
			var x, y any = "(none)", "(none)"
			if i < av.Len() {
				x = av.Index(i).Interface()
			}
			if i < bv.Len() {
				y = bv.Index(i).Interface()
			}
			if !reflect.DeepEqual(x, y) {
				return fmt.Sprintf("%s: element %d differs\nengine: %+v\nnaive:  %+v", what, i, x, y)
			}
		}
		return ""
	}
	if d := check("ListJobs", s.curJobs, s.n.ListJobs(engine.JobFilter{})); d != "" {
		return d
	}
	if d := check("ListWorkers", s.curWorkers, s.n.ListWorkers(engine.WorkerFilter{})); d != "" {
		return d
	}
	if d := check("ListQueues", s.curQueues, s.n.ListQueues(engine.Page{})); d != "" {
		return d
	}
	te, oke := s.e.NextDeadline()
	tn, okn := s.n.NextDeadline()
	if !te.Equal(tn) || oke != okn {
		return fmt.Sprintf("NextDeadline: engine %v %v, naive %v %v", sinceT0(te), oke, sinceT0(tn), okn)
	}
	return "the distribution policies differ"
}
