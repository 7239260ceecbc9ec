package jobrouter

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/google/uuid"

	"github.com/openjobrouter/jobrouter/internal/engine"
	"github.com/openjobrouter/jobrouter/internal/lockprobe"
)

// Router is an in-memory job router. Create one with New; it is safe for concurrent
// use by any number of goroutines. Every method runs under one mutex: it reads the
// clock, fires every deadline that has fallen due (offer expiries, RetryOfferAt
// times, CloseAt times), applies the operation, queues the resulting events for
// each subscriber and returns. See the package documentation for the full contract.
type Router struct {
	mu     routerMutex
	eng    *engine.Engine
	bus    *bus
	closed bool

	// Time: exactly one of clk and manual is in use.
	clk       clock.Clock
	manual    bool
	manualNow time.Time

	// The one timer, armed at the earliest pending deadline (zero armed: disarmed).
	timer *clock.Timer
	armed time.Time

	closeTimeout time.Duration

	// Rules: compiled at policy upsert; webhooks evaluated by goroutines counted in
	// ruleWG, which Close waits for (webhook.go).
	rules  *ruleCompiler
	ruleWG sync.WaitGroup
}

// New returns a Router configured by opts; nil opts means every default. It fails
// with ErrInvalidArgument when an option is out of range.
func New(opts *Options) (*Router, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.DefaultMaxBacklog < 0 {
		return nil, errInvalid("new router", "options", "", "DefaultMaxBacklog must not be negative")
	}
	if o.CloseTimeout < 0 {
		return nil, errInvalid("new router", "options", "", "CloseTimeout must not be negative")
	}
	if o.DefaultMaxBacklog == 0 {
		o.DefaultMaxBacklog = defaultMaxBacklog
	}
	if o.CloseTimeout == 0 {
		o.CloseTimeout = defaultCloseTimeout
	}
	if o.NewID == nil {
		o.NewID = uuid.NewString
	}
	rules, err := newRuleCompiler(&o)
	if err != nil {
		return nil, err
	}
	r := &Router{
		bus:          newBus(o.DefaultMaxBacklog),
		manual:       o.ManualTime,
		closeTimeout: o.CloseTimeout,
		rules:        rules,
	}
	// Events go to the subscribers as the engine records them (under r.mu, in
	// order), so that no command buffers its events, however many it makes.
	r.eng = engine.New(engine.Config{
		NewID:                    o.NewID,
		KeepWorkersOnOfferExpiry: o.KeepWorkersOnOfferExpiry,
		MaxJobAge:                o.MaxJobAge,
		Seed:                     o.Seed,
		Emit:                     func(ev engine.Event) { r.bus.publishOne(&ev) }, // ev stays on the stack: publishOne keeps no pointer to it
	})
	r.eng.SetWanted(0) // no subscription yet: no event is built (see syncWanted)
	if o.ManualTime {
		r.manualNow = o.StartTime
		if r.manualNow.IsZero() {
			r.manualNow = time.Unix(0, 0).UTC()
		}
		return r, nil
	}
	r.clk = o.Clock
	if r.clk == nil {
		r.clk = clock.New()
	}
	// One timer for the Router's whole life: created stopped, re-armed by rearm.
	// AfterFunc (rather than a channel timer) because the mock clock blocks while
	// holding its own lock when a channel timer's buffer is full.
	r.timer = r.clk.AfterFunc(time.Duration(math.MaxInt64), r.onTimer)
	r.timer.Stop()
	return r, nil
}

// Close stops the Router. Later calls return ErrClosed. Close stops the timer,
// aborts the webhook requests in flight (their answers are dropped; the jobs stay
// pendingClassification) and waits for them, then lets every subscription put the
// events already queued for it on its channel (giving up on a reader that takes none
// for Options.CloseTimeout, in real time) and closes the channel; the reader takes
// the last events, up to the channel's buffer of 64, from the closed channel. A
// Synchronous subscription ends at once, without making Close wait: what it had
// queued can still be taken by Poll. No goroutine started by the Router outlives
// Close. Close is idempotent and always returns nil.
//
// Because Close waits for readers, do not call it from a goroutine that is the
// reader of a subscription holding more events than its channel's buffer: close that
// Subscription first (or Close waits out the CloseTimeout and cuts it off with
// ErrSlowSubscriber).
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
	r.closeRules()
	r.bus.close(r.closeTimeout)
	return nil
}

// AdvanceTo moves a ManualTime Router's time to t, firing every deadline due by then
// in time order. It returns ErrInvalidArgument when the Router has a clock or when t
// is before the Router's current time.
func (r *Router) AdvanceTo(t time.Time) error {
	const op = "advance time"
	r.mu.Lock()
	defer r.bus.help() // after the unlock: delivers to a parked subscriber
	defer r.mu.Unlock()
	if r.closed {
		return errClosed(op)
	}
	if !r.manual {
		return errInvalid(op, "router", "", "the router has a clock; AdvanceTo needs Options.ManualTime")
	}
	if t.Before(r.manualNow) {
		return errInvalid(op, "router", "", fmt.Sprintf("time %s is before the router's time %s", t.Format(time.RFC3339Nano), r.manualNow.Format(time.RFC3339Nano)))
	}
	r.manualNow = t
	err := r.safely(func() error { r.eng.Advance(t); return nil })
	r.flush()
	return wrapErr(op, err)
}

