package bench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seed seeds every workload: both implementations get the same calls.
const seed = 20250101

// newRand returns the workload's pseudo-random source for one benchmark.
func newRand(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// sizes are the workload sizes picked by BENCH_SCALE.
type sizes struct {
	// B2: workers over 100 label combinations, queued jobs, and the naive router's
	// queued jobs: its every match sorts every worker ID per queued job, so it is
	// compared per operation and per queued job (BENCHMARKS.md says so).
	b2Workers, b2Jobs, b2NaiveJobs int
	// B3: eligible workers.
	b3Workers int
	// B4: queued jobs and workers with 16 labels; the naive router's jobs.
	b4Jobs, b4Workers, b4NaiveJobs int
	// B5: workers and jobs of the decline storm.
	b5Workers, b5Jobs int
	// B6: offers that expire in one advance (queues × workers per queue). The naive
	// router gets b6NaiveQueues queues.
	b6Queues, b6PerQueue, b6NaiveQueues int
	// B7: the stalled subscriber's backlog limit, and the naive router's.
	b7Backlog, b7NaiveBacklog int
	// B8: the bot's jobs (open offers, then assignments), and the naive router's.
	b8Offers, b8NaiveOffers int
}

var scales = map[string]sizes{
	"small": {
		b2Workers: 1_000, b2Jobs: 10_000, b2NaiveJobs: 50,
		b3Workers: 1_000,
		b4Jobs:    100_000, b4Workers: 1_000, b4NaiveJobs: 2_000,
		b5Workers: 200, b5Jobs: 20,
		b6Queues: 100, b6PerQueue: 1_000, b6NaiveQueues: 2,
		b7Backlog: 65_536, b7NaiveBacklog: 4_096,
		b8Offers: 2_000, b8NaiveOffers: 200,
	},
	"default": {
		b2Workers: 10_000, b2Jobs: 100_000, b2NaiveJobs: 20,
		b3Workers: 10_000,
		b4Jobs:    1_000_000, b4Workers: 10_000, b4NaiveJobs: 2_000,
		b5Workers: 1_000, b5Jobs: 100,
		b6Queues: 1_000, b6PerQueue: 1_000, b6NaiveQueues: 2,
		b7Backlog: 65_536, b7NaiveBacklog: 4_096,
		b8Offers: 20_000, b8NaiveOffers: 1_000,
	},
	"large": {
		b2Workers: 100_000, b2Jobs: 1_000_000, b2NaiveJobs: 20,
		b3Workers: 100_000,
		b4Jobs:    1_000_000, b4Workers: 100_000, b4NaiveJobs: 2_000,
		b5Workers: 10_000, b5Jobs: 1_000,
		b6Queues: 1_000, b6PerQueue: 1_000, b6NaiveQueues: 2,
		b7Backlog: 65_536, b7NaiveBacklog: 4_096,
		b8Offers: 100_000, b8NaiveOffers: 1_000,
	},
}

// scale returns the sizes named by BENCH_SCALE (default when unset).
func scale(b *testing.B) sizes {
	name := os.Getenv("BENCH_SCALE")
	if name == "" {
		name = "default"
	}
	s, ok := scales[name]
	if !ok {
		b.Fatalf("BENCH_SCALE=%q: want small, default or large", name)
	}
	return s
}

// large reports whether BENCH_LARGE=1 asks for the largest sizes.
func large() bool { return os.Getenv("BENCH_LARGE") == "1" }

// The 100 label combinations: "lang" (10 values) × "tier" (10 values).
const combos = 100

var langs = []string{"en", "fr", "de", "es", "it", "nl", "pt", "pl", "sv", "ja"}

// comboLabels returns the labels of combination c.
func comboLabels(c int) map[string]any {
	return map[string]any{"lang": langs[c/10], "tier": c % 10}
}

// comboSelectors returns the selectors that only workers of combination c meet.
func comboSelectors(c int) []selector {
	return []selector{{key: "lang", value: langs[c/10]}, {key: "tier", value: c % 10}}
}

// richLabels returns the labels of a worker of combination c with 16 labels in all.
func richLabels(c, i int) map[string]any {
	l := comboLabels(c)
	for k := 2; k < 16; k++ {
		switch k % 3 {
		case 0:
			l[fmt.Sprintf("skill%02d", k)] = (i + k) % 10
		case 1:
			l[fmt.Sprintf("cert%02d", k)] = (i+k)%2 == 0
		default:
			l[fmt.Sprintf("site%02d", k)] = fmt.Sprintf("site-%d", (i+k)%7)
		}
	}
	return l
}

func workerID(i int) string             { return padded("w", i, 7) }
func jobID(prefix string, i int) string { return padded(prefix, i, 8) }

// padded returns prefix and i in decimal, zero-padded to width digits: what
// fmt.Sprintf("%s%0*d") gives for i ≥ 0, in one allocation and without fmt, whose
// cost B1's creating goroutine paid on every lifecycle.
func padded(prefix string, i, width int) string {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(i), 10)
	var sb strings.Builder
	sb.Grow(len(prefix) + max(width, len(d)))
	sb.WriteString(prefix)
	for range width - len(d) {
		sb.WriteByte('0')
	}
	sb.Write(d)
	return sb.String()
}

