package jobrouter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
)

var ctx = context.Background()

// start is the mock clock's start in these tests.
var start = time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)

// fixture is a Router on a mock clock with deterministic IDs, a LongestIdle policy
// "p" (offers expire after a minute) and a queue "q".
type fixture struct {
	t   *testing.T
	r   *Router
	clk *clock.Mock
	sub *Subscription
}

func newFixture(t *testing.T, opts *Options) *fixture {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(start)
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if !o.ManualTime {
		o.Clock = clk
	}
	var mu sync.Mutex
	n := 0
	o.NewID = func() string { mu.Lock(); defer mu.Unlock(); n++; return fmt.Sprintf("id%d", n) }
	r, err := New(&o)
	require.NoError(t, err)
	f := &fixture{t: t, r: r, clk: clk}
	f.sub = r.Subscribe(nil)
	t.Cleanup(func() {
		f.sub.Close()
		require.NoError(t, r.Close())
	})
	_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: LongestIdleMode{}})
	require.NoError(t, err)
	_, err = r.UpsertQueue(ctx, Queue{ID: "q", DistributionPolicyID: "p"})
	require.NoError(t, err)
	return f
}

func (f *fixture) worker(id string, capacity int) {
	f.t.Helper()
	_, err := f.r.UpsertWorker(ctx, Worker{ID: id, Queues: []string{"q"}, Capacity: capacity,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: true})
	require.NoError(f.t, err)
}

func (f *fixture) job(id string) Job {
	f.t.Helper()
	j, err := f.r.CreateJob(ctx, Job{ID: id, ChannelID: "voice", QueueID: "q"})
	require.NoError(f.t, err)
	return j
}

// next returns the next event of type T, skipping others; it fails after a second of
// real time (the events are already queued when the call that caused them returns,
// so this only waits for the delivery goroutine).
func next[T Event](f *fixture) T {
	f.t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-f.sub.Events():
			require.True(f.t, ok, "subscription closed: %v", f.sub.Err())
			if e, ok := ev.(T); ok {
				return e
			}
		case <-timeout.C:
			var zero T
			f.t.Fatalf("no %T event", zero)
		}
	}
}

func TestMockClockExpiryIsSeenByTheNextCall(t *testing.T) {
	f := newFixture(t, nil)
	f.worker("w1", 1)
	f.job("j1")
	o := next[OfferIssued](f)
	require.Equal(t, start.Add(time.Minute), o.ExpiresAt)

	f.clk.Add(time.Minute - time.Nanosecond)
	w, err := f.r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Len(t, w.Offers, 1, "one nanosecond before expiry the offer is open")

	f.clk.Add(time.Nanosecond)
	w, err = f.r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Empty(t, w.Offers, "at OfferedAt+OfferExpiresAfter the offer has expired")
	require.Equal(t, WorkerStateInactive, w.State, "deregistered on expiry by default")
	_, err = f.r.AcceptJobOffer(ctx, "w1", o.OfferID)
	require.ErrorIs(t, err, ErrNotFound)
	ex := next[OfferExpired](f)
	require.Equal(t, o.OfferID, ex.OfferID)
	require.Equal(t, start.Add(time.Minute), ex.Time(), "the event carries the deadline's time")
}

func TestMockClockTimerFiresWithoutACall(t *testing.T) {
	f := newFixture(t, &Options{KeepWorkersOnOfferExpiry: true})
	f.worker("w1", 1)
	f.job("j1")
	o := next[OfferIssued](f)
	f.clk.Add(2 * time.Minute) // no Router call after this: the timer alone fires
	ex := next[OfferExpired](f)
	require.Equal(t, o.OfferID, ex.OfferID)
	again := next[OfferIssued](f) // kept registered: offered again at the timer's time
	require.Equal(t, "w1", again.WorkerID)
	require.NotEqual(t, o.OfferID, again.OfferID)
}

