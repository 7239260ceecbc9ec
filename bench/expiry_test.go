package bench

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkB6Expiry fires Q×P offer expiries with one clock advance (AdvanceTo on the
// manual clock) and checks, by reading the OfferExpired events, that each offer
// expired exactly once, at its ExpiresAt, in deadline order.
//
// The offers: Q queues of P workers each (capacity 1, one worker per offer); job k,
// created at startTime + k ms in queue k with a policy of P concurrent offers, is
// offered to the P workers of its queue, so its offers expire together at its own
// instant, one hour later. Workers are deregistered on expiry (the default), so
// every offer expires exactly once and nothing is re-offered. Only the AdvanceTo call
// is timed (ns/expiry); delivered-ns/expiry runs until the last event was read.
func BenchmarkB6Expiry(b *testing.B) {
	const expiresAfter = time.Hour
	sz := scale(b)
	eachImpl(b, func(b *testing.B, im impl) {
		queues, per := sz.b6Queues, sz.b6PerQueue
		if im.name == "naive" {
			queues = min(queues, sz.b6NaiveQueues)
		}
		n := queues * per
		var advance, delivered time.Duration
		for b.Loop() {
			b.StopTimer()
			c := im.new(coreConfig{})
			must(b, c.upsertPolicy(policySpec{id: "p", offerExpiresAfter: expiresAfter, minOffers: per, maxOffers: per}))
			for q := range queues {
				must(b, c.upsertQueue(queueName(q), "p"))
				for i := range per {
					must(b, c.upsertWorker(workerSpec{id: workerID(q*per + i), queues: []string{queueName(q)}, capacity: 1, available: true}))
				}
			}
			for k := range queues {
				must(b, c.advanceTo(startTime.Add(time.Duration(k)*time.Millisecond)))
				must(b, c.createJob(jobSpec{id: jobID("x", k), queueID: queueName(k)}))
			}
			expired := c.subscribe(subOptions{types: []string{evOfferExpired}, maxBacklog: n + 1})
			b.StartTimer()

			t0 := time.Now()
			must(b, c.advanceTo(startTime.Add(time.Duration(queues-1)*time.Millisecond+expiresAfter)))
			advance += time.Since(t0)
			checkExpiries(b, expired, queues, per, expiresAfter)
			delivered += time.Since(t0)

			b.StopTimer()
			// Close delivers what is still queued (a duplicate expiry would be)
			// before it ends the stream, so read while it runs.
			closed := make(chan struct{})
			go func() { c.close(); close(closed) }()
			for {
				ev, ok := mustNext(b, expired)
				if !ok {
					break
				}
				b.Fatalf("expiry after the advance's %d: %v", n, ev)
			}
			<-closed
			b.StartTimer()
		}
		b.ReportMetric(float64(advance.Nanoseconds())/float64(b.N*n), "ns/expiry")
		b.ReportMetric(float64(delivered.Nanoseconds())/float64(b.N*n), "delivered-ns/expiry")
		b.ReportMetric(float64(n), "expiries")
	})
}

func queueName(q int) string { return "q" + strconv.Itoa(q) }

// checkExpiries reads queues×per OfferExpired events and fails unless each offer
// expired once, at its job's ExpiresAt, in time order.
func checkExpiries(b *testing.B, s subscription, queues, per int, expiresAfter time.Duration) {
	b.Helper()
	n := queues * per
	seenPair := make([]bool, n)
	seenOffer := make(map[string]struct{}, n)
	var last time.Time
	for range n {
		ev, ok := mustNext(b, s)
		if !ok {
			b.Fatalf("subscription ended after %d of %d expiries (err %v)", len(seenOffer), n, s.err())
		}
		k, err1 := strconv.Atoi(ev.jobID[1:])
		w, err2 := strconv.Atoi(ev.workerID[1:])
		if err1 != nil || err2 != nil || k < 0 || k >= queues || w/per != k {
			b.Fatalf("unexpected expiry %v", ev)
		}
		if want := startTime.Add(time.Duration(k)*time.Millisecond + expiresAfter); !ev.at.Equal(want) {
			b.Fatalf("%v at %v, want its ExpiresAt %v", ev, ev.at, want)
		}
		if ev.at.Before(last) {
			b.Fatalf("%v at %v after an expiry at %v: not in deadline order", ev, ev.at, last)
		}
		last = ev.at
		if seenPair[w] {
			b.Fatalf("offer of job %s to worker %s expired twice", ev.jobID, ev.workerID)
		}
		seenPair[w] = true
		if _, dup := seenOffer[ev.offerID]; dup {
			b.Fatalf("offer %s expired twice", ev.offerID)
		}
		seenOffer[ev.offerID] = struct{}{}
	}
}
