package bench

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/openjobrouter/jobrouter"
	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/labels"
	"github.com/openjobrouter/jobrouter/internal/naive"
)

// naiveCore is the naive reference router (internal/naive) in the obvious shell: one
// mutex around every call; the time is a mock value that only advanceTo moves; each
// call advances the router to that time, applies the command and hands the new
// events to every subscription on a buffered channel as large as its backlog limit
// (a full channel closes the subscription with ErrSlowSubscriber), all under the
// mutex. Inputs are copied as the real shell copies them.
type naiveCore struct {
	mu     sync.Mutex
	r      naive.Core
	t      time.Time
	subs   []*naiveSub
	closed bool
}

func newNaiveCore(cfg coreConfig) core {
	return &naiveCore{r: naive.New(shellConfig(cfg)), t: startTime}
}

// newEngineCore is the real engine (internal/engine) in the naive router's thin shell:
// the same calls as impl=real, without the public Router's subscription goroutines,
// so that the difference between impl=engine and impl=real is the shell's cost.
// Its events are published as the engine records them (Config.Emit, as the real
// shell does), so that a command with many events never buffers them all.
func newEngineCore(cfg coreConfig) core {
	c := &naiveCore{t: startTime}
	ec := shellConfig(cfg)
	ec.Emit = func(ev engine.Event) { c.publish([]engine.Event{ev}) }
	c.r = engine.New(ec)
	return c
}

func shellConfig(cfg coreConfig) engine.Config {
	var n uint64
	return engine.Config{
		NewID:                    func() string { n++; return "id-" + strconv.FormatUint(n, 10) },
		KeepWorkersOnOfferExpiry: cfg.keepWorkersOnOfferExpiry,
	}
}

var errNaiveClosed = fmt.Errorf("naive router: %w", jobrouter.ErrClosed)

// do runs one call: lock, advance to the mock time, apply f, publish, unlock.
func (c *naiveCore) do(f func(now time.Time) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errNaiveClosed
	}
	now := c.t
	c.r.Advance(now)
	err := f(now)
	c.publish(c.r.TakeEvents())
	return err
}

func (c *naiveCore) upsertPolicy(p policySpec) error {
	kind := engine.LongestIdle
	if p.mode == bestWorker {
		kind = engine.BestWorker
	}
	return c.do(func(now time.Time) error {
		_, err := c.r.UpsertDistributionPolicy(now, engine.DistributionPolicy{ID: p.id, OfferExpiresAfter: p.offerExpiresAfter,
			Mode: engine.Mode{Kind: kind, MinConcurrentOffers: p.minOffers, MaxConcurrentOffers: p.maxOffers, Descending: true}})
		return err
	})
}

func (c *naiveCore) upsertQueue(id, policyID string) error {
	return c.do(func(now time.Time) error {
		_, err := c.r.UpsertQueue(now, engine.Queue{ID: id, DistributionPolicyID: policyID})
		return err
	})
}

func (c *naiveCore) upsertWorker(w workerSpec) error {
	ew := engine.Worker{
		ID:                 w.id,
		Queues:             slices.Clone(w.queues),
		Capacity:           w.capacity,
		Channels:           []engine.ChannelConfig{{ChannelID: channelID, CapacityCostPerJob: 1, MaxNumberOfJobs: w.maxJobs}},
		Labels:             maps.Clone(w.labels),
		AvailableForOffers: w.available,
	}
	return c.do(func(now time.Time) error {
		_, err := c.r.UpsertWorker(now, ew)
		return err
	})
}

func (c *naiveCore) createJob(j jobSpec) error {
	var sel []engine.Selector
	for _, s := range j.selectors {
		sel = append(sel, engine.Selector{Key: s.key, Op: labels.Equal, Value: s.value})
	}
	ej := engine.Job{ID: j.id, ChannelID: channelID, QueueID: j.queueID, Priority: j.priority,
		RequestedWorkerSelectors: sel, Labels: maps.Clone(j.labels)}
	return c.do(func(now time.Time) error {
		_, err := c.r.CreateJob(now, ej)
		return err
	})
}

func (c *naiveCore) cancelJob(jobID string) error {
	return c.do(func(now time.Time) error { return c.r.CancelJob(now, jobID, "", "") })
}

func (c *naiveCore) deleteJob(jobID string) error {
	return c.do(func(now time.Time) error { return c.r.DeleteJob(now, jobID) })
}