func TestRetryOfferAtAndCloseAtOnMockClock(t *testing.T) {
	f := newFixture(t, nil)
	f.worker("w1", 1)
	f.job("j1")
	o := next[OfferIssued](f)
	require.NoError(t, f.r.DeclineJobOffer(ctx, "w1", o.OfferID, &DeclineJobOfferOptions{RetryOfferAt: start.Add(5 * time.Minute)}))
	f.clk.Add(5*time.Minute - time.Nanosecond)
	w, _ := f.r.GetWorker(ctx, "w1")
	require.Empty(t, w.Offers, "not before RetryOfferAt")
	f.clk.Add(time.Nanosecond)
	w, _ = f.r.GetWorker(ctx, "w1")
	require.Len(t, w.Offers, 1, "eligible again from RetryOfferAt")

	res, err := f.r.AcceptJobOffer(ctx, "w1", w.Offers[0].ID)
	require.NoError(t, err)
	closeAt := f.clk.Now().Add(10 * time.Minute)
	require.NoError(t, f.r.CloseJob(ctx, "j1", res.AssignmentID, &CloseJobOptions{DispositionCode: "Resolved", CloseAt: closeAt}))
	j, _ := f.r.GetJob(ctx, "j1")
	require.Equal(t, JobStatusCompleted, j.Status)
	w, _ = f.r.GetWorker(ctx, "w1")
	require.Equal(t, 1.0, w.LoadRatio, "capacity held until CloseAt")
	f.clk.Add(10 * time.Minute)
	w, _ = f.r.GetWorker(ctx, "w1")
	require.Equal(t, 0.0, w.LoadRatio, "capacity released at CloseAt")
	closed := next[JobClosed](f)
	require.Equal(t, "Resolved", closed.DispositionCode)
	require.Equal(t, closeAt, closed.Time())
}

// The one test on the real clock: an offer with a 50 ms expiry expires by itself.
func TestRealClockOfferExpiry(t *testing.T) {
	r, err := New(nil)
	require.NoError(t, err)
	defer r.Close()
	sub := r.Subscribe(&SubscribeOptions{Types: []EventType{EventTypeOfferIssued, EventTypeOfferExpired}})
	defer sub.Close()
	_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: 50 * time.Millisecond, Mode: LongestIdleMode{}})
	require.NoError(t, err)
	_, err = r.UpsertQueue(ctx, Queue{ID: "q", DistributionPolicyID: "p"})
	require.NoError(t, err)
	_, err = r.UpsertWorker(ctx, Worker{ID: "w", Queues: []string{"q"}, Capacity: 1, Channels: []ChannelConfig{{ChannelID: "c", CapacityCostPerJob: 1}}, AvailableForOffers: true})
	require.NoError(t, err)
	_, err = r.CreateJob(ctx, Job{ID: "j", ChannelID: "c", QueueID: "q"})
	require.NoError(t, err)
	issued := (<-sub.Events()).(OfferIssued)
	select {
	case ev := <-sub.Events():
		ex, ok := ev.(OfferExpired)
		require.True(t, ok, "got %T", ev)
		require.Equal(t, issued.OfferID, ex.OfferID)
		require.False(t, ex.Time().Before(issued.ExpiresAt))
	case <-time.After(5 * time.Second):
		t.Fatal("the offer did not expire on the real clock")
	}
}

// Inside a synctest bubble the real clock is the bubble's fake time: the Router works
// unchanged and the test takes no real time.
func TestSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := New(nil)
		require.NoError(t, err)
		sub := r.Subscribe(&SubscribeOptions{Types: []EventType{EventTypeOfferExpired}})
		_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Hour, Mode: LongestIdleMode{}})
		require.NoError(t, err)
		_, err = r.UpsertQueue(ctx, Queue{ID: "q", DistributionPolicyID: "p"})
		require.NoError(t, err)
		_, err = r.UpsertWorker(ctx, Worker{ID: "w", Queues: []string{"q"}, Capacity: 1, Channels: []ChannelConfig{{ChannelID: "c", CapacityCostPerJob: 1}}, AvailableForOffers: true})
		require.NoError(t, err)
		start := time.Now()
		_, err = r.CreateJob(ctx, Job{ID: "j", ChannelID: "c", QueueID: "q"})
		require.NoError(t, err)
		ev := <-sub.Events() // blocks until the bubble's clock reaches the expiry
		require.Equal(t, start.Add(time.Hour), ev.Time())
		w, err := r.GetWorker(ctx, "w")
		require.NoError(t, err)
		require.Equal(t, WorkerStateInactive, w.State)
		require.NoError(t, r.Close())
		_, ok := <-sub.Events()
		require.False(t, ok)
	})
}

