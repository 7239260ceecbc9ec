package bench

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter"
)

// inFlight is how many jobs the B1 driver keeps between CreateJob and CloseJob: a
// short queue in front of plenty of workers, so that a lifecycle's cost is the
// router's, not the wait for a worker.
const inFlight = 32

// BenchmarkB1Lifecycle measures full lifecycles, create → OfferIssued → accept →
// complete → close, with 100 and 10,000 idle workers. The benchmark goroutine creates
// jobs (at most inFlight open at once); a subscriber goroutine reads every event and,
// on each OfferIssued, accepts the offer, completes and closes the job, as a worker's
// agent would. One b.N iteration is one lifecycle; lifecycles/s counts from the first
// create to the last close. xcore-rtt-ns is the machine's cross-core round trip
// (crossCoreRTT), the slower of a probe before the run and one after it: the
// pipeline hands every lifecycle between goroutines that are often on different
// cores, and in the machine's stretches of slow cross-core traffic its throughput
// falls with it (BENCHMARKS.md). cpu-ns and, built with the lockprobe tag, lock-ns
// are the run's two bounds (boundRun).
func BenchmarkB1Lifecycle(b *testing.B) {
	for _, workers := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			eachImpl(b, func(b *testing.B, im impl) {
				b.ReportAllocs()
				r := newLifecycles(b, im, workers, 0)
				defer r.stop(b)
				rtt, rttErr := crossCoreRTT(xcoreProbeRounds)
				lk := startBoundRun(im)
				n := 0
				start := time.Now()
				for b.Loop() {
					r.create(b)
					n++
				}
				r.drain(b)
				elapsed := time.Since(start)
				b.ReportMetric(float64(n)/elapsed.Seconds(), "lifecycles/s")
				lk.report(b, n, elapsed)
				reportCrossCore(b, rtt, rttErr)
			})
		})
	}
}

// BenchmarkB1LifecycleSync is B1's lifecycle driven from one goroutine, as a
// simulation or a single-threaded service drives the router: a synchronous
// subscription (SubscribeOptions.Synchronous) is polled after each CreateJob, and
// each OfferIssued polled is answered at once with accept, complete and close. No
// event crosses a goroutine, so this is the router's own cost per lifecycle, events
// included, without B1's hand-offs between the creating goroutine, the subscription
// goroutine and the agent goroutine. One b.N iteration is one lifecycle; at the end
// every job must have been closed. It reports B1's bounds too (boundRun).
func BenchmarkB1LifecycleSync(b *testing.B) {
	for _, workers := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			eachImpl(b, func(b *testing.B, im impl) {
				b.ReportAllocs()
				c := im.new(coreConfig{})
				defer c.close()
				setupIdleWorkers(b, c, workers)
				runSyncLifecycles(b, c, &im, nil)
			})
		})
	}
}

// setupIdleWorkers gives c B1's queue "q" (LongestIdle, offers that expire after an
// hour) and n idle workers on it, each of capacity 1 with its label combination.
func setupIdleWorkers(b *testing.B, c core, n int) {
	b.Helper()
	setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: time.Hour})
	for i := range n {
		must(b, c.upsertWorker(workerSpec{id: workerID(i), queues: []string{"q"}, capacity: 1,
			labels: comboLabels(i % combos), available: true}))
	}
}