// NextDeadline returns the earliest pending deadline (an offer expiry, a RetryOfferAt,
// a CloseAt), and false when there is none. A discrete-event simulator jumps there
// with AdvanceTo.
func (r *Router) NextDeadline() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.eng.NextDeadline()
}

// Now returns the Router's current time: its clock's time, or with ManualTime the
// time AdvanceTo last moved it to (Options.StartTime at first). A discrete-event
// loop reads it instead of keeping its own copy.
func (r *Router) Now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now()
}

// routerMutex is the Router's lock: a sync.Mutex that, built with the lockprobe tag,
// also times how long it is held (internal/lockprobe, for the benchmarks). In any
// other build the Span is empty, takes no room (it comes first: a zero-size last
// field would be padded) and its calls are inlined away. Only Lock and Unlock are
// offered, so that every holding is timed.
type routerMutex struct {
	span lockprobe.Span
	mu   sync.Mutex
}

// Lock takes the lock.
func (m *routerMutex) Lock() {
	m.mu.Lock()
	m.span.Start()
}

// Unlock releases it.
func (m *routerMutex) Unlock() {
	m.span.Stop()
	m.mu.Unlock()
}

// now reads the Router's time. Called with r.mu held.
func (r *Router) now() time.Time {
	if r.manual {
		return r.manualNow
	}
	return r.clk.Now()
}

// do runs one public operation: lock, fire due deadlines, apply f (the engine hands
// its events to the subscribers as it records them), re-arm the timer, unlock.
func (r *Router) do(ctx context.Context, op string, f func(now time.Time) error) error {
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return &Error{Op: op, Reason: err.Error(), Err: err}
		}
	}
	r.mu.Lock()
	defer r.bus.help() // after the unlock: delivers to a parked subscriber
	defer r.mu.Unlock()
	if r.closed {
		return errClosed(op)
	}
	now := r.now()
	err := r.safely(func() error {
		r.eng.Advance(now)
		return f(now)
	})
	r.flush()
	return wrapErr(op, err)
}

// safely runs f, the engine work of a command (every call that moves the engine
// goes through it), turning a panic into an ErrInternal error so that none escapes.
// It first hands the engine the event types the subscriptions take (syncWanted).
// Called with r.mu held.
func (r *Router) safely(f func() error) (err error) {
	r.syncWanted()
	defer func() {
		if p := recover(); p != nil {
			// wrapErr fills in the operation.
			err = &Error{Reason: fmt.Sprintf("recovered panic: %v", p), Err: ErrInternal}
		}
	}()
	return f()
}

// flush starts the webhook evaluations the engine asks for and re-arms the timer
// (events were already published as the engine recorded them). Called with r.mu held.
func (r *Router) flush() {
	r.startRuleRequests()
	// The clock is read again: a mock clock may have moved since the call began, and
	// the timer's duration must count from the present.
	r.rearm(r.now())
}

// rearm points the one timer at the earliest pending deadline. Called with r.mu held.
func (r *Router) rearm(now time.Time) {
	if r.timer == nil {
		return
	}
	next, ok := r.eng.NextDeadline()
	if !ok {
		if !r.armed.IsZero() {
			r.timer.Stop()
			r.armed = time.Time{}
		}
		return
	}
	if next.Equal(r.armed) {
		return
	}
	d := next.Sub(now)
	if d < 0 {
		d = 0
	}
	r.timer.Reset(d)
	r.armed = next
}

// onTimer runs on the timer's goroutine when the earliest deadline is due.
func (r *Router) onTimer() {
	r.mu.Lock()
	defer r.bus.help() // after the unlock: delivers to a parked subscriber
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.armed = time.Time{}
	now := r.now()
	_ = r.safely(func() error { r.eng.Advance(now); return nil })
	r.flush()
}

// Subscribe returns a subscription to the Router's events; nil opts means every
// event. Events published after Subscribe returns are delivered in order, each
// subscription at its own pace (see Subscription); see the package documentation
// for slow readers.
// With SubscribeOptions.Synchronous the events are taken with Subscription.Poll
// instead of a channel. On a closed Router the subscription's channel is already
// closed, Poll returns nil and Err returns ErrClosed.
func (r *Router) Subscribe(opts *SubscribeOptions) *Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return closedSubscription(opts)
	}
	s := r.bus.subscribe(opts)
	r.syncWanted() // the engine builds what s takes (each command syncs too)
	return s
}

// syncWanted tells the engine which event types the subscriptions take, so that it
// builds no event that none of them would (engine.SetWanted). Every command calls
// it first (safely), under r.mu: the engine's set then holds the types of every
// subscription listed before the command began (a subscription is listed in
// Subscribe, under r.mu). A subscription that ends during a command (Close, an
// overflow: they do not take r.mu) leaves the set wider than needed until the next
// command, which costs only events built for nobody. Subscribe calls it too, so
// that between commands the engine's set is never narrower than the bus's. Called
// with r.mu held. O(1).
func (r *Router) syncWanted() { r.eng.SetWanted(r.bus.index.wanted.Load()) }
