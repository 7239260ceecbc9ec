package bench

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkB2Match measures the latency of one match with W workers over 100 label
// combinations and J queued jobs:
//
//   - op=new-job-idle-worker: a job arrives while an eligible worker is idle (the
//     job's CreateJob call, which offers it before returning);
//   - op=worker-frees-up: a worker becomes available in front of the backlog (its
//     UpsertWorker call, which offers it the first backlog job it can take).
//
// Each sample times that one call with time.Now; p50-ns and p99-ns are over the
// samples (b.N of them). The benchmark timer is never stopped around a sample:
// b.StopTimer and b.StartTimer read the memory statistics, which stops the world,
// and a call timed just after the world restarted paid for the restart (p50 22 µs
// measured that way, 6 µs without). So ns/op is a whole sample — the setup around
// the call, the call, and the wait for its OfferIssued — and the call's own latency
// is p50-ns and p99-ns only. queued-jobs is J; ns/op/queued-job divides the mean by it,
// since both routers scan every queued job on each match, which makes the naive
// router's figure (taken with far fewer jobs, see sizes) comparable per operation.
// xcore-rtt-ns is the machine's cross-core round trip around the run (as in B1).
// See newBacklog for how the state is built and why.
func BenchmarkB2Match(b *testing.B) {
	sz := scale(b)
	b.Run(fmt.Sprintf("workers=%d", sz.b2Workers), func(b *testing.B) {
		eachImpl(b, func(b *testing.B, im impl) {
			jobs := sz.b2Jobs
			if im.name == "naive" {
				jobs = min(jobs, sz.b2NaiveJobs)
			}
			benchMatch(b, im, sz.b2Workers, jobs)
		})
	})
	if !large() {
		return
	}
	for _, g := range []struct{ workers, jobs int }{{1_000, 10_000}, {10_000, 100_000}, {100_000, 1_000_000}} {
		b.Run(fmt.Sprintf("growth/workers=%d/jobs=%d", g.workers, g.jobs), func(b *testing.B) {
			eachImpl(b, func(b *testing.B, im impl) {
				jobs := g.jobs
				if im.name == "naive" {
					jobs = min(jobs, sz.b2NaiveJobs)
				}
				benchMatch(b, im, g.workers, jobs)
			})
		})
	}
}

func benchMatch(b *testing.B, im impl, workers, jobs int) {
	b.Run("op=new-job-idle-worker", func(b *testing.B) {
		r := newBacklog(b, im, workers, jobs)
		defer r.close()
		var lat latencies
		var split gcSplit
		rtt, rttErr := crossCoreRTT(xcoreProbeRounds)
		k := 0
		for b.Loop() {
			// An idle worker of a combination that has no backlog.
			w := r.worker(k, combos/2+k%(combos/2))
			must(b, r.c.upsertWorker(r.spec(w, true)))
			id := jobID("a", k)
			spec := jobSpec{id: id, queueID: "q", selectors: comboSelectors(w % combos)}

			marking := collectorMarking()
			t0 := time.Now()
			err := r.c.createJob(spec)
			d := time.Since(t0)
			lat = append(lat, d)
			split.add(d, marking || collectorMarking())

			must(b, err)
			if ev := waitFor(b, r.offers, evOfferIssued, id); ev.workerID != workerID(w) {
				b.Fatalf("job %s offered to %s, want %s", id, ev.workerID, workerID(w))
			}
			must(b, r.c.upsertWorker(r.spec(w, false)))
			// Cancelled, then deleted: the state stays as built (see backlog).
			must(b, r.c.cancelJob(id))
			must(b, r.c.deleteJob(id))
			k++
		}
		lat.reportPerJob(b, jobs)
		split.report(b)
		reportCrossCore(b, rtt, rttErr)
	})
	b.Run("op=worker-frees-up", func(b *testing.B) {
		r := newBacklog(b, im, workers, jobs)
		defer r.close()
		var lat latencies
		var split gcSplit
		rtt, rttErr := crossCoreRTT(xcoreProbeRounds)
		k := 0
		for b.Loop() {
			// A worker of the combination of the k-th queued job: it is offered the
			// first queued job of that combination.
			combo := r.combos[k%len(r.combos)]
			w := r.worker(k, combo)
			spec := r.spec(w, true)

			marking := collectorMarking()
			t0 := time.Now()
			err := r.c.upsertWorker(spec)
			d := time.Since(t0)
			lat = append(lat, d)
			split.add(d, marking || collectorMarking())

			must(b, err)
			if ev := waitFor(b, r.offers, evOfferIssued, ""); ev.workerID != workerID(w) || ev.jobID != r.first[combo] {
				b.Fatalf("job %s offered to %s, want job %s to %s", ev.jobID, ev.workerID, r.first[combo], workerID(w))
			}
			must(b, r.c.upsertWorker(r.spec(w, false)))
			k++
		}
		lat.reportPerJob(b, jobs)
		split.report(b)
		reportCrossCore(b, rtt, rttErr)
	})
}