// runSyncLifecycles is B1Sync's driver: each b.Loop iteration creates a job, then a
// synchronous subscription is polled and each OfferIssued polled is answered at once
// with accept, complete and close; closed (when not nil) is then called with the
// offer, its job closed. At the end every job must have been closed; it reports
// lifecycles/s and, when bounds names the implementation, B1's bounds (boundRun),
// measured from the first create, as lifecycles/s is.
func runSyncLifecycles(b *testing.B, c core, bounds *impl, closed func(offer event)) {
	sub := c.subscribe(subOptions{synchronous: true})
	defer sub.close()
	var evs []event
	n, nClosed := 0, 0
	answer := func() {
		evs = sub.poll(evs[:0])
		for _, ev := range evs {
			switch ev.typ {
			case evOfferIssued:
				// No must: b.Helper's stack walk would cost more than a call.
				if err := serve(c, ev, ""); err != nil {
					b.Fatal(err)
				}
				if closed != nil {
					closed(ev)
				}
			case evJobClosed:
				nClosed++
			}
		}
	}
	var lk boundRun
	if bounds != nil {
		lk = startBoundRun(*bounds)
	}
	start := time.Now()
	for b.Loop() {
		if err := c.createJob(jobSpec{id: jobID("j", n), queueID: "q"}); err != nil {
			b.Fatal(err)
		}
		n++
		answer()
	}
	answer() // the last job's JobClosed
	elapsed := time.Since(start)
	if nClosed != n {
		b.Fatalf("%d jobs closed of %d created", nClosed, n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "lifecycles/s")
	if bounds != nil {
		lk.report(b, n, elapsed)
	}
}

// BenchmarkB7StalledSubscriber runs the B1 workload (100 workers) with no other
// subscriber and with one more subscriber that never reads, whose backlog limit is
// the default 65,536 events (4,096 for the naive router, which is too slow to fill
// 65,536 in a benchmark: see sizes). Each b.N iteration is a pair of runs on fresh
// routers, one without and one with the stalled subscriber, in alternating order and
// each after a collection, so that the two are measured under the same conditions
// (measured as two sub-benchmarks one after the other, the drift between them was as
// large as the difference). A run takes its router a quarter past the limit:
// lifecycles/s is measured over the lifecycles that fill the stalled subscriber's
// backlog up to its limit, and after the run the stalled subscription must have been
// closed with ErrSlowSubscriber. stalled-% is the stalled runs' throughput against
// the others' (negative: slower).
func BenchmarkB7StalledSubscriber(b *testing.B) {
	sz := scale(b)
	eachImpl(b, func(b *testing.B, im impl) {
		limit := sz.b7Backlog
		if im.name == "naive" {
			limit = sz.b7NaiveBacklog
		}
		var took [2]time.Duration // [0] without, [1] with the stalled subscriber
		pairs := 0
		for b.Loop() {
			for k := range 2 {
				stalled := (k+pairs)%2 == 1
				took[btoi(stalled)] += stalledRun(b, im, limit, stalled)
			}
			pairs++
		}
		// A lifecycle publishes six events: JobReceived, JobQueued, OfferIssued,
		// OfferAccepted, JobCompleted, JobClosed.
		n := float64(pairs * (limit/6 - inFlight))
		none, stalled := n/took[0].Seconds(), n/took[1].Seconds()
		b.ReportMetric(none, "none-lifecycles/s")
		b.ReportMetric(stalled, "stalled-lifecycles/s")
		b.ReportMetric(100*(stalled/none-1), "stalled-%")
		b.ReportMetric(float64(limit), "backlog-limit")
	})
}

// stalledRun is one run of B7 on a fresh router, with or without the stalled
// subscriber: it returns the time the lifecycles up to the backlog limit took. The
// benchmark timer runs only meanwhile and for the quarter after the limit.
func stalledRun(b *testing.B, im impl, limit int, stalled bool) time.Duration {
	b.Helper()
	upToLimit := limit / 6
	total := upToLimit + upToLimit/4
	b.StopTimer()
	r := newLifecycles(b, im, 100, backlogIf(stalled, limit))
	runtime.GC()
	b.StartTimer()
	start := time.Now()
	for range upToLimit - inFlight {
		r.create(b)
	}
	r.drain(b)
	took := time.Since(start)
	for range total - upToLimit + inFlight {
		r.create(b)
	}
	r.drain(b)
	b.StopTimer()
	if stalled {
		if err := r.stalled.err(); !errors.Is(err, jobrouter.ErrSlowSubscriber) {
			b.Fatalf("stalled subscription: err %v, want ErrSlowSubscriber", err)
		}
	}
	r.stop(b)
	b.StartTimer()
	return took
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// lifecycles is the B1 rig: a router with idle workers, an agent goroutine that
// answers every offer, and a window of inFlight tokens.
type lifecycles struct {
	c       core
	agent   subscription
	stalled subscription // nil unless asked for
	window  chan struct{}
	next    int
	done    chan struct{} // closed when the agent goroutine exits

	mu  sync.Mutex
	err error // the agent's first error
}

// newLifecycles builds the rig. stalledBacklog > 0 adds a subscriber with that
// backlog limit that never reads.
func newLifecycles(b *testing.B, im impl, workers, stalledBacklog int) *lifecycles {
	b.Helper()
	c := im.new(coreConfig{})
	setupIdleWorkers(b, c, workers)
	r := &lifecycles{c: c, window: make(chan struct{}, inFlight), done: make(chan struct{})}
	r.agent = c.subscribe(subOptions{})
	if stalledBacklog > 0 {
		r.stalled = c.subscribe(subOptions{maxBacklog: stalledBacklog})
	}
	go r.run()
	return r
}

// run is the agent: every offer is accepted, the job completed and closed, and the
// window token given back.
func (r *lifecycles) run() {
	defer close(r.done)
	for {
		ev, ok := r.agent.next()
		if !ok {
			return
		}
		if ev.typ != evOfferIssued {
			continue
		}
		if err := serve(r.c, ev, ""); err != nil {
			r.mu.Lock()
			if r.err == nil {
				r.err = fmt.Errorf("agent, job %s: %w", ev.jobID, err)
			}
			r.mu.Unlock()
		}
		<-r.window
	}
}

// create starts one lifecycle, waiting for a free slot in the window. It checks
// the error itself rather than with must, whose b.Helper walks the stack: on every
// lifecycle, that cost the creating goroutine about 2 % of B1's time.
func (r *lifecycles) create(b *testing.B) {
	r.window <- struct{}{}
	if err := r.c.createJob(jobSpec{id: jobID("j", r.next), queueID: "q"}); err != nil {
		b.Fatal(err)
	}
	r.next++
}

// drain waits until every lifecycle started has closed.
func (r *lifecycles) drain(b *testing.B) {
	for range inFlight {
		r.window <- struct{}{}
	}
	for range inFlight {
		<-r.window
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		b.Fatal(r.err)
	}
}

// stop closes the router and waits for the agent.
func (r *lifecycles) stop(b *testing.B) {
	if r.stalled != nil {
		r.stalled.close()
	}
	r.c.close()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		b.Fatal(r.err)
	}
}

// backlogIf is n when stalled, else 0 (no stalled subscriber).
func backlogIf(stalled bool, n int) int {
	if stalled {
		return n
	}
	return 0
}