func (c *naiveCore) accept(workerID, offerID string) (string, error) {
	var aid string
	err := c.do(func(now time.Time) error {
		var err error
		_, aid, err = c.r.AcceptOffer(now, workerID, offerID)
		return err
	})
	return aid, err
}

func (c *naiveCore) decline(workerID, offerID string, retryAt time.Time) error {
	return c.do(func(now time.Time) error { return c.r.DeclineOffer(now, workerID, offerID, retryAt) })
}

func (c *naiveCore) complete(jobID, assignmentID string) error {
	return c.do(func(now time.Time) error { return c.r.CompleteJob(now, jobID, assignmentID, "") })
}

func (c *naiveCore) closeJob(jobID, assignmentID, code string) error {
	return c.do(func(now time.Time) error {
		return c.r.CloseJob(now, jobID, assignmentID, code, "", time.Time{})
	})
}

func (c *naiveCore) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// advanceTo moves the mock time; the call itself advances the router to it.
func (c *naiveCore) advanceTo(t time.Time) error {
	c.mu.Lock()
	if t.After(c.t) {
		c.t = t
	}
	c.mu.Unlock()
	return c.do(func(time.Time) error { return nil })
}

func (c *naiveCore) subscribe(o subOptions) subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := o.maxBacklog
	if n <= 0 {
		n = 65_536
	}
	s := &naiveSub{c: c, ch: make(chan event, n), workerID: o.workerID}
	if len(o.types) > 0 {
		s.types = map[string]bool{}
		for _, t := range o.types {
			s.types[t] = true
		}
	}
	if c.closed {
		s.stopLocked(errNaiveClosed)
		return s
	}
	c.subs = append(c.subs, s)
	return s
}

func (c *naiveCore) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	for _, s := range c.subs {
		s.stopLocked(nil)
	}
	c.subs = nil
}

// publish hands evs to every subscription without blocking. Called with c.mu held.
func (c *naiveCore) publish(evs []engine.Event) {
	if len(evs) == 0 || len(c.subs) == 0 {
		return
	}
	out := make([]event, len(evs))
	for i, ev := range evs {
		out[i] = event{typ: string(ev.Type), seq: ev.Seq, at: ev.Time, jobID: ev.JobID,
			workerID: ev.WorkerID, offerID: ev.OfferID, expiresAt: ev.ExpiresAt}
	}
	c.subs = slices.DeleteFunc(c.subs, func(s *naiveSub) bool {
		for _, ev := range out {
			if s.types != nil && !s.types[ev.typ] || s.workerID != "" && ev.workerID != s.workerID {
				continue
			}
			select {
			case s.ch <- ev:
			default:
				s.stopLocked(fmt.Errorf("naive router: subscription more than %d events behind: %w", cap(s.ch), jobrouter.ErrSlowSubscriber))
				return true
			}
		}
		return false
	})
}

// naiveSub is a naiveCore subscription: a buffered channel. Its fields other than ch
// are guarded by the core's mutex.
type naiveSub struct {
	c        *naiveCore
	ch       chan event
	types    map[string]bool // nil: every type
	workerID string          // not empty: only this worker's events
	stopped  bool
	failure  error
}

// stopLocked closes the channel (the reader still gets what is buffered). Called
// with c.mu held.
func (s *naiveSub) stopLocked(err error) {
	if s.stopped {
		return
	}
	s.stopped = true
	s.failure = err
	close(s.ch)
}

func (s *naiveSub) next() (event, bool) {
	ev, ok := <-s.ch
	return ev, ok
}

func (s *naiveSub) nextWithin(d time.Duration) (event, bool, bool) {
	select { // usually there already: no timer (see realSub.nextWithin)
	case ev, ok := <-s.ch:
		return ev, ok, false
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case ev, ok := <-s.ch:
		return ev, ok, false
	case <-t.C:
		return event{}, false, true
	}
}

// poll drains what the channel holds: the thin shell's subscriptions serve both
// modes, since publishing never blocks.
func (s *naiveSub) poll(dst []event) []event {
	for {
		select {
		case ev, ok := <-s.ch:
			if !ok {
				return dst
			}
			dst = append(dst, ev)
		default:
			return dst
		}
	}
}

func (s *naiveSub) err() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.failure
}

func (s *naiveSub) close() {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.stopLocked(nil)
	s.c.subs = slices.DeleteFunc(s.c.subs, func(x *naiveSub) bool { return x == s })
}
