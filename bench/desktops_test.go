package bench

import (
	"testing"
	"time"
)

// BenchmarkB9Desktops is B1LifecycleSync at 10,000 workers with an agent's desktop
// for each of them: one more Synchronous subscription per worker, filtered on its
// worker ID (SubscribeOptions.WorkerID), as a contact centre whose every agent
// application follows its own offers and jobs. After each lifecycle the driver polls
// the desktop of the worker that took the job, which must hold exactly that job's
// four events naming the worker: OfferIssued, OfferAccepted, JobCompleted and
// JobClosed. lifecycles/s against B1LifecycleSync's at 10,000 workers is what the
// desktops cost: the Router visits only the desktop an event names (its subscription
// index), the thin shell of impl=engine and the naive router scan every
// subscription on every event.
func BenchmarkB9Desktops(b *testing.B) {
	const workers = 10_000
	eachImpl(b, func(b *testing.B, im impl) {
		b.ReportAllocs()
		c := im.new(coreConfig{})
		defer c.close()
		setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: time.Hour})
		desktops := make(map[string]subscription, workers)
		for i := range workers {
			must(b, c.upsertWorker(workerSpec{id: workerID(i), queues: []string{"q"}, capacity: 1,
				labels: comboLabels(i % combos), available: true}))
			desktops[workerID(i)] = c.subscribe(subOptions{workerID: workerID(i), maxBacklog: 64, synchronous: true})
		}
		for _, d := range desktops {
			d.poll(nil) // the worker's registration
		}
		sub := c.subscribe(subOptions{synchronous: true})
		defer sub.close()
		var evs, mine []event
		n, closed := 0, 0
		want := []string{evOfferIssued, evOfferAccepted, evJobCompleted, evJobClosed}
		answer := func() {
			evs = sub.poll(evs[:0])
			for _, ev := range evs {
				switch ev.typ {
				case evOfferIssued:
					aid, err := c.accept(ev.workerID, ev.offerID)
					if err == nil {
						err = c.complete(ev.jobID, aid)
					}
					if err == nil {
						err = c.closeJob(ev.jobID, aid, "")
					}
					if err != nil {
						b.Fatal(err)
					}
					mine = desktops[ev.workerID].poll(mine[:0])
					if len(mine) != len(want) {
						b.Fatalf("desktop of %s: %d events, want %d: %v", ev.workerID, len(mine), len(want), mine)
					}
					for i, m := range mine {
						if m.typ != want[i] || m.jobID != ev.jobID || m.workerID != ev.workerID {
							b.Fatalf("desktop of %s: event %d is %v, want %s of %s", ev.workerID, i, m, want[i], ev.jobID)
						}
					}
				case evJobClosed:
					closed++
				}
			}
		}
		start := time.Now()
		for b.Loop() {
			if err := c.createJob(jobSpec{id: jobID("j", n), queueID: "q"}); err != nil {
				b.Fatal(err)
			}
			n++
			answer()
		}
		answer()
		elapsed := time.Since(start)
		if closed != n {
			b.Fatalf("%d jobs closed of %d created", closed, n)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "lifecycles/s")
		b.ReportMetric(float64(len(desktops)), "desktops")
	})
}
