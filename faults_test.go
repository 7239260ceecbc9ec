package jobrouter

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
)

// Faults, through the public Router: a subscriber that never reads, one that closes
// its subscription mid-stream, Close while many goroutines call, and a clock that
// jumps backwards (and forwards by hours). In each the Router keeps its invariants
// (checkRouterState, checkStream) and every failed call returns a typed error.
// A panicking or slow FuncRule and a panicking ScoringFunc are covered by
// TestFailingRulesFailClassification, TestFuncRuleThatIgnoresItsDeadline and
// TestNoPanicEscapes; the bus's own overflow and close rules by subscription_test.go.

// faultWorld is a Router with three queues, each offered to by its own workers.
type faultWorld struct {
	r   *Router
	clk *clock.Mock
}

func newFaultWorld(t *testing.T, opts Options) *faultWorld {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(start)
	opts.Clock = clk
	var mu sync.Mutex
	n := 0
	opts.NewID = func() string { mu.Lock(); defer mu.Unlock(); n++; return "id" + strconv.Itoa(n) }
	r, err := New(&opts)
	require.NoError(t, err)
	_, err = r.UpsertDistributionPolicy(ctx, DistributionPolicy{ID: "p", OfferExpiresAfter: time.Minute,
		Mode: LongestIdleMode{MaxConcurrentOffers: 2}})
	require.NoError(t, err)
	for q := range 3 {
		_, err = r.UpsertQueue(ctx, Queue{ID: "q" + strconv.Itoa(q), DistributionPolicyID: "p"})
		require.NoError(t, err)
	}
	for w := range 6 {
		_, err = r.UpsertWorker(ctx, Worker{ID: "w" + strconv.Itoa(w), Queues: []string{"q" + strconv.Itoa(w%3), "q" + strconv.Itoa((w+1)%3)},
			Capacity: 2, Channels: []ChannelConfig{{ChannelID: "voice", CapacityCostPerJob: 1}}, AvailableForOffers: true})
		require.NoError(t, err)
	}
	return &faultWorld{r: r, clk: clk}
}

// requireTyped requires err to be nil or a *Error wrapping one of the sentinels.
func requireTyped(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	require.True(t, errors.As(err, &e), "untyped error %v (%T)", err, err)
	for _, s := range []error{ErrNotFound, ErrInvalidArgument, ErrConflict, ErrClosed} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no expected sentinel", err)
}

// step runs one random operation: create, accept, decline, complete, close, cancel,
// unassign, update a worker, or read. It returns the error (typed or nil).
func (f *faultWorld) step(rng *rand.Rand, jobs *atomic.Int64) error {
	r := f.r
	switch rng.IntN(10) {
	case 0, 1:
		id := "j" + strconv.FormatInt(jobs.Add(1), 10)
		_, err := r.CreateJob(ctx, Job{ID: id, ChannelID: "voice", QueueID: "q" + strconv.Itoa(rng.IntN(3)), Priority: 1 + rng.IntN(3)})
		return err
	case 2, 3, 4:
		w, err := r.GetWorker(ctx, "w"+strconv.Itoa(rng.IntN(6)))
		if err != nil || len(w.Offers) == 0 {
			return err
		}
		o := w.Offers[rng.IntN(len(w.Offers))]
		if rng.IntN(3) == 0 {
			return r.DeclineJobOffer(ctx, w.ID, o.ID, &DeclineJobOfferOptions{RetryOfferAt: f.clk.Now().Add(10 * time.Second)})
		}
		_, err = r.AcceptJobOffer(ctx, w.ID, o.ID)
		return err
	case 5, 6, 7:
		w, err := r.GetWorker(ctx, "w"+strconv.Itoa(rng.IntN(6)))
		if err != nil || len(w.AssignedJobs) == 0 {
			return err
		}
		a := w.AssignedJobs[rng.IntN(len(w.AssignedJobs))]
		switch rng.IntN(4) {
		case 0:
			return r.CompleteJob(ctx, a.JobID, a.AssignmentID, nil)
		case 1:
			_, err = r.UnassignJob(ctx, a.JobID, a.AssignmentID, nil)
			return err
		}
		return r.CloseJob(ctx, a.JobID, a.AssignmentID, nil)
	case 8:
		return r.CancelJob(ctx, "j"+strconv.FormatInt(1+rng.Int64N(max(1, jobs.Load())), 10), nil)
	default:
		_, err := r.ListJobs(ctx, &ListJobsOptions{Active: true})
		return err
	}
}