// Many goroutines accept the same job's concurrent offers at once: exactly one wins,
// every other gets ErrNotFound (its offer was revoked), every time.
func TestConcurrentAcceptsHaveExactlyOneWinner(t *testing.T) {
	const workers = 16
	for round := 0; round < 50; round++ {
		f := newFixture(t, nil)
		_, err := f.r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute,
			Mode: LongestIdleMode{MinConcurrentOffers: workers, MaxConcurrentOffers: workers}})
		require.NoError(t, err)
		for i := 0; i < workers; i++ {
			f.worker(fmt.Sprintf("w%02d", i), 1)
		}
		f.job("j")
		j, err := f.r.GetJob(ctx, "j")
		require.NoError(t, err)
		require.Equal(t, JobStatusQueued, j.Status)
		var offers []Offer
		ws, err := f.r.ListWorkers(ctx, nil)
		require.NoError(t, err)
		require.Len(t, ws.Workers, workers)
		for _, w := range ws.Workers {
			require.Len(t, w.Offers, 1)
			offers = append(offers, w.Offers[0])
		}
		var wins sync.WaitGroup
		results := make([]error, workers)
		start := make(chan struct{})
		for i, o := range offers {
			wins.Add(1)
			go func() {
				defer wins.Done()
				<-start
				_, results[i] = f.r.AcceptJobOffer(ctx, o.WorkerID, o.ID)
			}()
		}
		close(start)
		wins.Wait()
		won := 0
		for _, err := range results {
			if err == nil {
				won++
			} else {
				require.ErrorIs(t, err, ErrNotFound)
			}
		}
		require.Equal(t, 1, won, "round %d", round)
		j, err = f.r.GetJob(ctx, "j")
		require.NoError(t, err)
		require.Equal(t, JobStatusAssigned, j.Status)
		require.Len(t, j.Assignments, 1)
		f.sub.Close()
		require.NoError(t, f.r.Close())
	}
}

func TestManualTime(t *testing.T) {
	f := newFixture(t, &Options{ManualTime: true, StartTime: start, KeepWorkersOnOfferExpiry: true})
	require.Equal(t, start, f.r.Now())
	f.worker("w1", 1)
	f.job("j1")
	o := next[OfferIssued](f)
	d, ok := f.r.NextDeadline()
	require.True(t, ok)
	require.Equal(t, o.ExpiresAt, d)
	require.NoError(t, f.r.AdvanceTo(d))
	require.Equal(t, d, f.r.Now())
	ex := next[OfferExpired](f)
	require.Equal(t, d, ex.Time())
	o2 := next[OfferIssued](f)
	require.Equal(t, d, o2.OfferedAt)
	require.ErrorIs(t, f.r.AdvanceTo(d.Add(-time.Second)), ErrInvalidArgument)

	clocked := newFixture(t, nil)
	require.ErrorIs(t, clocked.r.AdvanceTo(start.Add(time.Hour)), ErrInvalidArgument)
	require.Equal(t, clocked.clk.Now(), clocked.r.Now(), "a clocked Router's time is its clock's")
}