// must fails the benchmark on err.
func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// setupQueue creates the policy and the queue every workload but B6 uses.
func setupQueue(b *testing.B, c core, queueID string, p policySpec) {
	b.Helper()
	must(b, c.upsertPolicy(p))
	must(b, c.upsertQueue(queueID, p.id))
}

// serve answers an OfferIssued as B1's agent does: the offer accepted, the job
// completed, then closed with code ("": none). It returns the first error.
func serve(c core, offer event, code string) error {
	aid, err := c.accept(offer.workerID, offer.offerID)
	if err == nil {
		err = c.complete(offer.jobID, aid)
	}
	if err == nil {
		err = c.closeJob(offer.jobID, aid, code)
	}
	return err
}

// eventWait bounds the wait for an event the router has already published (the
// calls are synchronous: only delivery remains). Reaching it means a workload bug.
const eventWait = time.Minute

// waitFor reads s until an event of type typ (and, when jobID is set, of that job)
// arrives, and returns it. The stream ending first, or no event for eventWait, fails
// the benchmark.
func waitFor(b *testing.B, s subscription, typ, jobID string) event {
	b.Helper()
	for {
		ev, ok := mustNext(b, s)
		if !ok {
			b.Fatalf("subscription ended waiting for %s of job %q (err %v)", typ, jobID, s.err())
		}
		if ev.typ == typ && (jobID == "" || ev.jobID == jobID) {
			return ev
		}
	}
}

// mustNext is s.next that fails the benchmark after eventWait without an event.
func mustNext(b *testing.B, s subscription) (event, bool) {
	b.Helper()
	ev, ok, timedOut := s.nextWithin(eventWait)
	if timedOut {
		b.Fatalf("no event for %v", eventWait)
	}
	return ev, ok
}

// latencies collects the duration of single operations.
type latencies []time.Duration

// report adds p50-ns, p99-ns and ops (the number of samples) to b's results; with
// few samples p99 is simply the largest.
func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	s := slices.Clone(l)
	slices.Sort(s)
	b.ReportMetric(float64(pct(s, 50)), "p50-ns")
	b.ReportMetric(float64(pct(s, 99)), "p99-ns")
	b.ReportMetric(float64(len(s)), "samples")
}

// reportPerJob is report plus queued-jobs and the mean per queued job.
func (l latencies) reportPerJob(b *testing.B, jobs int) {
	l.report(b)
	if len(l) == 0 || jobs == 0 {
		return
	}
	var sum time.Duration
	for _, d := range l {
		sum += d
	}
	b.ReportMetric(float64(jobs), "queued-jobs")
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(l))/float64(jobs), "ns/op/queued-job")
}

// pct is the p-th percentile of sorted s (nearest rank).
func pct(s []time.Duration, p int) time.Duration {
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}