// checkRouterState checks the invariants visible through the getters: a job is
// assigned or completed exactly when one worker holds it; offers are for queued jobs,
// at most one per worker and job; a worker's capacity covers what it holds.
func checkRouterState(t *testing.T, r *Router) {
	t.Helper()
	status := map[string]JobStatus{}
	for token := ""; ; {
		page, err := r.ListJobs(ctx, &ListJobsOptions{PageSize: MaxPageSize, ContinuationToken: token})
		require.NoError(t, err)
		for _, j := range page.Jobs {
			status[j.ID] = j.Status
		}
		if token = page.ContinuationToken; token == "" {
			break
		}
	}
	ws, err := r.ListWorkers(ctx, &ListWorkersOptions{PageSize: MaxPageSize})
	require.NoError(t, err)
	holders := map[string][]string{}
	for _, w := range ws.Workers {
		used, seen := 0, map[string]bool{}
		for _, o := range w.Offers {
			require.Equal(t, JobStatusQueued, status[o.JobID], "offer %s of job %s to %s", o.ID, o.JobID, w.ID)
			require.False(t, seen[o.JobID], "two offers of job %s to %s", o.JobID, w.ID)
			seen[o.JobID] = true
			used += o.CapacityCost
		}
		for _, a := range w.AssignedJobs {
			holders[a.JobID] = append(holders[a.JobID], w.ID)
			used += a.CapacityCost
		}
		require.LessOrEqual(t, used, w.Capacity, "worker %s", w.ID)
	}
	for id, st := range status {
		held := st == JobStatusAssigned || st == JobStatusCompleted
		require.Equal(t, held, len(holders[id]) == 1, "job %s is %s, held by %v", id, st, holders[id])
		require.LessOrEqual(t, len(holders[id]), 1, "job %s held by %v", id, holders[id])
	}
}

// stream collects what a subscription delivers and checks it as it goes.
type stream struct {
	events []Event
	done   chan struct{}
}

func follow(s *Subscription) *stream {
	st := &stream{done: make(chan struct{})}
	go func() {
		defer close(st.done)
		for ev := range s.Events() {
			st.events = append(st.events, ev)
		}
	}()
	return st
}

// checkStream checks an unfiltered subscription's events: sequence numbers without a
// gap, times that never go back, and every offer issued once and ended at most once.
func checkStream(t *testing.T, evs []Event) {
	t.Helper()
	open, ended := map[string]bool{}, map[string]bool{}
	for i, ev := range evs {
		if i > 0 {
			require.Equal(t, evs[i-1].Seq()+1, ev.Seq(), "gap after event %d", i-1)
			require.False(t, ev.Time().Before(evs[i-1].Time()), "event %d (%s) goes back in time", ev.Seq(), ev.Type())
		}
		var id string
		switch e := ev.(type) {
		case OfferIssued:
			require.False(t, open[e.OfferID] || ended[e.OfferID], "offer %s issued twice", e.OfferID)
			open[e.OfferID] = true
			continue
		case OfferAccepted:
			id = e.OfferID
		case OfferDeclined:
			id = e.OfferID
		case OfferExpired:
			id = e.OfferID
		case OfferRevoked:
			id = e.OfferID
		default:
			continue
		}
		// The stream may begin after the offer was issued; it ends at most once.
		require.False(t, ended[id], "offer %s ended twice (%s)", id, ev.Type())
		ended[id] = true
		delete(open, id)
	}
}

// A subscriber that never reads falls behind under load: its subscription is cut
// with ErrSlowSubscriber, no call blocks on it, and a subscriber that reads gets
// every event, in order, without a gap.
func TestFaultSubscriberThatNeverReads(t *testing.T) {
	f := newFaultWorld(t, Options{})
	stuck := f.r.Subscribe(&SubscribeOptions{MaxBacklog: 50})
	reader := follow(f.r.Subscribe(nil))
	rng := rand.New(rand.NewPCG(1, 1))
	var jobs atomic.Int64
	for i := range 3000 {
		requireTyped(t, f.step(rng, &jobs))
		if i%100 == 99 {
			f.clk.Add(20 * time.Second)
		}
	}
	require.ErrorIs(t, stuck.Err(), ErrSlowSubscriber)
	checkRouterState(t, f.r)
	require.NoError(t, f.r.Close())
	<-reader.done
	require.Greater(t, len(reader.events), 50)
	checkStream(t, reader.events)
}

// Subscribers that close their subscriptions mid-stream, from their own reading
// goroutine or from another, while several goroutines call the Router: nothing
// blocks or panics, the other subscribers miss nothing.
func TestFaultSubscriberClosesMidStream(t *testing.T) {
	f := newFaultWorld(t, Options{})
	full := follow(f.r.Subscribe(nil))
	var subs sync.WaitGroup
	for i := range 8 {
		s := f.r.Subscribe(nil)
		subs.Add(1)
		go func() {
			defer subs.Done()
			n := 0
			for range s.Events() {
				n++
				if n == 20*(i+1) {
					if i%2 == 0 {
						s.Close() // from the reading goroutine
					} else {
						go s.Close() // from another
					}
				}
			}
			require.NoError(t, s.Err(), "a subscription closed by its owner reports no error")
		}()
	}
	var callers sync.WaitGroup
	var jobs atomic.Int64
	for c := range 4 {
		callers.Add(1)
		go func() {
			defer callers.Done()
			rng := rand.New(rand.NewPCG(2, uint64(c)))
			for range 500 {
				requireTyped(t, f.step(rng, &jobs))
			}
		}()
	}
	callers.Wait()
	subs.Wait()
	checkRouterState(t, f.r)
	require.NoError(t, f.r.Close())
	<-full.done
	checkStream(t, full.events)
}