func TestCloseMakesLaterCallsFailAndDeliversQueuedEvents(t *testing.T) {
	f := newFixture(t, nil)
	f.sub.Close() // nobody reads it here; left open, Close would wait CloseTimeout for it
	sub := f.r.Subscribe(&SubscribeOptions{JobID: "j1"})
	f.worker("w1", 1)
	f.job("j1")
	var types []EventType
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for ev := range sub.Events() {
			types = append(types, ev.Type())
		}
	}()
	require.NoError(t, f.r.Close())
	<-drained // Close has returned, so the channel is closed: this does not wait
	require.NoError(t, f.r.Close(), "Close is idempotent")
	require.NoError(t, sub.Err())
	require.Equal(t, []EventType{EventTypeJobReceived, EventTypeJobQueued, EventTypeOfferIssued}, types)

	_, err := f.r.GetJob(ctx, "j1")
	require.ErrorIs(t, err, ErrClosed)
	_, err = f.r.CreateJob(ctx, Job{ID: "j2", ChannelID: "voice", QueueID: "q"})
	require.ErrorIs(t, err, ErrClosed)
	late := f.r.Subscribe(nil)
	_, ok := <-late.Events()
	require.False(t, ok)
	require.ErrorIs(t, late.Err(), ErrClosed)
}

func TestCancelledContext(t *testing.T) {
	f := newFixture(t, nil)
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := f.r.CreateJob(c, Job{ID: "j1", ChannelID: "voice", QueueID: "q"})
	require.ErrorIs(t, err, context.Canceled)
	_, err = f.r.GetJob(ctx, "j1")
	require.ErrorIs(t, err, ErrNotFound, "nothing was created")
}

func TestErrorsAreTypedAndNamed(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.r.AcceptJobOffer(ctx, "w1", "o-missing")
	require.ErrorIs(t, err, ErrNotFound)
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, "offer", e.Entity)
	require.Equal(t, "o-missing", e.ID)
	require.Contains(t, err.Error(), `jobrouter: accept`)

	_, err = f.r.UpsertWorker(ctx, Worker{ID: "w", Capacity: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
	f.job("j1")
	_, err = f.r.CreateJob(ctx, Job{ID: "j1", ChannelID: "voice", QueueID: "q"})
	require.ErrorIs(t, err, ErrConflict)
}

// A panic inside the Router (here: in a user's scoring function, which the engine
// recovers; and a NewID that panics, which the shell recovers) never escapes.
func TestNoPanicEscapes(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute,
		Mode: BestWorkerMode{ScoringFunc: func(context.Context, ScoringInput) (float64, error) { panic("boom") }}})
	require.NoError(t, err)
	f.worker("w1", 1)
	f.job("j1")
	o := next[OfferIssued](f)
	require.Equal(t, "w1", o.WorkerID, "a panicking scorer scores worst, but the worker is still offered")

	r, err := New(&Options{NewID: func() string { panic("no ids today") }, Clock: clock.NewMock()})
	require.NoError(t, err)
	defer r.Close()
	_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute, Mode: LongestIdleMode{}})
	require.NoError(t, err)
	_, err = r.UpsertQueue(ctx, Queue{ID: "q", DistributionPolicyID: "p"})
	require.NoError(t, err)
	// A NewID that panics is replaced by an internal ID: the call still succeeds.
	j, err := r.CreateJob(ctx, Job{ChannelID: "c", QueueID: "q"})
	require.NoError(t, err)
	require.Equal(t, "jr-1", j.ID)
}

// Values cross the API by copy: writing to what a call returned, or to what it was
// given, changes nothing inside the Router.
func TestValuesAreCopies(t *testing.T) {
	f := newFixture(t, nil)
	in := Job{ID: "j1", ChannelID: "voice", QueueID: "q", Labels: Labels{"tier": "gold"}}
	out, err := f.r.CreateJob(ctx, in)
	require.NoError(t, err)
	in.Labels["tier"] = "changed-input"
	out.Labels["tier"] = "changed-output"
	got, err := f.r.GetJob(ctx, "j1")
	require.NoError(t, err)
	require.Equal(t, "gold", got.Labels["tier"])
	ev := next[JobReceived](f)
	ev.Labels["tier"] = "changed-event"
	got, _ = f.r.GetJob(ctx, "j1")
	require.Equal(t, "gold", got.Labels["tier"])
}

