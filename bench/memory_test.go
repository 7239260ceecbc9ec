package bench

import (
	"runtime"
	"testing"
	"time"

	"github.com/openjobrouter/jobrouter/internal/heaptest"
)

// BenchmarkB4Memory measures the live heap per queued job and per registered worker
// with 16 labels, from runtime.MemStats.HeapAlloc after runtime.GC() before and
// after creating them. Jobs and workers are measured on two routers: J queued jobs
// (no labels, no selectors: the router's own cost) with no worker, and W available
// workers with no job. Together, the engine as it stands would run a matching pass
// over every queued job for each worker registered (see B2). No subscriber is
// attached, so no event is retained. bytes/worker counts the router's copy of the
// 16 labels; the caller's own maps are built before the baseline and kept alive.
// The naive router gets fewer jobs (sizes): its every call scans every job.
func BenchmarkB4Memory(b *testing.B) {
	sz := scale(b)
	eachImpl(b, func(b *testing.B, im impl) {
		jobs, workers := sz.b4Jobs, sz.b4Workers
		if im.name == "naive" {
			jobs = min(jobs, sz.b4NaiveJobs)
		}
		var perJob, perWorker float64
		for b.Loop() {
			b.StopTimer()
			c := im.new(coreConfig{})
			setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: time.Hour})
			before := heaptest.Live()
			b.StartTimer()
			for k := range jobs {
				must(b, c.createJob(jobSpec{id: jobID("j", k), queueID: "q"}))
			}
			b.StopTimer()
			perJob += float64(int64(heaptest.Live())-int64(before)) / float64(jobs)
			c.close()

			c = im.new(coreConfig{})
			setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: time.Hour})
			specs := make([]workerSpec, workers)
			for i := range specs {
				specs[i] = workerSpec{id: workerID(i), queues: []string{"q"}, capacity: 1,
					labels: richLabels(i%combos, i), available: true}
			}
			before = heaptest.Live()
			b.StartTimer()
			for _, w := range specs {
				must(b, c.upsertWorker(w))
			}
			b.StopTimer()
			perWorker += float64(int64(heaptest.Live())-int64(before)) / float64(workers)
			runtime.KeepAlive(specs)
			c.close()
			b.StartTimer()
		}
		b.ReportMetric(perJob/float64(b.N), "bytes/job")
		b.ReportMetric(perWorker/float64(b.N), "bytes/worker")
		b.ReportMetric(float64(jobs), "jobs")
		b.ReportMetric(float64(workers), "workers")
	})
}

// BenchmarkB4ClosedJobMemory measures the live heap per closed job: what a router
// holds for a job that went create → OfferIssued → accept → complete → close (with
// a disposition code) until it is deleted, as most of the jobs a long-running router
// holds are. One worker takes the jobs one after another, answered from a
// synchronous subscription to OfferIssued, polled after each create. bytes/closed-job
// is HeapAlloc after runtime.GC() before the first create and after the last close,
// divided by the jobs closed. It includes the job's assignment history and the IDs
// the router generated (offer, assignment), not the events, which nobody retains.
// The jobs are a tenth of B4's; the naive router gets fewer (sizes).
func BenchmarkB4ClosedJobMemory(b *testing.B) {
	sz := scale(b)
	eachImpl(b, func(b *testing.B, im impl) {
		jobs := sz.b4Jobs / 10
		if im.name == "naive" {
			jobs = min(jobs, sz.b4NaiveJobs)
		}
		var perJob float64
		var evs []event
		for b.Loop() {
			b.StopTimer()
			c := im.new(coreConfig{})
			setupQueue(b, c, "q", policySpec{id: "p", offerExpiresAfter: time.Hour})
			must(b, c.upsertWorker(workerSpec{id: workerID(0), queues: []string{"q"}, capacity: 1, available: true}))
			sub := c.subscribe(subOptions{types: []string{evOfferIssued}, synchronous: true})
			evs = sub.poll(evs[:0])
			before := heaptest.Live()
			b.StartTimer()
			closed := 0
			for k := range jobs {
				if err := c.createJob(jobSpec{id: jobID("j", k), queueID: "q"}); err != nil {
					b.Fatal(err)
				}
				evs = sub.poll(evs[:0])
				for _, ev := range evs {
					if err := serve(c, ev, "Resolved"); err != nil {
						b.Fatal(err)
					}
					closed++
				}
			}
			b.StopTimer()
			if closed != jobs {
				b.Fatalf("%d jobs closed of %d created", closed, jobs)
			}
			perJob += float64(int64(heaptest.Live())-int64(before)) / float64(jobs)
			runtime.KeepAlive(evs)
			sub.close()
			c.close()
			b.StartTimer()
		}
		b.ReportMetric(perJob/float64(b.N), "bytes/closed-job")
		b.ReportMetric(float64(jobs), "jobs")
	})
}
