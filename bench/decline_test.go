package bench

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkB5DeclineStorm declines every offer as soon as it is issued, with
// RetryOfferAt 100 ms ahead, while the manual clock moves 1 ms after each round (one
// decline per job): W idle workers, J queued jobs holding one offer each. The
// decliner becomes eligible again when its RetryOfferAt deadline fires. Every
// decline is answered by exactly one new offer (no job ever runs out of eligible
// workers: at most 100 declines per job are pending and W-J workers are free), which
// the benchmark goroutine reads from an OfferIssued subscription and declines in
// turn. One b.N iteration is one decline; p50-ns and p99-ns time the DeclineJobOffer
// call alone, declines/s the whole storm (reading offers and moving the clock too).
func BenchmarkB5DeclineStorm(b *testing.B) {
	const retryAfter, step = 100 * time.Millisecond, time.Millisecond
	sz := scale(b)
	b.Run(fmt.Sprintf("workers=%d/jobs=%d", sz.b5Workers, sz.b5Jobs), func(b *testing.B) {
		eachImpl(b, func(b *testing.B, im impl) {
			b.ReportAllocs()
			c := im.new(coreConfig{})
			defer c.close()
			setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: 1000 * time.Hour})
			offers := c.subscribe(subOptions{types: []string{evOfferIssued}})
			defer offers.close() // before c.close: its unread offers need no delivery
			for i := range sz.b5Workers {
				must(b, c.upsertWorker(workerSpec{id: workerID(i), queues: []string{"q"}, capacity: 1,
					labels: comboLabels(i % combos), available: true}))
			}
			for k := range sz.b5Jobs {
				must(b, c.createJob(jobSpec{id: jobID("j", k), queueID: "q"}))
			}
			var lat latencies
			n := 0
			start := time.Now()
			for b.Loop() {
				ev := waitFor(b, offers, evOfferIssued, "")
				retryAt := c.now().Add(retryAfter)
				t0 := time.Now()
				err := c.decline(ev.workerID, ev.offerID, retryAt)
				lat = append(lat, time.Since(t0))
				must(b, err)
				n++
				if n%sz.b5Jobs == 0 {
					must(b, c.advanceTo(c.now().Add(step)))
				}
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "declines/s")
			lat.report(b)
		})
	})
}
