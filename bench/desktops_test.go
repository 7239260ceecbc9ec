package bench

import "testing"

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
		setupIdleWorkers(b, c, workers)
		desktops := make(map[string]subscription, workers)
		for i := range workers {
			desktops[workerID(i)] = c.subscribe(subOptions{workerID: workerID(i), maxBacklog: 64, synchronous: true})
		}
		var mine []event
		want := []string{evOfferIssued, evOfferAccepted, evJobCompleted, evJobClosed}
		runSyncLifecycles(b, c, nil, func(offer event) {
			mine = desktops[offer.workerID].poll(mine[:0])
			if len(mine) != len(want) {
				b.Fatalf("desktop of %s: %d events, want %d: %v", offer.workerID, len(mine), len(want), mine)
			}
			for i, m := range mine {
				if m.typ != want[i] || m.jobID != offer.jobID || m.workerID != offer.workerID {
					b.Fatalf("desktop of %s: event %d is %v, want %s of %s", offer.workerID, i, m, want[i], offer.jobID)
				}
			}
		})
		b.ReportMetric(float64(len(desktops)), "desktops")
	})
}
