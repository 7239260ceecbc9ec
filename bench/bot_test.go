package bench

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkB8Bot measures a bot: one worker with a large capacity holding N open
// offers, then N assignments, with MaxNumberOfJobs N on its channel (so that every
// eligibility check counts what it holds there). One b.N iteration, on a fresh
// router, is the whole life of N jobs: N CreateJob calls, each offering its job to
// the bot (issue); the N offers accepted (accept); the N jobs completed (complete),
// then closed (close). Each phase is timed alone and reported per job; the order of
// accepting, completing and closing is the sub-benchmark's:
//
//   - newest-first: the last offer issued is accepted first, as a bot working a
//     stack would, and the last job assigned is completed and closed first;
//   - oldest-first: in the order issued;
//   - random: a seeded shuffle, the same for every implementation.
//
// Every offer must go to the bot, for its job, in creation order; every accept must
// succeed, and each job is completed and closed with the assignment ID its offer's
// accept returned, so an accept that assigned another job fails there; every job
// must be closed at the end. The naive router
// gets b8NaiveOffers jobs (its every call scans every open offer and holding).
func BenchmarkB8Bot(b *testing.B) {
	sz := scale(b)
	for _, order := range []string{"newest-first", "oldest-first", "random"} {
		b.Run(fmt.Sprintf("offers=%d/order=%s", sz.b8Offers, order), func(b *testing.B) {
			eachImpl(b, func(b *testing.B, im impl) {
				n := sz.b8Offers
				if im.name == "naive" {
					n = min(n, sz.b8NaiveOffers)
				}
				perm := botOrder(order, n)
				var took [4]time.Duration // issue, accept, complete, close
				for b.Loop() {
					b.StopTimer()
					d := botRun(b, im, n, perm)
					b.StartTimer()
					for i := range took {
						took[i] += d[i]
					}
				}
				per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*n) }
				b.ReportMetric(per(took[0]), "issue-ns/job")
				b.ReportMetric(per(took[1]), "accept-ns/job")
				b.ReportMetric(per(took[2]), "complete-ns/job")
				b.ReportMetric(per(took[3]), "close-ns/job")
				b.ReportMetric(float64(n), "offers")
			})
		})
	}
}

// botOrder returns the order in which B8 takes up the jobs 0..n-1.
func botOrder(order string, n int) []int {
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	switch order {
	case "newest-first":
		slices.Reverse(perm)
	case "random":
		newRand(8).Shuffle(n, func(i, k int) { perm[i], perm[k] = perm[k], perm[i] })
	}
	return perm
}

// botRun is one B8 iteration on a fresh router: it returns the time of each phase
// (issue, accept, complete, close). The timer is stopped: only the phases count, by
// the clock.
func botRun(b *testing.B, im impl, n int, perm []int) [4]time.Duration {
	b.Helper()
	c := im.new(coreConfig{})
	defer c.close()
	setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: 1000 * time.Hour})
	must(b, c.upsertWorker(workerSpec{id: "bot", queues: []string{"q"}, capacity: n, maxJobs: n, available: true}))
	sub := c.subscribe(subOptions{synchronous: true, types: []string{evOfferIssued, evJobClosed}, maxBacklog: n + 1})
	defer sub.close()
	var d [4]time.Duration
	b.StartTimer()
	t0 := time.Now()
	for k := range n {
		if err := c.createJob(jobSpec{id: jobID("j", k), queueID: "q"}); err != nil {
			b.Fatal(err)
		}
	}
	d[0] = time.Since(t0)
	b.StopTimer()
	evs := sub.poll(nil)
	if len(evs) != n {
		b.Fatalf("%d events after %d jobs, want one OfferIssued each", len(evs), n)
	}
	offers := make([]string, n)
	for k, ev := range evs {
		if ev.typ != evOfferIssued || ev.workerID != "bot" || ev.jobID != jobID("j", k) {
			b.Fatalf("event %d: %v, want the offer of job %s to the bot", k, ev, jobID("j", k))
		}
		offers[k] = ev.offerID
	}
	aids := make([]string, n)
	b.StartTimer()
	t0 = time.Now()
	for _, k := range perm {
		aid, err := c.accept("bot", offers[k])
		if err != nil {
			b.Fatal(err)
		}
		aids[k] = aid
	}
	d[1] = time.Since(t0)
	t0 = time.Now()
	for _, k := range perm {
		if err := c.complete(jobID("j", k), aids[k]); err != nil {
			b.Fatal(err)
		}
	}
	d[2] = time.Since(t0)
	t0 = time.Now()
	for _, k := range perm {
		if err := c.closeJob(jobID("j", k), aids[k], ""); err != nil {
			b.Fatal(err)
		}
	}
	d[3] = time.Since(t0)
	b.StopTimer()
	closed := 0
	for _, ev := range sub.poll(evs[:0]) {
		if ev.typ == evJobClosed {
			closed++
		}
	}
	if closed != n {
		b.Fatalf("%d jobs closed of %d", closed, n)
	}
	return d
}