// What a call was given is not kept: the conversions pass a job's Labels and Tags and
// a worker's Queues, Labels and Tags through to the engine, which copies (or interns)
// them within the call and writes to none of them. Writing to every input map and
// slice afterwards changes neither the stored job and worker nor the events already
// published; and the calls left the inputs as they were.
func TestInputsAreNotAliased(t *testing.T) {
	f := newFixture(t, nil)
	w := Worker{ID: "w1", Queues: []string{"q"}, Capacity: 1, AvailableForOffers: true,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}},
		Labels:   Labels{"lang": "en", "tier": 2}, Tags: Labels{"team": "a"}}
	_, err := f.r.UpsertWorker(ctx, w)
	require.NoError(t, err)
	require.Equal(t, Labels{"lang": "en", "tier": 2}, w.Labels, "the call wrote to the caller's labels")
	j := Job{ID: "j1", ChannelID: "voice", QueueID: "q", Labels: Labels{"tier": "gold"}, Tags: Labels{"crm": "abc"},
		RequestedWorkerSelectors: []WorkerSelector{{Key: "lang", LabelOperator: LabelOperatorEqual, Value: "en"}},
		Notes:                    []Note{{Message: "hello"}}}
	_, err = f.r.CreateJob(ctx, j)
	require.NoError(t, err)
	require.Equal(t, Labels{"tier": "gold"}, j.Labels, "the call wrote to the caller's labels")

	w.Queues[0] = "changed"
	w.Labels["lang"], w.Labels["new"] = "fr", 1
	w.Tags["team"] = "b"
	w.Channels[0].CapacityCostPerJob = 9
	j.Labels["tier"], j.Labels["new"] = "changed", 1
	j.Tags["crm"] = "changed"
	j.RequestedWorkerSelectors[0].Value = "fr"
	j.Notes[0].Message = "changed"

	gw, err := f.r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Equal(t, []string{"q"}, gw.Queues)
	require.Equal(t, Labels{"Id": "w1", "lang": "en", "tier": 2}, gw.Labels)
	require.Equal(t, Labels{"team": "a"}, gw.Tags)
	require.Equal(t, 1, gw.Channels[0].CapacityCostPerJob)
	gj, err := f.r.GetJob(ctx, "j1")
	require.NoError(t, err)
	require.Equal(t, Labels{"tier": "gold"}, gj.Labels)
	require.Equal(t, Labels{"crm": "abc"}, gj.Tags)
	require.Equal(t, "en", gj.RequestedWorkerSelectors[0].Value)
	require.Equal(t, "hello", gj.Notes[0].Message)

	reg := next[WorkerRegistered](f)
	require.Equal(t, Labels{"Id": "w1", "lang": "en", "tier": 2}, reg.Labels)
	require.Equal(t, Labels{"team": "a"}, reg.Tags)
	require.Equal(t, []string{"q"}, reg.Queues)
	rec := next[JobReceived](f)
	require.Equal(t, Labels{"tier": "gold"}, rec.Labels)
	require.Equal(t, Labels{"crm": "abc"}, rec.Tags)
	// The worker still matches on its stored labels: the job, which asks for "en",
	// is offered to it.
	o := next[OfferIssued](f)
	require.Equal(t, "w1", o.WorkerID)
	require.Equal(t, Labels{"Id": "w1", "lang": "en", "tier": 2}, o.WorkerLabels)

	// An update through the same maps, written to after the first call, is taken as
	// it is at the second call, and kept apart from them again.
	w.Queues[0] = "q"
	_, err = f.r.UpsertWorker(ctx, w)
	require.NoError(t, err)
	w.Labels["lang"] = "de"
	gw, err = f.r.GetWorker(ctx, "w1")
	require.NoError(t, err)
	require.Equal(t, Labels{"Id": "w1", "lang": "fr", "new": 1, "tier": 2}, gw.Labels)
	require.Equal(t, Labels{"team": "b"}, w.Tags, "the call wrote to the caller's tags")
	require.Equal(t, []string{"q"}, w.Queues, "the call wrote to the caller's queues")

	// UpdateJob, the third caller of the job conversion, keeps nothing either.
	u := Job{ID: "j1", ChannelID: "voice", QueueID: "q", Labels: Labels{"tier": "silver"}, Tags: Labels{"crm": "upd"}}
	_, err = f.r.UpdateJob(ctx, u)
	require.NoError(t, err)
	require.Equal(t, Labels{"tier": "silver"}, u.Labels, "the call wrote to the caller's labels")
	require.Equal(t, Labels{"crm": "upd"}, u.Tags, "the call wrote to the caller's tags")
	u.Labels["tier"], u.Tags["crm"] = "changed", "changed"
	gj, err = f.r.GetJob(ctx, "j1")
	require.NoError(t, err)
	require.Equal(t, Labels{"tier": "silver"}, gj.Labels)
	require.Equal(t, Labels{"crm": "upd"}, gj.Tags)
}