// Close while many goroutines call and the clock moves: every call returns nil or a
// typed error (ErrClosed once closed), Close returns, every subscription's channel
// closes, no goroutine is left behind (goleak), and the state stays consistent.
func TestFaultCloseDuringHeavyLoad(t *testing.T) {
	for round := range 5 {
		f := newFaultWorld(t, Options{CloseTimeout: 50 * time.Millisecond})
		full := follow(f.r.Subscribe(nil))
		_ = f.r.Subscribe(&SubscribeOptions{MaxBacklog: 10}) // never read
		var jobs atomic.Int64
		var closedSeen atomic.Int64
		stop, loaded := make(chan struct{}), make(chan struct{})
		var once sync.Once
		var wg sync.WaitGroup
		for c := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(c)))
				for { // until the Router is closed
					err := f.step(rng, &jobs)
					requireTyped(t, err)
					if jobs.Load() >= 200 {
						once.Do(func() { close(loaded) })
					}
					if errors.Is(err, ErrClosed) {
						closedSeen.Add(1)
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				select {
				case <-stop:
					return
				default:
				}
				f.clk.Add(7 * time.Second)
			}
		}()
		<-loaded // the load has built up
		require.NoError(t, f.r.Close())
		<-full.done // Close closed it
		close(stop)
		wg.Wait()
		require.Equal(t, int64(16), closedSeen.Load(), "every caller met the closed Router")
		checkStream(t, full.events)
		_, err := f.r.CreateJob(ctx, Job{ID: "late", ChannelID: "voice", QueueID: "q0"})
		require.ErrorIs(t, err, ErrClosed)
		require.NoError(t, f.r.Close(), "Close is idempotent")
	}
}

// A clock that jumps backwards is treated as standing still: nothing happens twice,
// event times never go back, a job created meanwhile is stamped with the Router's
// time, and each deadline still fires once, at its own instant, when the clock gets
// there (also after jumps of hours).
func TestFaultClockJumpsBackwards(t *testing.T) {
	f := newFaultWorld(t, Options{KeepWorkersOnOfferExpiry: true})
	reader := follow(f.r.Subscribe(nil))
	rng := rand.New(rand.NewPCG(3, 3))
	var jobs atomic.Int64
	high := f.clk.Now() // the latest time the clock has shown
	seen := high        // the latest time the Router has surely seen (at a call)
	last := high        // the latest job's EnqueuedAt
	for range 1000 {
		switch rng.IntN(12) {
		case 0:
			f.clk.Set(high.Add(-time.Duration(1+rng.IntN(7200)) * time.Second)) // back, up to two hours
		case 1:
			d := time.Duration(rng.IntN(600)) * time.Second // forward, minutes
			if rng.IntN(20) == 0 {
				d = time.Duration(1+rng.IntN(3)) * time.Hour // or hours
			}
			f.clk.Set(high.Add(d))
		case 2:
			next, ok := f.r.NextDeadline()
			if ok && next.After(f.clk.Now()) {
				f.clk.Set(next) // exactly onto a deadline
			}
		default:
			requireTyped(t, f.step(rng, &jobs))
			if now := f.clk.Now(); now.After(seen) {
				seen = now
			}
		}
		if now := f.clk.Now(); now.After(high) {
			high = now
		}
		if rng.IntN(50) == 0 {
			// Stamped with the Router's time: never before a time it saw, nor before
			// the last stamp, whatever the clock says now.
			j, err := f.r.CreateJob(ctx, Job{ChannelID: "voice", QueueID: "q1"})
			require.NoError(t, err)
			at := j.EnqueuedAt
			require.False(t, at.Before(seen) || at.Before(last) || at.Before(f.clk.Now()) || at.After(high),
				"EnqueuedAt %v: seen %v, last %v, clock %v, highest %v", at, seen, last, f.clk.Now(), high)
			last, seen = at, at
		}
	}
	f.clk.Set(high.Add(time.Hour))
	_, err := f.r.ListJobs(ctx, nil) // any call: every deadline due has fired
	require.NoError(t, err)
	checkRouterState(t, f.r)
	require.NoError(t, f.r.Close())
	<-reader.done
	checkStream(t, reader.events)
	expires, expired := map[string]time.Time{}, 0
	for _, ev := range reader.events {
		switch e := ev.(type) {
		case OfferIssued:
			expires[e.OfferID] = e.ExpiresAt
		case OfferExpired:
			expired++
			require.Equal(t, expires[e.OfferID], e.Time(), "offer %s expired at its own instant", e.OfferID)
		}
	}
	require.Positive(t, expired, "offers expired along the way")
}