// backlog is the state of B2: one LongestIdle queue; workers of all 100 combinations
// (worker i has combination i%100), all offline (AvailableForOffers false) until a
// sample brings one online; then jobs queued for the combinations 0..49 (a seeded
// random one each).
//
// The workers are offline so that the backlog stays queued (an online worker of
// combinations 0..49 would be offered its first job) and so that a sample of
// op=new-job-idle-worker has exactly one idle eligible worker, the one it brings
// online. (The first engine had a further reason: it ran a matching pass over every
// queued job and every listening worker on any change, so building 100,000 queued
// jobs in front of 10,000 online workers would have taken hours.)
//
// Every sample leaves this state as it found it. A sample of op=new-job-idle-worker
// cancels its job and then deletes it: a cancelled job stays until deleted, as in
// Azure, and kept, the samples' jobs doubled the router's jobs within a second's run.
// That growth was most of the p99: the heap grew all run long, so the calls that ran
// while the collector marked found fresh memory to fault in and set up (see
// BENCHMARKS-HISTORY.md, "Where B2's tail went"). op=worker-frees-up leaves nothing
// behind: its worker goes offline again, which revokes the offer and requeues the job.
type backlog struct {
	c       core
	offers  subscription // OfferIssued only
	workers int
	combos  []int          // the combination of each queued job, in queue order
	first   map[int]string // the first queued job of each combination
}

func newBacklog(b *testing.B, im impl, workers, jobs int) *backlog {
	b.Helper()
	c := im.new(coreConfig{})
	setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: time.Hour})
	r := &backlog{c: c, workers: workers,
		offers: c.subscribe(subOptions{types: []string{evOfferIssued}})}
	for i := 0; i < workers; i++ {
		must(b, c.upsertWorker(r.spec(i, false)))
	}
	rnd := newRand(2)
	r.first = map[int]string{}
	for k := 0; k < jobs; k++ {
		combo := rnd.IntN(combos / 2)
		id := jobID("b", k)
		must(b, c.createJob(jobSpec{id: id, queueID: "q", selectors: comboSelectors(combo)}))
		r.combos = append(r.combos, combo)
		if _, ok := r.first[combo]; !ok {
			r.first[combo] = id
		}
	}
	return r
}

// close ends the subscription, then the router.
func (r *backlog) close() {
	r.offers.close()
	r.c.close()
}

// worker returns the k-th sample's worker of combination combo, a different one
// each time around.
func (r *backlog) worker(k, combo int) int {
	perCombo := r.workers / combos
	return (k*7%perCombo)*combos + combo
}

func (r *backlog) spec(i int, available bool) workerSpec {
	return workerSpec{id: workerID(i), queues: []string{"q"}, capacity: 1,
		labels: comboLabels(i % combos), available: available}
}

// BenchmarkB3BestWorker measures one BestWorker choice among W idle workers that are
// all eligible: the CreateJob call of a job whose labels ("lang", "tier") make the
// default score 1 for the 1% of workers with both, 0.5 for the 18% with one. Between
// samples the job is cancelled (untimed), which frees its worker again, and deleted.
func BenchmarkB3BestWorker(b *testing.B) {
	sz := scale(b)
	b.Run(fmt.Sprintf("workers=%d", sz.b3Workers), func(b *testing.B) {
		eachImpl(b, func(b *testing.B, im impl) {
			c := im.new(coreConfig{})
			defer c.close()
			setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: time.Hour, mode: bestWorker})
			offers := c.subscribe(subOptions{types: []string{evOfferIssued}})
			defer offers.close()
			for i := range sz.b3Workers {
				must(b, c.upsertWorker(workerSpec{id: workerID(i), queues: []string{"q"}, capacity: 1,
					labels: comboLabels(i % combos), available: true}))
			}
			rnd := newRand(3)
			var lat latencies
			k := 0
			for b.Loop() {
				b.StopTimer()
				id := jobID("j", k)
				combo := rnd.IntN(combos)
				spec := jobSpec{id: id, queueID: "q", labels: comboLabels(combo)}
				b.StartTimer()

				t0 := time.Now()
				err := c.createJob(spec)
				lat = append(lat, time.Since(t0))

				b.StopTimer()
				must(b, err)
				// The best score is 1: a worker of the job's combination.
				if ev := waitFor(b, offers, evOfferIssued, id); ev.workerID[len(ev.workerID)-2:] != fmt.Sprintf("%02d", combo) {
					b.Fatalf("job %s (combination %d) offered to %s", id, combo, ev.workerID)
				}
				must(b, c.cancelJob(id))
				must(b, c.deleteJob(id)) // the state stays as built, as in B2
				k++
				b.StartTimer()
			}
			lat.report(b)
		})
	})
}