func TestOptionsValidation(t *testing.T) {
	_, err := New(&Options{DefaultMaxBacklog: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = New(&Options{CloseTimeout: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = New(&Options{MaxConcurrentWebhooks: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
}

// A worker-filtered subscriber learns that the job it held was cancelled: the event
// names the assignment and the worker.
func TestJobCancelledNamesTheWorkerThatHeldTheJob(t *testing.T) {
	f := newFixture(t, nil)
	f.worker("w1", 1)
	sub := f.r.Subscribe(&SubscribeOptions{WorkerID: "w1", Types: []EventType{EventTypeJobCancelled}})
	defer sub.Close()
	f.job("j1")
	o := next[OfferIssued](f)
	res, err := f.r.AcceptJobOffer(ctx, "w1", o.OfferID)
	require.NoError(t, err)
	require.NoError(t, f.r.CancelJob(ctx, "j1", nil))
	ev := (<-sub.Events()).(JobCancelled)
	require.Equal(t, "w1", ev.WorkerID)
	require.Equal(t, res.AssignmentID, ev.AssignmentID)
	require.Equal(t, "Cancelled", ev.DispositionCode)
}

// The Workers the Router returns (UpsertWorker, GetWorker, ListWorkers) share nothing
// with its state, nor with each other: writing to every map and slice of one changes
// neither what the Router returns next nor another returned value.
func TestReturnedWorkersShareNothing(t *testing.T) {
	r := newManualRouter(t, nil)
	in := Worker{ID: "w", Queues: []string{"q"}, Capacity: 2,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}},
		Labels:   Labels{"lang": "en", "skill": 7}, Tags: Labels{"team": "a"}, AvailableForOffers: true}
	upserted, err := r.UpsertWorker(ctx, in)
	require.NoError(t, err)
	got, err := r.GetWorker(ctx, "w")
	require.NoError(t, err)
	page, err := r.ListWorkers(ctx, nil)
	require.NoError(t, err)
	require.Len(t, page.Workers, 1)
	// Built here, not returned by the Router, so that it shares nothing either.
	want := Worker{ID: "w", Queues: []string{"q"}, Capacity: 2,
		Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}},
		Labels:   Labels{"Id": "w", "lang": "en", "skill": 7}, Tags: Labels{"team": "a"},
		AvailableForOffers: true, State: WorkerStateActive}
	require.Equal(t, want, got)

	scribble := func(w *Worker) {
		w.Queues[0] = "x"
		w.Channels[0].ChannelID = "x"
		w.Labels["lang"] = "x"
		w.Labels["new"] = 1
		w.Tags["team"] = "x"
	}
	scribble(&upserted)
	for _, w := range []Worker{got, page.Workers[0]} {
		require.Equal(t, want, w, "a returned worker changed when another was written to")
	}
	scribble(&got)
	scribble(&page.Workers[0])
	again, err := r.GetWorker(ctx, "w")
	require.NoError(t, err)
	require.Equal(t, want, again, "the router's worker changed when a returned one was written to")

	// An update with the same labels in a new map returns them afresh too.
	again2, err := r.UpsertWorker(ctx, in)
	require.NoError(t, err)
	scribble(&again2)
	again, err = r.GetWorker(ctx, "w")
	require.NoError(t, err)
	require.Equal(t, want, again)
}
